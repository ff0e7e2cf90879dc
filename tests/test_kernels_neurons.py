"""The compiled population kernels against their NumPy twins (neurosim.spike.reference):
hand-made cases with known answers, then random states, parameters and connectivity."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from neurosim.builder.connectivity import all_to_all, connectivity_from_pairs, random_connectivity
from neurosim.builder.populations import build_neurons
from neurosim.kernels import network as fast
from neurosim.specs.neurons import (
    IF,
    LIF,
    AdaptiveLIF,
    AdEx,
    HodgkinHuxley,
    Izhikevich,
    McCullochPitts,
)
from neurosim.spike import reference as slow

#: The twins evaluate the same formulas in a different order (vectorised sums); float64
#: rounding differs by a few ulps per step, and a few hundred steps stay far below this.
TWIN_TOL = 1e-9

MODELS = [IF(), IF(reset="potential", t_ref=1.0), LIF(), LIF(reset="subtract"), AdaptiveLIF(),
          Izhikevich.preset("chattering"), AdEx(), HodgkinHuxley(),
          HodgkinHuxley(method="rk4"), McCullochPitts()]
CHANNELS = [(1, 5.0, 0.0), (1, 10.0, 0.0), (2, 3.0, -80.0), (0, 0.0, 0.0)]


def _random_arrays(rng, models, n_each=7, dt=0.05, conductance=True):
    groups = []
    for k, nrn in enumerate(models):
        v0 = nrn.v_initial + rng.normal(0, 4.0, n_each)
        groups.append((f"p{k}", nrn, v0))
    chans = CHANNELS if conductance else [c for c in CHANNELS if c[0] != 2]
    arr = build_neurons(groups, dt, channels=chans)
    n = arr.n
    arr.S[:] = np.abs(rng.normal(0, 0.3, arr.S.shape))
    arr.S[arr.chan_kind == 0] = 0.0
    for p, nrn in enumerate(models):
        if isinstance(nrn, LIF):
            arr.pop_par[p, 11] = float(conductance and rng.random() < 0.5)
        if isinstance(nrn, (HodgkinHuxley, McCullochPitts)):
            arr.S[:, arr.pop_info[p, 0]:arr.pop_info[p, 1]] *= 0.1
    arr.i_ext = rng.normal(1.0, 2.0, (1, n))
    arr.refc[:] = rng.integers(0, 3, n).astype(np.int32)
    return arr


def _step_both(arr, step=0):
    a, b = copy.deepcopy(arr), copy.deepcopy(arr)
    out = []
    for mod, x in ((fast, a), (slow, b)):
        spikes = np.full(x.n, -1, dtype=np.int32)
        k = mod.neuron_step(step, x.dt, x.X, x.S, x.refc, x.pop_info, x.pop_par, x.pop_chan,
                            x.chan_kind, x.chan_decay, x.chan_erev, x.i_ext, spikes,
                            x.counters)
        out.append((k, spikes[:k].copy(), x))
    return out


def test_neuron_step_hand_made_lif():
    """One LIF step from rest under I: v = v_inf + (v0 - v_inf) e^{-dt/tau}, counted once."""
    nrn = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0)
    arr = build_neurons([("a", nrn, np.array([-65.0, -50.04]))], 0.1, i_ext=np.full((1, 2), 2.0))
    (k, spk, x), (k2, spk2, y) = _step_both(arr)
    v_inf = -65.0 + 20.0
    want = v_inf + (np.array([-65.0, -50.04]) - v_inf) * np.exp(-0.01)
    crossed = want > -50.0  # neuron 1 (-50.04 -> -49.99) crosses and resets
    assert crossed.tolist() == [False, True]
    want = np.where(crossed, -65.0, want)
    for kk, s, st in ((k, spk, x), (k2, spk2, y)):
        np.testing.assert_allclose(st.X[0], want, rtol=1e-13)
        assert kk == crossed.sum()
        assert list(s) == list(np.flatnonzero(crossed))
        assert st.counters.tolist() == [2, int(crossed.sum())]


def test_neuron_step_hand_made_if_subtract():
    """IF with reset by subtraction: v = 0.7 + 0.5 = 1.2 > 1 -> spike, v = 0.2."""
    arr = build_neurons([("a", IF(), np.array([0.7, 0.1]))], 1.0, i_ext=np.full((1, 2), 0.5))
    for k, spk, st in _step_both(arr):
        np.testing.assert_allclose(st.X[0], [0.2, 0.6], atol=1e-15)
        assert k == 1 and spk[0] == 0


@pytest.mark.parametrize("seed", range(4))
def test_neuron_step_random_equivalence(seed):
    rng = np.random.default_rng(seed)
    arr = _random_arrays(rng, MODELS)
    for step in range(60):
        (k, spk, a), (k2, spk2, b) = _step_both(arr, step)
        assert k == k2
        np.testing.assert_array_equal(spk, spk2)
        np.testing.assert_allclose(a.X, b.X, rtol=TWIN_TOL, atol=TWIN_TOL)
        np.testing.assert_allclose(a.S, b.S, rtol=TWIN_TOL, atol=TWIN_TOL)
        np.testing.assert_array_equal(a.refc, b.refc)
        np.testing.assert_array_equal(a.counters, b.counters)
        arr = a


def _proj_arrays(rng, n_pre=9, n_post=6, delay_max=3):
    """Two populations, three projections (dense, CSR, CSR with delay) into 4 channels."""
    arr = build_neurons([("pre", LIF(), np.zeros(n_pre)), ("post", LIF(), np.zeros(n_post))],
                        0.1, channels=CHANNELS)
    conns = [all_to_all(n_pre, n_post), random_connectivity(n_pre, n_post, 0.5, rng),
             connectivity_from_pairs(n_pre, n_post, rng.integers(0, n_pre, 20),
                                     rng.integers(0, n_post, 20))]
    info, indptr, idx, w = [], [], [], []
    row = 0
    for q, conn in enumerate(conns):
        base = sum(len(x) for x in w)
        delay = [0, 0, int(rng.integers(1, delay_max + 1))][q]
        info.append([0, n_pre, n_pre, [1, 3, 2][q], delay, row, int(conn.dense), q])
        indptr.append(conn.indptr + base)
        idx.append(np.zeros(conn.n_synapses, np.int32) if conn.dense
                   else conn.indices + n_pre)
        w.append(rng.normal(0, 1, conn.n_synapses))
        row += n_pre + 1
    arr.proj_info = np.array(info, dtype=np.int64)
    arr.indptr = np.concatenate(indptr).astype(np.int64)
    arr.indices = np.concatenate(idx).astype(np.int32)
    arr.weights = np.concatenate(w)
    arr.ring = np.zeros((delay_max + 1, len(CHANNELS), arr.n))
    arr.counters = np.zeros(3, dtype=np.int64)
    return arr, conns


def test_propagate_hand_made_dense():
    """One spike of pre neuron 1 through a 2x3 dense projection adds row 1 to the targets."""
    arr = build_neurons([("pre", LIF(), np.zeros(2)), ("post", LIF(), np.zeros(3))], 0.1,
                        channels=[(1, 5.0, 0.0)])
    arr.proj_info = np.array([[0, 2, 2, 0, 0, 0, 1, 0]], dtype=np.int64)
    arr.indptr = np.array([0, 3, 6], dtype=np.int64)
    arr.indices = np.zeros(6, dtype=np.int32)
    arr.weights = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    arr.counters = np.zeros(1, dtype=np.int64)
    for mod in (fast, slow):
        x = copy.deepcopy(arr)
        mod.propagate(0, np.array([1], np.int32), 1, x.X, x.S, x.ring, x.proj_info, x.indptr,
                      x.indices, x.weights, x.chan_kind, x.counters)
        np.testing.assert_array_equal(x.S[0], [0, 0, 10, 20, 30])
        assert x.counters[0] == 3  # fan-out of one spike = 3 synaptic operations


@pytest.mark.parametrize("seed", range(4))
def test_propagate_random_equivalence(seed):
    rng = np.random.default_rng(seed)
    arr, conns = _proj_arrays(rng)
    a, b = copy.deepcopy(arr), copy.deepcopy(arr)
    expected_ops = np.zeros(3, dtype=np.int64)
    for step in range(12):
        fired = np.sort(rng.choice(arr.n, size=rng.integers(0, 8), replace=False))
        spikes = np.zeros(arr.n, dtype=np.int32)
        spikes[:fired.size] = fired
        for mod, x in ((fast, a), (slow, b)):
            mod.propagate(step, spikes, fired.size, x.X, x.S, x.ring, x.proj_info, x.indptr,
                          x.indices, x.weights, x.chan_kind, x.counters)
        pre = fired[fired < 9]
        expected_ops += [sum(int(np.diff(c.indptr)[i]) for i in pre) for c in conns]
        np.testing.assert_allclose(a.X, b.X, atol=1e-12)
        np.testing.assert_allclose(a.S, b.S, atol=1e-12)
        np.testing.assert_allclose(a.ring, b.ring, atol=1e-12)
    np.testing.assert_array_equal(a.counters, expected_ops)
    np.testing.assert_array_equal(b.counters, expected_ops)


def test_propagate_delay_arrives_on_time():
    """A spike at step 2 through a delay of 3 steps reaches the target at step 5."""
    arr = build_neurons([("pre", LIF(), np.zeros(1)), ("post", LIF(), np.zeros(1))], 0.1,
                        channels=[(1, 5.0, 0.0)])
    arr.proj_info = np.array([[0, 1, 1, 0, 3, 0, 0, 0]], dtype=np.int64)
    arr.indptr = np.array([0, 1], dtype=np.int64)
    arr.indices = np.array([1], dtype=np.int32)
    arr.weights = np.array([0.7])
    arr.ring = np.zeros((4, 1, 2))
    arr.counters = np.zeros(1, dtype=np.int64)
    for mod in (fast, slow):
        x = copy.deepcopy(arr)
        seen = []
        for step in range(8):
            spikes = np.array([0, 0], np.int32)
            mod.propagate(step, spikes, int(step == 2), x.X, x.S, x.ring, x.proj_info,
                          x.indptr, x.indices, x.weights, x.chan_kind, x.counters)
            seen.append(x.S[0, 1])
        assert seen == [0, 0, 0, 0, 0, 0.7, 0.7, 0.7]


@pytest.mark.parametrize("kernel", ["run_network", "run_network_lif"])
@pytest.mark.parametrize("seed", range(2))
def test_run_network_random_equivalence(seed, kernel):
    """Whole loop: a random recurrent network of mixed models, with monitors."""
    rng = np.random.default_rng(seed)
    arr, _ = _proj_arrays(rng)
    arr.i_ext = rng.normal(2.5, 1.0, (1, arr.n))
    arr.X[0] = rng.uniform(-65, -50, arr.n)
    arr.pop_info[:, 3:5] = [[3, 5], [4, 6]]
    arr.counters = np.zeros(7, dtype=np.int64)
    n_steps = 300
    outs = []
    for mod in (fast, slow):
        x = copy.deepcopy(arr)
        spk_i = np.zeros(5000, np.int32)
        spk_t = np.zeros(5000, np.int32)
        count = np.zeros(1, np.int64)
        rec_idx = np.array([0, 3, 10, 12], np.int64)
        rec_row = np.array([0, 0, 0, 6], np.int64)
        rec_out = np.zeros((4, n_steps))
        pop_counts = np.zeros((2, n_steps), np.int32)
        done = getattr(mod, kernel)(
            0, n_steps, x.dt, x.X, x.S, x.refc, x.pop_info, x.pop_par, x.pop_chan,
            x.chan_kind, x.chan_decay, x.chan_erev, x.i_ext, x.proj_info, x.indptr, x.indices,
            x.weights, x.ring, x.counters, np.zeros(x.n, np.int32), np.ones(x.n, np.uint8),
            spk_i, spk_t, count, rec_idx, rec_row, rec_out, pop_counts)
        assert done == n_steps
        outs.append((x, spk_i[:count[0]].copy(), spk_t[:count[0]].copy(), rec_out,
                     pop_counts))
    (a, ai, at, ar, ap), (b, bi, bt, br, bp) = outs
    assert ai.size > 20  # the network is active
    np.testing.assert_array_equal(ai, bi)
    np.testing.assert_array_equal(at, bt)
    np.testing.assert_allclose(ar, br, atol=TWIN_TOL)
    np.testing.assert_array_equal(ap, bp)
    np.testing.assert_array_equal(a.counters, b.counters)
    assert a.counters[5] + a.counters[6] == ai.size  # spike counters = recorded spikes
    assert ap.sum() == ai.size


def test_run_network_lif_refuses_other_models():
    arr = build_neurons([("a", IF(), np.zeros(2))], 1.0)
    for mod in (fast, slow):
        with pytest.raises(ValueError, match="LIF populations only"):
            mod.run_network_lif(0, 3, 1.0, arr.X, arr.S, arr.refc, arr.pop_info, arr.pop_par,
                                arr.pop_chan, arr.chan_kind, arr.chan_decay, arr.chan_erev,
                                arr.i_ext, arr.proj_info, arr.indptr, arr.indices, arr.weights,
                                arr.ring, arr.counters, np.zeros(2, np.int32),
                                np.ones(2, np.uint8), np.zeros(10, np.int32),
                                np.zeros(10, np.int32), np.zeros(1, np.int64),
                                np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)),
                                np.zeros((1, 0), np.int32))


def test_run_network_stops_before_overflow():
    """With room for fewer spikes than neurons the loop returns before writing past it."""
    arr = build_neurons([("a", IF(), np.zeros(4))], 1.0, i_ext=np.full((1, 4), 2.0))
    for mod in (fast, slow):
        x = copy.deepcopy(arr)
        count = np.zeros(1, np.int64)
        done = mod.run_network(0, 10, 1.0, x.X, x.S, x.refc, x.pop_info, x.pop_par, x.pop_chan,
                               x.chan_kind, x.chan_decay, x.chan_erev, x.i_ext, x.proj_info,
                               x.indptr, x.indices, x.weights, x.ring, x.counters,
                               np.zeros(4, np.int32), np.ones(4, np.uint8),
                               np.zeros(10, np.int32), np.zeros(10, np.int32), count,
                               np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 10)),
                               np.zeros((1, 0), np.int32))
        assert done == 2 and count[0] == 8  # 4 spikes per step, stopped when 8 + 4 > 10
