"""Each spiking-layer kernel against its NumPy twin (neurosim.spike.reference_layers), on
hand-made and random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.builder.layered import build_layered, neuron_fanout_table, window_fanout_table
from neurosim.builder.params import init_params
from neurosim.kernels import layers as K
from neurosim.specs import AvgPool2D, Conv2D, Dense, Flatten, Network
from neurosim.spike import reference_layers as R

#: float32 sums in a different order (kernel: event by event; twin: one matrix product in
#: float64) differ by a few ulps of the largest partial sum.
SUM_RTOL = 1e-5
SUM_ATOL = 1e-5


def _geom_conv(c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, kind=K.KIND_CONV):
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    g = np.zeros(K.N_GEOM, np.int64)
    g[K.G_KIND] = kind
    g[K.G_CIN], g[K.G_HIN], g[K.G_WIN] = c_in, h, w
    g[K.G_COUT], g[K.G_HOUT], g[K.G_WOUT] = c_out, h_out, w_out
    g[K.G_KH], g[K.G_KW], g[K.G_SH], g[K.G_SW], g[K.G_PH], g[K.G_PW] = kh, kw, sh, sw, ph, pw
    g[K.G_NIN], g[K.G_NOUT] = c_in * h * w, c_out * h_out * w_out
    return g


def _both(fn_name, *args, arrays=()):
    """Run kernel and twin on copies of the mutable arguments; return both results."""
    outs = []
    for mod in (K, R):
        a = [x.copy() if i in arrays else x for i, x in enumerate(args)]
        ret = getattr(mod, fn_name)(*a)
        outs.append((ret, [a[i] for i in arrays]))
    return outs


def test_if_update_hand_made():
    # v = [0.5, 0.9, 0, -1], J = current + bias = [0.6, 0.05, 2.5, 0.5]
    # -> v + J = [1.1, 0.95, 2.5, -0.5]; neurons 0 and 2 reach theta = 1 and lose 1.
    v = np.array([0.5, 0.9, 0.0, -1.0], np.float32)
    cur = np.array([0.5, 0.0, 2.0, 0.5], np.float32)
    bias = np.array([0.1, 0.05, 0.5, 0.0], np.float32)
    for mod in (K, R):
        vv, cc, spk = v.copy(), cur.copy(), np.zeros(4, np.int64)
        n = mod.if_update(vv, cc, bias, 1.0, True, spk)
        assert n == 2 and spk[:2].tolist() == [0, 2]
        np.testing.assert_allclose(vv, [0.1, 0.95, 1.5, -0.5], rtol=SUM_RTOL)
        assert not cc.any()
    vv = v.copy()
    assert K.if_update(vv, cur.copy(), bias, 1.0, False, np.zeros(4, np.int64)) == 0
    np.testing.assert_allclose(vv, [1.1, 0.95, 2.5, -0.5], rtol=SUM_RTOL)


def test_if_rate_is_relu():
    """Closed form: under constant drive J in [0, 1] an IF neuron with reset by subtraction
    fires floor(T J) (v0 = 0) spikes in T steps, the ReLU times T within one spike."""
    j = np.array([-0.3, 0.0, 0.25, 0.37, 0.8, 1.0], np.float32)
    v = np.zeros_like(j)
    counts = np.zeros(j.size)
    spk = np.zeros(j.size, np.int64)
    steps = 1000
    for _ in range(steps):
        n = K.if_update(v, np.zeros_like(j), j, 1.0, True, spk)
        counts[spk[:n]] += 1
    assert np.all(np.abs(counts - np.maximum(j, 0) * steps) <= 1.0)


def test_dense_scatter_hand_made():
    # W (2 out x 3 in) = [[1, 2, 3], [4, 5, 6]], stored transposed; spikes from inputs 0 and 2
    # give current [1 + 3, 4 + 6] = [4, 10] and 2 spikes x 2 targets = 4 SOPs.
    wt = np.array([[1, 2, 3], [4, 5, 6]], np.float32).T.ravel().copy()
    g = np.zeros(K.N_GEOM, np.int64)
    g[K.G_NIN], g[K.G_NOUT] = 3, 2
    for mod in (K, R):
        cur, cnt = np.zeros(2, np.float32), np.zeros(1, np.int64)
        mod.dense_scatter(np.array([0, 2]), 2, np.ones(2, np.float32), False, g, wt, cur, cnt, 0)
        assert cur.tolist() == [4.0, 10.0] and cnt[0] == 4


def test_conv_fanout_table_hand_made():
    # 3x3 input, 2x2 kernel, stride 1, no padding -> 2x2 output. Corner (0,0) is covered by one
    # window, edge (0,1) by two, centre (1,1) by four: fan-out per position (times C_out = 1)
    # [[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16 entries in all (= 4 outputs x 4 taps).
    ptr, tgt, kof = window_fanout_table(3, 3, 2, 2, 2, 2, 1, 1, 0, 0, 1)
    assert np.diff(ptr).reshape(3, 3).tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    # centre reaches outputs 0..3 through taps (1,1), (1,0), (0,1), (0,0)
    c = slice(ptr[4], ptr[5])
    assert sorted(zip(tgt[c].tolist(), kof[c].tolist())) == [(0, 3), (1, 2), (2, 1), (3, 0)]


def _random_case(data, kind):
    """A random conv/pool geometry, its fan-out tables and random events with values."""
    c_in = data.draw(st.integers(1, 3))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    sh, sw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    ph = data.draw(st.integers(0, kh - 1)) if kind == K.KIND_CONV else 0
    pw = data.draw(st.integers(0, kw - 1)) if kind == K.KIND_CONV else 0
    h, w = data.draw(st.integers(kh, 7)), data.draw(st.integers(kw, 7))
    c_out = data.draw(st.integers(1, 4)) if kind == K.KIND_CONV else c_in
    g = _geom_conv(c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, kind)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    tables = window_fanout_table(*(int(g[i]) for i in (
        K.G_HIN, K.G_WIN, K.G_HOUT, K.G_WOUT, K.G_KH, K.G_KW, K.G_SH, K.G_SW, K.G_PH, K.G_PW,
        K.G_COUT)))
    n_in = int(g[K.G_NIN])
    idx = np.sort(rng.choice(n_in, size=rng.integers(0, n_in + 1), replace=False))
    return g, rng, tables, idx, rng.random(idx.size).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_conv_scatter_matches_twin(data):
    g, rng, (ptr, tgt, kof), idx, vals = _random_case(data, K.KIND_CONV)
    wk = rng.normal(size=int(g[K.G_CIN] * g[K.G_KH] * g[K.G_KW] * g[K.G_COUT])) \
        .astype(np.float32)
    weighted = bool(data.draw(st.booleans()))
    (_, (ck, nk)), (_, (cr, nr)) = _both(
        "conv_scatter", idx, idx.size, vals, weighted, g, wk, ptr, tgt, kof,
        np.zeros(int(g[K.G_NOUT]), np.float32), np.zeros(2, np.int64), 1, arrays=(9, 10))
    np.testing.assert_allclose(ck, cr, rtol=SUM_RTOL, atol=SUM_ATOL)
    assert nk.tolist() == nr.tolist()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_pool_scatter_matches_twin(data):
    g, _, (ptr, tgt, _), idx, vals = _random_case(data, K.KIND_POOL)
    ptr, tgt = neuron_fanout_table(ptr, tgt, int(g[K.G_CIN]))
    w = np.float32(1.0 / (g[K.G_KH] * g[K.G_KW]))
    (_, (ck, nk)), (_, (cr, nr)) = _both(
        "pool_scatter", idx, idx.size, vals, bool(data.draw(st.booleans())), g, w, ptr, tgt,
        np.zeros(int(g[K.G_NOUT]), np.float32), np.zeros(1, np.int64), 0, arrays=(8, 9))
    np.testing.assert_allclose(ck, cr, rtol=SUM_RTOL, atol=SUM_ATOL)
    assert nk.tolist() == nr.tolist()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.integers(1, 20), st.integers(0, 2**31))
def test_dense_scatter_matches_twin(n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    g = np.zeros(K.N_GEOM, np.int64)
    g[K.G_NIN], g[K.G_NOUT] = n_in, n_out
    wt = rng.normal(size=n_in * n_out).astype(np.float32)
    idx = np.sort(rng.choice(n_in, size=rng.integers(0, n_in + 1), replace=False))
    vals = rng.random(idx.size).astype(np.float32)
    (_, (ck, nk)), (_, (cr, nr)) = _both(
        "dense_scatter", idx, idx.size, vals, True, g, wt, np.zeros(n_out, np.float32),
        np.zeros(1, np.int64), 0, arrays=(6, 7))
    np.testing.assert_allclose(ck, cr, rtol=SUM_RTOL, atol=SUM_ATOL)
    assert nk.tolist() == nr.tolist()


def _small_cnn():
    return Network(name="small-cnn", input_shape=(2, 7, 6), layers=(
        Conv2D(filters=3, kernel_size=3, stride=2, padding=1, activation="relu"),
        AvgPool2D(pool_size=2),
        Conv2D(filters=2, kernel_size=(2, 1), activation="relu"),
        Flatten(),
        Dense(units=4, activation="softmax")))


def _sim_args(net, x, xs, spike_input, ck, record):
    n, n_ck, n_layers = x.shape[0], ck.size, net.n_layers
    n_total, n_out = int(sum(net.n_neurons)), net.n_neurons[-1]
    return [net.geom, net.thr, net.tau, net.dt, net.poolw, net.w_all, net.b_all, net.ptr_all,
            net.tgt_all, net.kof_all, x, xs, spike_input, ck, np.float32(0.25),
            np.zeros((n, n_ck, n_out), np.float32), np.zeros((n, n_ck, n_out), np.float32),
            np.zeros((n, n_ck, n_layers), np.int64), np.zeros((n, n_ck, n_layers), np.int64),
            np.zeros(n, np.int64), np.zeros((n if record else 0, n_total), np.int32),
            np.zeros((int(ck[-1]) if record else 0, n_total), np.uint8), 1 if record else -1]


def test_simulate_layered_matches_twin_on_random_cnn():
    """The compiled network loop and its NumPy twin agree on every output and counter, with
    analog and spike input, spiking and non-spiking output layers."""
    rng = np.random.default_rng(3)
    spec = _small_cnn()
    params = init_params(spec, rng)
    for p in params:
        if "b" in p:
            p["b"][:] = rng.normal(0, 0.3, p["b"].shape)
    x = rng.random((3, 2 * 7 * 6)).astype(np.float32)
    ck = np.array([4, 9, 20], np.int64)
    for readout in ("count", "membrane"):
        net = build_layered(spec, params, readout=readout)
        x_k = np.ascontiguousarray(x[:, net.in_perm])
        for spike_input in (0, 1):
            xs = (rng.random((3, 20, x.shape[1])) < x_k[:, None]).astype(np.uint8) \
                if spike_input else np.zeros((0, 0, 0), np.uint8)
            results = []
            for fn in (K.simulate_layered, K.simulate_layered_parallel, R.simulate_layered):
                args = _sim_args(net, x_k, xs, spike_input, ck, record=True)
                fn(*args)
                results.append(args[15:22])
            for a, b in zip(results[0], results[2]):
                np.testing.assert_allclose(a, b, rtol=SUM_RTOL, atol=SUM_ATOL)
            # threads change only which core runs a sample, never its result
            assert all(np.array_equal(a, b) for a, b in zip(results[0], results[1]))
            assert results[0][3].sum() > 0  # something spiked: the test is not vacuous


# ---------------------------------------------------------------- leaky integrate-and-fire

#: LIF time constants (s) and step used by the LIF tests (Nengo's defaults, 1 ms steps).
TAU_RC, TAU_REF, DT = 0.02, 0.002, 0.001
#: State is stored in float32: values computed in float64 agree to a few float32 ulps.
STATE_RTOL = 1e-6
#: Under constant drive the interpolated LIF fires at the exact continuous spike times (only
#: reported at the end of their step), so its count in T steps equals the continuous count;
#: one spike of slack covers a continuous spike time that falls on a step boundary within
#: float32 rounding.
LIF_COUNT_TOL = 1


def test_lif_update_hand_made():
    """One 1 ms step, J = current + bias, tau_rc = 20 ms, exact solution
    v1 = J + (v0 - J) exp(-t / tau_rc) over the non-refractory time t:
    neuron 0: v0 = 0, J = 2, t = dt: 2 (1 - e^-0.05) = 0.0975, no spike;
    neuron 1: v0 = 0.99, J = 3: 3 - 2.01 e^-0.05 = 1.088 > 1: spike; it crossed 1 at
      t_c = tau_rc ln((J - v0) / (J - 1)) = 20 ms ln(2.01 / 2) = 0.0998 ms, so the refractory
      period ends tau_ref + t_c - dt = 1.0998 ms into the next step; v = 0;
    neuron 2: refractory for 1.5 ms more: v stays 0, 0.5 ms left;
    neuron 3: refractory for 0.4 ms more: integrates J = 2 for 0.6 ms from 0:
      2 (1 - e^-0.03)."""
    v = np.array([0.0, 0.99, 0.0, 0.0], np.float32)
    ref = np.array([0.0, 0.0, 0.0015, 0.0004], np.float32)
    cur = np.array([1.5, 2.0, 2.0, 1.0], np.float32)
    bias = np.array([0.5, 1.0, 0.0, 1.0], np.float32)
    for mod in (K, R):
        vv, rr, cc, spk = v.copy(), ref.copy(), cur.copy(), np.zeros(4, np.int64)
        n = mod.lif_update(vv, rr, cc, bias, 1.0, TAU_RC, TAU_REF, DT, spk)
        assert n == 1 and spk[0] == 1
        np.testing.assert_allclose(
            vv, [2 * (1 - np.exp(-0.05)), 0.0, 0.0, 2 * (1 - np.exp(-0.03))], rtol=STATE_RTOL)
        t_c = TAU_RC * np.log(2.01 / 2.0)
        np.testing.assert_allclose(rr, [0.0, TAU_REF + t_c - DT, 0.0005, 0.0],
                                   rtol=STATE_RTOL, atol=1e-9)
        assert not cc.any()


def test_lif_rate_matches_closed_form():
    """Constant drive J from v = 0 at t = 0: the continuous LIF first crosses threshold at
    tau_rc ln(J / (J - 1)) = ISI - tau_ref and then every ISI = 1 / lif_rate(J), so in
    T steps it fires floor((T dt + tau_ref) / ISI) spikes; J <= 1 never fires."""
    from neurosim.specs.activations import lif_rate

    j = np.array([0.5, 1.0, 1.001, 1.05, 1.5, 2.0, 5.0, 20.0, 100.0], np.float32)
    steps = 3000
    for mod in (K, R):
        v, ref = np.zeros_like(j), np.zeros_like(j)
        counts = np.zeros(j.size)
        spk = np.zeros(j.size, np.int64)
        for _ in range(steps):
            n = mod.lif_update(v, ref, np.zeros_like(j), j, 1.0, TAU_RC, TAU_REF, DT, spk)
            counts[spk[:n]] += 1
        rate = lif_rate(j.astype(np.float64))
        with np.errstate(divide="ignore"):
            expected = np.where(rate > 0, np.floor((steps * DT + TAU_REF) * rate), 0)
        assert np.all(np.abs(counts - expected) <= LIF_COUNT_TOL), (counts, expected)
        assert counts[0] == counts[1] == 0 and counts[-1] > 1000  # 455 Hz for 3 s


#: float32 recursion of the synapse over 60 steps against its closed form in float64.
SYN_RTOL = 1e-5


def test_synapse_filter_closed_form():
    """Constant input I from s = 0: s_n = I (1 - a^n), a = exp(-dt / tau_s); one pulse I then
    nothing: s_n = (1 - a) a^n I, whose sum over all steps is I (the filter keeps the mean)."""
    a = np.exp(-DT / 0.005)
    for mod in (K, R):
        syn = np.zeros(2, np.float32)
        trace = []
        for k in range(60):
            cur = np.array([3.0, 1000.0 if k == 0 else 0.0], np.float32)
            mod.synapse_filter(cur, syn, a)
            assert np.array_equal(cur, syn)
            trace.append(syn.copy())
        trace = np.array(trace, np.float64)
        n = np.arange(1, 61)
        np.testing.assert_allclose(trace[:, 0], 3.0 * (1 - a ** n), rtol=SYN_RTOL)
        np.testing.assert_allclose(trace[:, 1], 1000.0 * (1 - a) * a ** (n - 1), rtol=SYN_RTOL)
        assert trace[:, 1].sum() == pytest.approx(1000.0 * (1 - a ** 60), rel=SYN_RTOL)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**31))
def test_synapse_filter_matches_twin(n, seed):
    rng = np.random.default_rng(seed)
    cur = rng.normal(0, 50, n).astype(np.float32)
    syn = rng.normal(0, 5, n).astype(np.float32)
    decay = float(rng.uniform(0, 1))
    (_, (ck, sk)), (_, (cr, sr)) = _both("synapse_filter", cur, syn, decay, arrays=(0, 1))
    np.testing.assert_allclose(ck, cr, rtol=STATE_RTOL, atol=1e-6)
    np.testing.assert_allclose(sk, sr, rtol=STATE_RTOL, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**31))
def test_lif_update_matches_twin(n, seed):
    rng = np.random.default_rng(seed)
    v = rng.uniform(-0.5, 1.0, n).astype(np.float32)
    ref = np.where(rng.random(n) < 0.4, rng.uniform(0, 0.003, n), 0).astype(np.float32)
    cur = rng.normal(0, 20, n).astype(np.float32)
    bias = rng.normal(1, 1, n).astype(np.float32)
    (nk, (vk, rk, ck, sk)), (nr, (vr, rr, cr, sr)) = _both(
        "lif_update", v, ref, cur, bias, 1.0, TAU_RC, TAU_REF, DT, np.zeros(n, np.int64),
        arrays=(0, 1, 2, 8))
    assert nk == nr and sk[:nk].tolist() == sr[:nr].tolist()
    np.testing.assert_allclose(vk, vr, rtol=STATE_RTOL, atol=1e-7)
    np.testing.assert_allclose(rk, rr, rtol=STATE_RTOL, atol=1e-9)
    assert not ck.any() and not cr.any()


def test_simulate_layered_with_lif_layers_matches_twin():
    """A conv LIF layer, pooling, a dense LIF layer (spike input through the synapse) and an
    IF output: kernel and twin agree, with analog and spike input."""
    rng = np.random.default_rng(5)
    spec = Network(name="lif-cnn", input_shape=(2, 7, 6), layers=(
        Conv2D(filters=3, kernel_size=3, padding=1, activation="lif"), AvgPool2D(pool_size=2),
        Flatten(), Dense(units=6, activation="lif"), Dense(units=4, activation="softmax")))
    params = init_params(spec, rng)
    for p in params:
        if "W" in p:
            p["W"] *= 3.0  # drive well above the LIF threshold 1
            p["b"][:] = rng.normal(1.0, 0.5, p["b"].shape)
    x = rng.random((3, 2 * 7 * 6)).astype(np.float32)
    ck = np.array([7, 30], np.int64)
    net = build_layered(spec, params, readout="count", dt=DT)
    assert net.geom[:, K.G_NEURON].tolist() == [K.NEURON_LIF, K.NEURON_IF, K.NEURON_LIF,
                                                K.NEURON_IF]
    assert net.tau[:, 2].tolist() == [0.005, 0.0, 0.005, 0.0]
    x_k = np.ascontiguousarray(x[:, net.in_perm])
    for spike_input in (0, 1):
        xs = (rng.random((3, 30, x.shape[1])) < x_k[:, None]).astype(np.uint8) \
            if spike_input else np.zeros((0, 0, 0), np.uint8)
        results = []
        for fn in (K.simulate_layered, R.simulate_layered):
            args = _sim_args(net, x_k, xs, spike_input, ck, record=True)
            fn(*args)
            results.append(args[15:22])
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=SUM_RTOL, atol=SUM_ATOL)
        assert results[0][3][:, -1, 0].sum() > 0  # the LIF layer spiked: not vacuous
