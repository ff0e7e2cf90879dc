"""Compiled loops run from native object code (neurosim.kernels.native): the same results as
the Numba-dispatched loops bit for bit, linked from the cache by a later process without
Numba's compiler, and compiled again, not linked, when the cached object is damaged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.builder.model import build
from neurosim.kernels import native, partition
from neurosim.kernels.layout import Model
from neurosim.spike.population import Simulator

ROOT = Path(__file__).resolve().parents[1]


def _run(built, threads: int, off: bool):
    """A run of 1200 steps in two calls, with Numba dispatching (``off``) or natively."""
    saved = os.environ.get("NEUROSIM_NATIVE")
    os.environ["NEUROSIM_NATIVE"] = "0" if off else "1"
    try:
        sim = Simulator(built, spikes=built.pop_names, rates=built.pop_names,
                        state=[("e", ["v", "syn_e"], [0, 199])], threads=threads)
        sim.run(1200, chunk=700)
        assert sim._fn.last == ("numba" if off else "native")
        return sim.result(), sim.state
    finally:
        if saved is None:
            os.environ.pop("NEUROSIM_NATIVE")
        else:
            os.environ["NEUROSIM_NATIVE"] = saved


def compare_native_and_numba() -> None:
    """Runs in a subprocess of two Numba threads: the network of the thread tests (dense,
    CSR, per-synapse delays, delta synapses, Poisson sources and background), on one and on
    two threads, native against Numba-dispatched."""
    from test_threads import network

    built = build(network())
    for threads in (1, 2):
        res_n, st_n = _run(built, threads, off=False)
        res_j, st_j = _run(built, threads, off=True)
        assert res_n.spikes["e"].indices.size > 20 and st_n.counters[-1] > 10_000
        for name in built.pop_names:
            np.testing.assert_array_equal(res_n.spikes[name].indices,
                                          res_j.spikes[name].indices)
            np.testing.assert_array_equal(res_n.spikes[name].times, res_j.spikes[name].times)
            np.testing.assert_array_equal(res_n.rates[name], res_j.rates[name])
        for field in st_n._fields:
            np.testing.assert_array_equal(getattr(st_n, field), getattr(st_j, field))
        np.testing.assert_array_equal(res_n.state["e"]["v"], res_j.state["e"]["v"])
    print("native agrees")


def test_native_loops_equal_numba_dispatched_ones_bit_for_bit():
    env = dict(os.environ, NUMBA_NUM_THREADS="2", PYTHONPATH=str(ROOT / "tests"))
    code = "import test_native; test_native.compare_native_and_numba()"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "native agrees" in done.stdout


def test_entry_text_rebuilds_records_and_arrays_from_the_tables():
    """Hand-read wrapper: a Model record (a float, a 2-d array, 10 1-d arrays, and its
    defaults: a 3-d and three 1-d arrays), then an integer and an int32 array: the record
    takes pointers 0 to 14, integers 0 to 17 (its shapes) and float 0."""
    rec = Model(0.1, np.zeros((2, 6), np.int64), np.zeros(3), np.zeros(1), np.zeros(1),
                np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1),
                np.zeros(1), np.zeros(1))
    sig = native.signature((rec, 5, np.zeros(4, np.int32)))
    assert sig[1] == ("i",) and sig[2] == ("a", "int32", 1)
    text = native.entry_source("mod", "fn", sig, int)
    assert "from neurosim.kernels.layout import Model" in text
    assert ("Model(floats[0], numba.carray(ptrs[0], (ints[0], ints[1],), np.int64), "
            "numba.carray(ptrs[1], (ints[2],), np.float64)") in text
    assert "numba.carray(ptrs[11], (ints[12], ints[13], ints[14],), np.float64)" in text
    assert "ints[18], numba.carray(ptrs[15], (ints[19],), np.int32))" in text
    assert native.entry_source("mod", "fn", sig, None).rstrip().endswith("return 0")


def test_unsuitable_arguments_go_through_numba():
    """A strided array is not passed to native code: the same answers through Numba."""
    built = build(__import__("test_threads").network())
    m = built.model
    strided = np.repeat(m.indices, 2)[::2]
    assert not strided.flags.c_contiguous
    f = partition._ROWS_SORTED
    # the network's rows come shuffled; the threads' work sorts them
    assert f(m.proj, m.indptr, m.indices) is False and f.last == "native"
    assert f(m.proj, m.indptr, strided) is False and f.last == "numba"
    partition.new_work(m, 2)
    strided = np.repeat(m.indices, 2)[::2]
    assert f(m.proj, m.indptr, m.indices) is True and f.last == "native"
    assert f(m.proj, m.indptr, strided) is True and f.last == "numba"
    # scalars Numba types other than int64 / float64, and 0-d arrays, are not packed
    assert native.signature((1, np.int64(2), 0.5, np.float64(1.0))) == (
        ("i",), ("i",), ("f",), ("f",))
    for value in (True, np.int32(3), np.uint64(4), np.float32(1.0), np.zeros(()), 2**70):
        with pytest.raises(native._Unsupported):
            native.signature((value,))


PROBE = r"""
import json, sys
from neurosim.neurons import LIF
from neurosim.spike.single import simulate_neuron
res = simulate_neuron(LIF(), 2.0, dt=0.1, duration=50.0)
print(json.dumps({"spikes": res.spike_times.tolist(),
                  "compiled": sorted(m for m in sys.modules if m.startswith("neurosim_entry_")),
                  "numba_compiler": "numba.np.linalg" in sys.modules}))
"""


def _probe(cache) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), NEUROSIM_CACHE_DIR=str(cache))
    env.pop("NEUROSIM_NATIVE", None)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_later_process_links_the_cached_object_without_numbas_compiler(tmp_path):
    first = _probe(tmp_path)
    assert len(first["compiled"]) == 1 and first["numba_compiler"] and first["spikes"]
    objects = sorted((tmp_path / "kernels").glob("neurosim_entry_*.o"))
    assert len(objects) == 1
    meta = json.loads(objects[0].with_suffix(".json").read_text())
    assert meta["symbol"].startswith("cfunc.") and not meta["parallel"]
    second = _probe(tmp_path)
    assert second["compiled"] == [] and not second["numba_compiler"]
    assert second["spikes"] == first["spikes"]
    # a damaged object is compiled again (its digest no longer matches), never linked
    objects[0].write_bytes(objects[0].read_bytes()[:100])
    third = _probe(tmp_path)
    assert third["compiled"] == first["compiled"] and third["spikes"] == first["spikes"]
    # and so is one whose record is unreadable
    objects[0].with_suffix(".json").write_text("{")
    assert _probe(tmp_path)["compiled"] == first["compiled"]
    assert _probe(tmp_path)["compiled"] == []


def test_an_entry_that_cannot_be_made_warns_and_runs_through_numba(monkeypatch, tmp_path):
    """A compile failure (here forced) is one warning; the calls then go through Numba, with
    the same answer, and the failure is not retried on every call."""
    monkeypatch.setenv("NEUROSIM_CACHE_DIR", str(tmp_path))
    calls = []

    def broken(*args):
        calls.append(args)
        raise RuntimeError("no object")

    monkeypatch.setattr(native, "_compile", broken)
    monkeypatch.setattr(native, "_ENTRIES", {})
    built = build(__import__("test_threads").network())
    m = built.model
    f = native.Native(partition.rows_sorted, returns=bool)

    with pytest.warns(RuntimeWarning, match="rows_sorted: no object; its calls go through"):
        assert f(m.proj, m.indptr, m.indices) is False
    assert f.last == "numba" and len(calls) == 1
    assert f(m.proj, m.indptr, m.indices) is False and len(calls) == 1


KERNEL = '''import numba


@numba.njit(cache=False)
def fill(a):
    a[0] = {value}
    return 0
'''

FILL = r"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import kernel_probe
from neurosim.kernels.native import Native
f = Native(kernel_probe.fill)
a = np.zeros(1)
f(a)
print(f.last, a[0])
"""


def test_a_changed_kernel_is_compiled_again_not_linked_stale(tmp_path):
    """The same function name and signature, another body: a later process runs the new
    body (the entry's name carries a digest of the sources it compiles)."""
    env = dict(os.environ, NEUROSIM_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("NEUROSIM_NATIVE", None)
    src = tmp_path / "src"
    src.mkdir()
    out = []
    for value in (1.5, 2.5, 1.5):
        (src / "kernel_probe.py").write_text(KERNEL.format(value=value))
        done = subprocess.run([sys.executable, "-c", FILL, str(src)], env=env, text=True,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        out.append(done.stdout.split())
    assert out == [["native", "1.5"], ["native", "2.5"], ["native", "1.5"]]
    assert len(list((tmp_path / "cache" / "kernels").glob("neurosim_entry_*.o"))) == 2
