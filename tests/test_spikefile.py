"""Spikes streamed to disk (neurosim.monitor.spikefile): the assembled spikes.npz equals the
spikes a run holds in memory, spike for spike; a Ctrl-C keeps what was simulated, which is
what a run of that length gives; parts left by a killed run assemble later."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from neurosim.builder.lower import lower_populations
from neurosim.builder.model import build
from neurosim.monitor.spikefile import SpikeStream, assemble_parts, load_spikes
from neurosim.specs.io import load_model
from neurosim.spike.population import Simulator

ROOT = Path(__file__).resolve().parents[1]
CUBA = ROOT / "models" / "cuba.toml"


def _cuba_built():
    return build(lower_populations(load_model(CUBA)))


def _same_spikes(a, b):
    assert set(a) == set(b)
    for name in a:
        np.testing.assert_array_equal(a[name].indices, b[name].indices)
        np.testing.assert_array_equal(a[name].times, b[name].times)


def test_streamed_file_equals_the_spikes_held_in_memory(tmp_path, monkeypatch):
    """CUBA 1 s in one chunk with a spike buffer of the smallest size (2 N + 16 entries): the
    buffer fills several times inside the chunk; every fill becomes a part, and the assembled
    file holds the in-memory run's spikes in the same order."""
    monkeypatch.setattr(Simulator, "STREAM_BUFFER", 0)
    built = _cuba_built()
    held = Simulator(built, spikes=("exc", "inh")).run(10_000).result()
    path = tmp_path / "spikes.npz"
    sim = Simulator(built, spikes=("exc", "inh"), spike_file=path)
    parts = []
    write = SpikeStream.write

    def counting(self, neurons, steps):
        parts.append(neurons.size)
        write(self, neurons, steps)

    monkeypatch.setattr(SpikeStream, "write", counting)
    streamed = sim.run(10_000, chunk=10_000).result()
    assert len(parts) >= 4 and max(parts) <= sim.spike_rec.capacity
    _same_spikes(held.spikes, streamed.spikes)
    assert not (tmp_path / "spikes.npz.parts").exists()
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["exc_neurons", "exc_steps", "inh_neurons", "inh_steps"]
        assert z["exc_steps"].dtype == np.int64
        np.testing.assert_array_equal(z["exc_neurons"], held.spikes["exc"].indices)
        np.testing.assert_array_equal(z["exc_steps"] * built.dt, held.spikes["exc"].times)


def test_ctrl_c_keeps_what_was_simulated(tmp_path, monkeypatch):
    """A SIGINT arriving during the third compiled call is taken once that chunk is done: the
    run stops there (interrupted, 3 chunks of 500 steps), and its file equals a 1500-step
    run's."""
    built = _cuba_built()
    path = tmp_path / "spikes.npz"
    sim = Simulator(built, spikes=("exc", "inh"), rates=("exc",), spike_file=path)
    calls = []
    call = Simulator._call

    def interrupting(self, step0, n_steps):
        calls.append(step0)
        if len(calls) == 4:  # the compile call, then chunks 0, 1, 2
            os.kill(os.getpid(), signal.SIGINT)
        return call(self, step0, n_steps)

    monkeypatch.setattr(Simulator, "_call", interrupting)
    res = sim.run(10_000, chunk=500, interruptible=True).result()
    assert res.interrupted and res.n_steps == 1500 and sim.step == 1500
    assert res.rates["exc"].shape[-1] == 1500
    monkeypatch.setattr(Simulator, "_call", call)
    ref = Simulator(built, spikes=("exc", "inh")).run(1500).result()
    _same_spikes(ref.spikes, res.spikes)
    assert load_spikes(path)["exc"][0].max() < 1500


def test_parts_of_a_killed_run_assemble_later(tmp_path):
    bounds = {"a": (0, 10), "b_2": (10, 15)}
    stream = SpikeStream(tmp_path / "spikes.npz", bounds)
    stream.write(np.array([1, 12, 3], np.int32), np.array([0, 0, 4], np.int32))
    stream.write(np.array([14], np.int32), np.array([7], np.int32))
    assert len(list(stream.folder.glob("part-*.npz"))) == 2
    assemble_parts(stream.folder, tmp_path / "later.npz")  # names read from the parts
    got = load_spikes(tmp_path / "later.npz")
    assert got["a"][0].tolist() == [0, 4] and got["a"][1].tolist() == [1, 3]
    assert got["b_2"][0].tolist() == [0, 7] and got["b_2"][1].tolist() == [2, 4]
    assert not stream.folder.exists()


def test_cli_ctrl_c_exits_130_with_readable_files(tmp_path):
    """neurosim simulate models/cuba.toml for 1000 s, SIGINT once the first part is on disk:
    exit status 130, summary.json says interrupted with the steps done, spikes.npz holds
    spikes of those steps only."""
    out = tmp_path / "run"
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "neurosim", "simulate", str(CUBA),
                             "--duration", "1000000", "--out", str(out), "--no-plots",
                             "--no-progress"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    parts = out / "spikes.npz.parts"
    deadline = time.monotonic() + 120
    while not list(parts.glob("part-*.npz")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] and 0 < summary["n_steps"] < 10_000_000
    spikes = load_spikes(out / "spikes.npz")
    assert spikes["exc"][0].size == summary["populations"]["exc"]["spikes"]
    assert spikes["exc"][0].max() < summary["n_steps"]
    assert not parts.exists()
