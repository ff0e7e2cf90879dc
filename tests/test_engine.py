"""The general engine (one graph, the generated compiled loop) against hand-made answers and
against its NumPy twin (neurosim.spike.reference) on random graphs of every registered model
and every projection kind."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.layered import neuron_fanout_table, window_fanout_table
from neurosim.builder.model import build
from neurosim.errors import SpecError
from neurosim.graph import Graph, Population, Projection
from neurosim.kernels import layout as L
from neurosim.kernels import propagate
from neurosim.neurons import IF, LIF, NEURON_MODELS
from neurosim.specs.synapses import Delta, ExpConductance, ExpCurrent
from neurosim.spike import reference
from neurosim.spike.population import Simulator

#: The twins evaluate the same formulas in a different order (vectorised sums); float64
#: rounding differs by a few ulps per step, and a few hundred steps stay far below this.
TWIN_TOL = 1e-9


def _graph(pops, projs=(), dt=1.0):
    return Graph(populations=tuple(pops), projections=tuple(projs), dt=dt)


def _run(graph, n_steps, *, reference_twin=False, probes=(), spikes=None):
    built = build(graph)
    names = spikes if spikes is not None else built.pop_names
    sim = Simulator(built, spikes=names, rates=names, state=probes, reference=reference_twin)
    sim.run(n_steps)
    return sim, sim.result()


def test_lif_step_hand_made():
    """One LIF step from rest under I: v = v_inf + (v0 - v_inf) e^{-dt/tau}; neuron 1 crosses
    and resets; one update per neuron and one spike counted."""
    nrn = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0)
    v0 = np.array([-65.0, -50.04])
    g = _graph([Population(name="a", neuron=nrn, shape=(2,), v0=v0, drive=2.0)], dt=0.1)
    v_inf = -65.0 + 20.0
    want = v_inf + (v0 - v_inf) * np.exp(-0.01)
    assert (want >= -50.0).tolist() == [False, True]
    for twin in (False, True):
        sim, res = _run(g, 1, reference_twin=twin)
        np.testing.assert_allclose(sim.state.x[0], [want[0], -65.0], rtol=1e-13)
        assert res.spikes["a"].indices.tolist() == [1]
        assert sim.state.counters.tolist() == [2, 1, 0]  # updates, spikes, background


def test_if_threshold_is_inclusive():
    """The one threshold convention, v >= v_th: 0.5 + 0.5 = 1.0 fires; 0.7 + 0.5 = 1.2 fires
    and keeps 0.2 (reset by subtraction); 0.1 + 0.5 does not."""
    g = _graph([Population(name="a", neuron=IF(), shape=(3,), v0=np.array([0.5, 0.7, 0.1]),
                           drive=0.5)])
    for twin in (False, True):
        sim, res = _run(g, 1, reference_twin=twin)
        np.testing.assert_allclose(sim.state.x[0], [0.0, 0.2, 0.6], atol=1e-15)
        assert res.spikes["a"].indices.tolist() == [0, 1]


def _chain(delay):
    """pre fires once, at step 2 (0.4 per step, then refractory); post fires as soon as it
    receives the spike (weight 1, threshold 0.5)."""
    pre = Population(name="pre", neuron=IF(reset="potential", t_ref=100.0), shape=(1,),
                     v0=np.zeros(1), drive=0.4)
    post = Population(name="post", neuron=IF(v_th=0.5, reset="potential"), shape=(1,),
                      v0=np.zeros(1))
    proj = Projection(name="p", pre="pre", post="post", kind="dense", synapse=Delta(),
                      delay=delay, weights=np.ones(1))
    return _graph([pre, post], [proj])


@pytest.mark.parametrize("delay, step", [(0, 2), (1, 3), (3, 5)])
def test_delay_classes_arrive_on_time(delay, step):
    """Delay 0: the same step (the target is later in the order); 1: the next step (Brian2's
    delay 0); d: d steps later."""
    for twin in (False, True):
        _, res = _run(_chain(delay), 8, reference_twin=twin)
        assert res.spikes["pre"].times.tolist() == [2.0]
        assert res.spikes["post"].times.tolist() == [float(step)]


def test_same_step_cycle_is_refused():
    a = Population(name="a", neuron=IF(), shape=(1,))
    b = Population(name="b", neuron=IF(), shape=(1,))
    projs = [Projection(name="ab", pre="a", post="b", kind="dense", synapse=Delta(), delay=0,
                        weights=np.ones(1)),
             Projection(name="ba", pre="b", post="a", kind="dense", synapse=Delta(), delay=0,
                        weights=np.ones(1))]
    with pytest.raises(SpecError, match="projection ba: delay: a same-step projection"):
        _graph([a, b], projs)
    projs[1] = Projection(name="ba", pre="b", post="a", kind="dense", synapse=Delta(),
                          delay=1, weights=np.ones(1))
    _graph([a, b], projs)  # a cycle through a delayed projection is fine


def test_dense_delivery_hand_made():
    """One spike of pre neuron 1 through a 2x3 dense projection adds row 1 to the targets and
    counts 3 synaptic operations."""
    pre = Population(name="pre", neuron=LIF(), shape=(2,))
    post = Population(name="post", neuron=LIF(), shape=(3,))
    proj = Projection(name="p", pre="pre", post="post", kind="dense", synapse=ExpCurrent(),
                      weights=np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]))
    built = build(_graph([pre, post], [proj], dt=0.1))
    for twin in (False, True):
        st = built.new_state()
        if twin:
            reference.deliver(built.model, st, 0, np.array([1]), 0)
        else:
            m = built.model
            st.counters[0] += propagate.deliver_dense(
                m.proj[0], propagate.row_tables(m), np.array([1], np.int32), 0,
                1, st.syn[0])
        np.testing.assert_array_equal(st.syn[0], [0, 0, 10, 20, 30])
        assert st.counters[0] == 3


def _conv_projection(rng, name, pre, post, c_in, h, w, c_out, k, stride, pad):
    h_out = (h + 2 * pad - k) // stride + 1
    w_out = (w + 2 * pad - k) // stride + 1
    ptr, tgt, kof = window_fanout_table(h, w, h_out, w_out, k, k, stride, stride, pad, pad,
                                        c_out)
    return Projection(name=name, pre=pre, post=post, kind="conv", synapse=ExpCurrent(tau=3.0),
                      weights=rng.normal(0, 0.5, c_in * k * k * c_out), indptr=ptr,
                      indices=tgt, kof=kof, c_in=c_in, c_out=c_out, taps=k * k), \
        c_out * h_out * w_out


def _random_graph(rng, dt=0.05):
    """Every registered model in a population of its own, fed by dense, CSR, conv and pool
    projections of delays 0, 1 and 3 through delta, current and conductance channels."""
    pops = [Population(name="src", neuron=IF(), shape=(2, 4, 4), v0=rng.uniform(0, 1, 32),
                       drive=rng.uniform(0.5, 1.5, 32) * 20.0)]
    projs = []
    conv, n_conv = _conv_projection(rng, "conv", "src", "cv", 2, 4, 4, 3, 3, 1, 1)
    pops.append(Population(name="cv", neuron=LIF(), shape=(n_conv,),
                           v0=rng.uniform(-65, -55, n_conv), drive=1.0))
    projs.append(conv)
    ptr, tgt, _ = window_fanout_table(4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 2)
    ptr, tgt = neuron_fanout_table(ptr, tgt, 2)
    pops.append(Population(name="pool", neuron=IF(v_th=0.3), shape=(8,)))
    projs.append(Projection(name="pool", pre="src", post="pool", kind="pool", synapse=Delta(),
                            delay=0, weights=np.array([0.25]), indptr=ptr, indices=tgt))
    models = sorted((k, c) for k, c in NEURON_MODELS.items() if not c.is_source)
    for k, (kind, cls) in enumerate(models):
        nrn = cls()
        n = 6
        pops.append(Population(name=kind, neuron=nrn, shape=(n,),
                               v0=nrn.v_initial + rng.normal(0, 3.0, n),
                               drive=rng.normal(1.0, 1.0, n)))
        small = kind in ("hh", "mcculloch_pitts")
        scale = 0.05 if small else 1.0
        w = rng.normal(0, scale, (32, n))
        projs.append(Projection(name=f"dense-{kind}", pre="src", post=kind, kind="dense",
                                synapse=ExpCurrent(tau=5.0), target="e", delay=k % 2,
                                weights=w))
        conn = rng.random((n_conv, n)) < 0.3
        pre, post = np.nonzero(conn)
        ptr = np.concatenate([[0], np.cumsum(conn.sum(axis=1))])
        syn = Delta() if small else ExpConductance(tau=3.0, e_rev=0.0)
        projs.append(Projection(name=f"csr-{kind}", pre="cv", post=kind, kind="csr",
                                synapse=syn, target="d" if small else "g", delay=3,
                                weights=np.abs(rng.normal(0, 0.02 * scale, pre.size)),
                                indptr=ptr, indices=post))
    return _graph(pops, projs, dt=dt)


@pytest.mark.parametrize("seed", range(3))
def test_compiled_loop_equals_numpy_twin(seed):
    """Whole loop on a random graph of every registered model: spikes, probes, rates and
    counters of the compiled loop equal those of the NumPy twin."""
    graph = _random_graph(np.random.default_rng(seed))
    probes = [("cv", ("v", "syn_e"), (0, 3)), ("lif", ("v",), (0, 1, 2))]
    (sa, ra), (sb, rb) = (_run(graph, 300, reference_twin=t, probes=probes)
                          for t in (False, True))
    n_spikes = 0
    for name in ra.spikes:
        np.testing.assert_array_equal(ra.spikes[name].indices, rb.spikes[name].indices)
        np.testing.assert_array_equal(ra.spikes[name].times, rb.spikes[name].times)
        n_spikes += ra.spikes[name].count
        np.testing.assert_array_equal(ra.rates[name], rb.rates[name])
    assert n_spikes > 100 and ra.spikes["cv"].count > 0  # the network is active
    for pop in ra.state:
        for var in ra.state[pop]:
            np.testing.assert_allclose(ra.state[pop][var], rb.state[pop][var], rtol=TWIN_TOL,
                                       atol=TWIN_TOL)
    np.testing.assert_allclose(sa.state.x, sb.state.x, rtol=TWIN_TOL, atol=TWIN_TOL)
    np.testing.assert_array_equal(sa.state.counters, sb.state.counters)
    q = len(ra.op_counts.layers) - len(graph.populations)
    spikes_counted = sa.state.counters[q + len(graph.populations):].sum()
    assert spikes_counted == n_spikes  # spike counters = recorded spikes


def test_synaptic_operations_are_hand_counted():
    """Dense 3x4 projection, pre fires 5 times in 10 steps: 5 x 4 = 20 operations."""
    pre = Population(name="pre", neuron=IF(), shape=(3,), drive=np.array([0.5, 0.0, 0.0]))
    post = Population(name="post", neuron=IF(v_th=1e6), shape=(4,))
    proj = Projection(name="p", pre="pre", post="post", kind="dense", synapse=Delta(),
                      weights=np.ones((3, 4)))
    sim, res = _run(_graph([pre, post], [proj]), 10)
    assert res.spikes["pre"].count == 5
    assert res.op_counts.layers[0].sops == 20


def test_loop_stops_before_overflow():
    """With room for fewer spikes than neurons the loop returns before writing past it."""
    from neurosim.kernels.dispatch import network_kernels

    built = build(_graph([Population(name="a", neuron=IF(), shape=(4,), drive=2.0)]))
    run = network_kernels(built.steps, built.kinds, built.same_step).run_network
    for fn in (run, reference.run_network_for(built.steps)):
        rec = L.Recorders(spike_mask=np.ones(4, np.uint8), spike_i=np.zeros(10, np.int32),
                          spike_t=np.zeros(10, np.int32), spike_count=np.zeros(1, np.int64),
                          probe_index=np.zeros(0, np.int64), probe_row=np.zeros(0, np.int64),
                          probe_out=np.zeros((0, 10)), pop_counts=np.zeros((1, 0), np.int32))
        done = fn(0, 10, built.model, built.new_state(), rec, np.zeros(4, np.int32))
        assert done == 2 and rec.spike_count[0] == 8
