"""The multi-threaded population engine (neurosim.kernels.partition) gives the single-threaded
loop's results bit for bit, on 2 and 3 threads: spikes, every state array, the ring and the
counters, for a network with dense, CSR and per-synapse-delay projections, a population
smaller than the thread count, unsorted CSR rows, Poisson sources and a Poisson background
(counter-based draws). Runs in a subprocess with
NUMBA_NUM_THREADS=3, whatever this process allows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.builder.model import build
from neurosim.errors import SpecError
from neurosim.graph import Background, Graph, Population, Projection
from neurosim.kernels import partition
from neurosim.neurons import LIF, PoissonSource
from neurosim.specs.synapses import Delta, ExpCurrent
from neurosim.spike.population import Simulator

ROOT = Path(__file__).resolve().parents[1]


def network(seed: int = 7, shared: bool = True) -> Graph:
    """Three LIF populations (200, 101 and 1 neurons): random CSR rows (shuffled, so the
    engine must sort them), per-synapse delays 1..15 steps, a dense projection of delay 3,
    delta synapses onto the single neuron. Two CSR projections (e -> e, and i -> x with
    per-synapse delays) have one weight for all their synapses: broadcast (``shared``, stored
    once by the builder) or written out synapse by synapse."""
    rng = np.random.default_rng(seed)
    nrn = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0, t_ref=2.0)
    sizes = {"e": 200, "i": 101, "x": 1}
    pops = tuple(Population(name=k, neuron=nrn, shape=(n,), v0=rng.uniform(-65, -50, n),
                            drive=rng.uniform(1.4, 1.8, n)) for k, n in sizes.items())
    # Poisson sources into e; a background drive of i (3 kHz of 0.05 nA events)
    pops = (pops[0], Population(name="i", neuron=nrn, shape=(101,), v0=pops[1].v0,
                                drive=pops[1].drive, background=(Background(
                                    name="bg", target="e", synapse=ExpCurrent(tau=5.0),
                                    rate=np.full(101, 3000.0), weight=0.05, key=99),)),
            pops[2], Population(name="src", neuron=PoissonSource(rate=300.0, stream=12345),
                                shape=(7,)))
    sizes["src"] = 7
    projs = [Projection(name="src_e", pre="src", post="e", kind="dense",
                        synapse=ExpCurrent(tau=5.0), target="e", delay=1,
                        weights=rng.uniform(0.0, 0.2, (7, 200)))]
    for pre, post, sign, delays in [("e", "i", 1, True), ("i", "e", -1, True),
                                    ("e", "e", 1, False), ("i", "x", 1, True)]:
        n_pre, n_post = sizes[pre], sizes[post]
        pre_i, post_i = np.nonzero(rng.random((n_pre, n_post)) < 0.1)
        ip = np.zeros(n_pre + 1, np.int64)
        np.cumsum(np.bincount(pre_i, minlength=n_pre), out=ip[1:])
        idx = post_i.copy()
        for r in range(n_pre):  # rows out of order
            rng.shuffle(idx[ip[r]:ip[r + 1]])
        w = sign * rng.uniform(0.05, 0.3, idx.size)
        if (pre, post) in (("e", "e"), ("i", "x")):
            w = np.broadcast_to(0.2, idx.size) if shared else np.full(idx.size, 0.2)
        projs.append(Projection(
            name=f"{pre}{post}", pre=pre, post=post, kind="csr",
            synapse=Delta() if post == "x" else ExpCurrent(tau=5.0),
            target="e" if sign > 0 else "i", indptr=ip, indices=idx, weights=w,
            delays=rng.integers(1, 16, idx.size) if delays else None, delay=2))
    projs.append(Projection(name="ie_dense", pre="i", post="e", kind="dense",
                            synapse=ExpCurrent(tau=10.0), target="i", delay=3,
                            weights=-0.02 * rng.random((101, 200))))
    return Graph(populations=pops, projections=tuple(projs), dt=0.1)


def compare_threads() -> None:
    """Runs in the subprocess: 1, 2 and 3 threads, everything equal."""
    built = build(network())
    out = {}
    for threads in (1, 2, 3):
        sim = Simulator(built, spikes=built.pop_names, rates=built.pop_names,
                        state=[("e", ["v", "syn_e"], [0, 199]), ("x", ["v"], [0])],
                        threads=threads)
        sim.run(1500, chunk=700)
        out[threads] = (sim.result(), sim.state)
    res1, st1 = out[1]
    assert res1.spikes["e"].indices.size > 20 and res1.spikes["i"].indices.size > 200
    assert res1.spikes["src"].indices.size > 10 and st1.counters[-1] > 10_000
    for threads in (2, 3):
        res, st = out[threads]
        for name in built.pop_names:
            np.testing.assert_array_equal(res.spikes[name].indices, res1.spikes[name].indices)
            np.testing.assert_array_equal(res.spikes[name].times, res1.spikes[name].times)
            np.testing.assert_array_equal(res.rates[name], res1.rates[name])
        for field in st1._fields:
            np.testing.assert_array_equal(getattr(st, field), getattr(st1, field))
        for name, values in res1.state.items():
            for var, arr in values.items():
                np.testing.assert_array_equal(res.state[name][var], arr)
    print("threads agree", os.environ.get("GOMP_SPINCOUNT"))


@pytest.mark.parametrize("wait", ["PASSIVE", None])
def test_two_and_three_threads_equal_one_bit_for_bit(wait):
    """Sleeping threads (PASSIVE) and the engine's own bounded spin give the same results."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY",
                                                            "GOMP_SPINCOUNT")}
    env["NUMBA_NUM_THREADS"] = "3"
    if wait:
        env["OMP_WAIT_POLICY"] = wait
    code = ("import runpy; runpy.run_path('tests/test_threads.py')['compare_threads']()")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    spin = "None" if wait else str(partition.SPIN_COUNT)
    assert f"threads agree {spin}" in done.stdout


def test_shared_weights_are_stored_once_and_change_nothing():
    """A CSR projection whose weights are one value broadcast is stored with one weight
    (PROJ_SHARED); its spikes, state and synaptic operations are those of the same weight
    written out per synapse, bit for bit, in the compiled loop and in its NumPy twin."""
    from neurosim.kernels import layout as L

    one, each = build(network(shared=True)), build(network(shared=False))
    names = [pj.name for pj in one.graph.projections]
    flags = dict(zip(names, one.model.proj[:, L.PROJ_SHARED].tolist()))
    assert flags == {"src_e": 0, "ei": 0, "ie": 0, "ee": 1, "ix": 1, "ie_dense": 0}
    n_shared = sum(np.size(pj.weights) for pj in network().projections
                   if pj.name in ("ee", "ix"))
    assert each.model.weights.size - one.model.weights.size == n_shared - 2
    for q in range(len(names) - 1):  # the csr and the first dense projection
        for a, b in zip(one.pairs(q), each.pairs(q)):
            np.testing.assert_array_equal(a, b)
    for reference in (False, True):
        runs = []
        for built in (one, each):
            sim = Simulator(built, spikes=built.pop_names, reference=reference,
                            state=[("x", ["v"], [0])])
            sim.run(600)
            runs.append((sim.result(), sim.state))
        (r1, s1), (r2, s2) = runs
        assert r1.spikes["x"].indices.size > 0 and r1.spikes["e"].indices.size > 20
        for name in one.pop_names:
            np.testing.assert_array_equal(r1.spikes[name].times, r2.spikes[name].times)
            np.testing.assert_array_equal(r1.spikes[name].indices, r2.spikes[name].indices)
        np.testing.assert_array_equal(s1.x, s2.x)
        np.testing.assert_array_equal(s1.counters, s2.counters)


def test_spin_policy_leaves_the_users_choice():
    env = {}
    partition.spin_policy(env)
    assert env == {"GOMP_SPINCOUNT": "10000"}
    for chosen in ({"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": "0"}):
        env = dict(chosen)
        partition.spin_policy(env)
        assert env == chosen


def test_thread_bounds_split_each_row_at_the_slices():
    """Rows sorted by target; thread t's part of a row starts at its first target in the
    thread's slice of the post population (hand-made: post of 5 neurons, 2 threads -> slices
    [0, 2) and [2, 5) of the population)."""
    pre = Population(name="a", neuron=LIF(), shape=(2,))
    post = Population(name="b", neuron=LIF(), shape=(5,))
    proj = Projection(name="ab", pre="a", post="b", kind="csr", synapse=ExpCurrent(),
                      indptr=np.array([0, 3, 5]), indices=np.array([4, 0, 2, 1, 3]),
                      weights=np.arange(5.0))
    built = build(Graph(populations=(pre, post), projections=(proj,), dt=0.1))
    work = partition.new_work(built.model, 2)
    # sorted rows (weights carried): row 0 targets 0, 2, 4 (global 2, 4, 6), row 1: 1, 3
    assert built.model.indices.tolist() == [2, 4, 6, 3, 5]
    assert built.model.weights.tolist() == [1.0, 2.0, 0.0, 3.0, 4.0]
    assert work.parts[:, 1, :2].tolist() == [[2, 4], [4, 7]]
    assert work.bounds[:, :2].tolist() == [[0, 3], [1, 4], [3, 5]]


def test_layered_networks_and_bad_counts_are_refused():
    pre = Population(name="a", neuron=LIF(), shape=(2,))
    post = Population(name="b", neuron=LIF(), shape=(2,))
    same = Projection(name="ab", pre="a", post="b", kind="dense", synapse=ExpCurrent(),
                      delay=0, weights=np.ones((2, 2)))
    built = build(Graph(populations=(pre, post), projections=(same,), dt=0.1))
    with pytest.raises(SpecError, match="--threads: a network with same-step"):
        Simulator(built, threads=2)
    with pytest.raises(SpecError, match="--threads: must be a positive integer"):
        Simulator(built, threads=0)
    alone = build(Graph(populations=(pre,), projections=(), dt=0.1))
    with pytest.raises(SpecError, match="--threads: at most"):
        Simulator(alone, threads=partition.max_threads() + 1)


@pytest.mark.parametrize("model, scale", [("microcircuit.toml", 0.02), ("cuba.toml", None)])
def test_the_build_is_the_same_on_two_threads(models_dir, model, scale):
    """Projections drawn and copied side by side give the Model of one thread, array for
    array (the microcircuit's normal weights and delays; CUBA's shared weights)."""
    from neurosim.builder.lower import lower_populations
    from neurosim.builder.scaling import scale_network
    from neurosim.specs.io import load_model

    spec = load_model(models_dir / model)
    if scale:
        spec = scale_network(spec, scale)
    one = build(lower_populations(spec), release=True).model
    two = build(lower_populations(spec, threads=2), release=True, threads=2).model
    assert one.indices.size > 100_000
    if model == "cuba.toml":  # four projections of one weight each: four weights stored
        assert one.weights.tolist() == [0.0162, 0.0162, -0.09, -0.09]
    for field in one._fields:
        a, b = getattr(one, field), getattr(two, field)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=field)


def test_small_networks_build_on_one_thread(models_dir):
    """Below 2^22 expected synapses the build ignores threads (CUBA: 4,000^2 x 0.02 = 320,000
    expected); the full-scale microcircuit (about 3e8) takes them."""
    from neurosim.builder.lower import build_threads, expected_synapses
    from neurosim.specs.io import load_model

    cuba = load_model(models_dir / "cuba.toml")
    ee = cuba.projections[0]
    assert expected_synapses(ee, 3200, 3200) == pytest.approx(0.02 * 3200 * 3200)
    assert build_threads(cuba, 2) == 1
    assert build_threads(load_model(models_dir / "microcircuit.toml"), 2) == 2
