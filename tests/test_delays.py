"""Per-synapse delays (``Projection.delays``): hand-made arrival times, the same network split
into one projection per delay (an independent construction of the same synapses), the NumPy
twin, and the packed one-byte (or two-byte) delay table."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.model import build
from neurosim.errors import SpecError
from neurosim.graph import Graph, Population, Projection
from neurosim.kernels import layout as L
from neurosim.neurons import IF, LIF
from neurosim.specs.synapses import Delta, ExpCurrent
from neurosim.spike.population import Simulator


def _run(graph, n_steps, *, twin=False, probes=()):
    built = build(graph)
    sim = Simulator(built, spikes=built.pop_names, state=probes, reference=twin)
    sim.run(n_steps)
    return sim, sim.result()


def _fan(delays, weights=None):
    """pre fires once, at step 2 (0.4 per step, then refractory) into three IF targets that
    never fire (threshold infinite) through delta synapses of the given delays."""
    pre = Population(name="pre", neuron=IF(reset="potential", t_ref=100.0), shape=(1,),
                     v0=np.zeros(1), drive=0.4)
    post = Population(name="post", neuron=IF(v_th=1e9), shape=(3,), v0=np.zeros(3))
    w = np.array([1.0, 2.0, 4.0]) if weights is None else weights
    proj = Projection(name="p", pre="pre", post="post", kind="csr", synapse=Delta(),
                      indptr=np.array([0, 3]), indices=np.array([0, 1, 2]), weights=w,
                      delays=np.asarray(delays))
    return Graph(populations=(pre, post), projections=(proj,), dt=1.0)


def test_each_synapse_arrives_after_its_own_delay():
    """Spike at step 2; delays (1, 3, 5) steps: target k's potential (at the start of a step)
    jumps by its weight at step 2 + d_k, as a projection of scalar delay d_k does."""
    for twin in (False, True):
        sim, res = _run(_fan([1, 3, 5]), 9, twin=twin,
                        probes=[("post", ["v"], [0, 1, 2])])
        assert res.spikes["pre"].times.tolist() == [2.0]
        v = res.state["post"]["v"]
        first = [int(np.argmax(v[k] > 0)) for k in range(3)]
        assert first == [3, 5, 7]
        np.testing.assert_array_equal(v[:, -1], [1.0, 2.0, 4.0])


def test_dense_rows_take_delays_too():
    pre = Population(name="pre", neuron=IF(reset="potential", t_ref=100.0), shape=(1,),
                     v0=np.zeros(1), drive=0.4)
    post = Population(name="post", neuron=IF(v_th=1e9), shape=(2,), v0=np.zeros(2))
    proj = Projection(name="p", pre="pre", post="post", kind="dense", synapse=Delta(),
                      weights=np.array([[1.0, 2.0]]), delays=np.array([[4, 2]]))
    g = Graph(populations=(pre, post), projections=(proj,), dt=1.0)
    _, res = _run(g, 8, probes=[("post", ["v"], [0, 1])])
    v = res.state["post"]["v"]
    assert [int(np.argmax(v[k] > 0)) for k in range(2)] == [6, 4]


def _random_pair(rng, n=60, delays=None, split=False):
    """Two LIF populations with a random recurrent CSR projection onto exp-current channels.
    Weights are multiples of 1/64 nA, so ring sums are exact whatever the order of additions.
    ``split``: the same synapses as one projection per delay value (scalar delays)."""
    nrn = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0, t_ref=2.0)
    pops = (Population(name="a", neuron=nrn, shape=(n,), v0=rng.uniform(-65, -50, n),
                       drive=1.7),
            Population(name="b", neuron=nrn, shape=(n,), v0=rng.uniform(-65, -50, n),
                       drive=1.6))
    projs = []
    for k, (pre, post, sign) in enumerate([("a", "b", 1), ("b", "a", -1), ("a", "a", 1)]):
        mask = rng.random((n, n)) < 0.2
        pre_i, post_i = np.nonzero(mask)
        w = sign * rng.integers(1, 16, pre_i.size) / 64.0
        d = delays(pre_i.size) if delays else rng.integers(2, 7, pre_i.size)
        groups = [(d == v) for v in np.unique(d)] if split else [np.ones(d.size, bool)]
        for g, sel in enumerate(groups):
            ip = np.zeros(n + 1, np.int64)
            np.cumsum(np.bincount(pre_i[sel], minlength=n), out=ip[1:])
            common = dict(name=f"p{k}_{g}", pre=pre, post=post, kind="csr",
                          synapse=ExpCurrent(tau=5.0), target="e" if sign > 0 else "i",
                          indptr=ip, indices=post_i[sel], weights=w[sel])
            if split:
                projs.append(Projection(delay=int(d[sel][0]), **common))
            else:
                projs.append(Projection(delays=d[sel], **common))
    return Graph(populations=pops, projections=tuple(projs), dt=0.1)


def test_per_synapse_delays_equal_one_projection_per_delay():
    """Delays 2..6 steps: the packed per-synapse table gives bit for bit the spikes and
    potentials of the same synapses split into one projection per delay."""
    probes = [("a", ["v", "syn_e"], [0, 1, 2]), ("b", ["v", "syn_e"], [0, 1])]
    got = [_run(_random_pair(np.random.default_rng(3), split=s), 300, probes=probes)[1]
           for s in (False, True)]
    for name in ("a", "b"):
        assert got[0].spikes[name].indices.size > 20
        np.testing.assert_array_equal(got[0].spikes[name].indices, got[1].spikes[name].indices)
        np.testing.assert_array_equal(got[0].spikes[name].times, got[1].spikes[name].times)
        for var, arr in got[0].state[name].items():
            np.testing.assert_array_equal(arr, got[1].state[name][var])
    assert got[0].op_counts.sops == got[1].op_counts.sops


def test_compiled_delays_equal_numpy_twin():
    """Delays 1..12 steps (1 included: slot step % L, drained in the same step)."""
    def delays(size):
        return np.random.default_rng(size).integers(1, 13, size)

    probes = [("a", ["v", "syn_e", "syn_i"], [0, 5])]
    out = [_run(_random_pair(np.random.default_rng(5), delays=delays), 200, twin=t,
                probes=probes) for t in (False, True)]
    (s0, r0), (s1, r1) = out
    for name in ("a", "b"):
        assert r0.spikes[name].indices.size > 20
        np.testing.assert_array_equal(r0.spikes[name].indices, r1.spikes[name].indices)
        np.testing.assert_array_equal(r0.spikes[name].times, r1.spikes[name].times)
    np.testing.assert_array_equal(s0.state.counters, s1.state.counters)
    np.testing.assert_allclose(r0.state["a"]["v"], r1.state["a"]["v"], rtol=0, atol=1e-9)


def test_delays_are_packed_in_one_byte():
    """Up to 255 steps one byte per synapse (uint8), above that two (uint16); CSR tables cost
    4 (int32 target) + 8 (float64 weight) + 1 bytes per synapse, and no tap offsets."""
    b = build(_fan([1, 3, 255]))
    assert b.model.delays.dtype == np.uint8 and b.model.delays.tolist() == [1, 3, 255]
    assert b.model.proj[0, L.PROJ_KIND] == L.KIND_CSR_DELAYS
    assert b.model.proj[0, L.PROJ_DELAY] == 255 and b.ring_slots == 255
    assert b.model.indices.dtype == np.int32 and b.model.kof.size <= 1
    assert build(_fan([1, 3, 300])).model.delays.dtype == np.uint16


@pytest.mark.parametrize("delays, message", [
    ([0, 1, 2], "must be whole numbers of steps from 1"),
    ([1.5, 1, 2], "must be whole numbers of steps from 1"),
    ([1, 2], "expected one per synapse"),
])
def test_bad_delays_are_refused_by_name(delays, message):
    with pytest.raises(SpecError, match=f"projection 0 \\(p\\): delays: {message}"):
        build(_fan(delays))


def test_per_synapse_delays_match_brian2():
    """Brian2 (numpy target) given the same synapses with ``syn.delay`` per synapse: the same
    spikes, step for step, over 30 ms of the random pair."""
    from neurosim.engines import brian2_engine

    graph = _random_pair(np.random.default_rng(3), n=30)
    ours = _run(graph, 300)[1]
    theirs = brian2_engine.run(graph, 30.0, spikes=("a", "b"), target="numpy")
    for name in ("a", "b"):
        assert ours.spikes[name].indices.size > 10
        mine = sorted(zip(ours.spikes[name].times.round(6), ours.spikes[name].indices))
        other = sorted(zip(theirs.spikes[name].times.round(6), theirs.spikes[name].indices))
        assert mine == other
