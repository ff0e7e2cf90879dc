"""The layered fast path (neurosim.kernels.layers) and the models' batched layer steps
against their NumPy twins, closed forms and hand-made cases; the general engine's delivery of
conv and pool projections against a direct sliding-window sum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from neurosim.builder.layered import build_layered, neuron_fanout_table, window_fanout_table
from neurosim.builder.model import build
from neurosim.builder.params import init_params
from neurosim.graph import Graph, Population, Projection
from neurosim.kernels import layers as K
from neurosim.kernels import propagate
from neurosim.neurons import IF, if_, lif
from neurosim.neurons.lif import LIF_LAYER
from neurosim.specs import AvgPool2D, Conv2D, Dense, Flatten, Network
from neurosim.specs.synapses import ExpCurrent
from neurosim.spike import reference
from neurosim.spike import reference_layers as R

#: float32 sums in a different order (kernel: event by event; twin: one matrix product in
#: float64) differ by a few ulps of the largest partial sum.
SUM_RTOL = 1e-5
SUM_ATOL = 1e-5


def test_if_update_hand_made():
    # v = [0.5, 0.9, 0, -1], J = current + bias = [0.6, 0.05, 2.5, 0.5]
    # -> v + J = [1.1, 0.95, 2.5, -0.5]; neurons 0 and 2 reach theta = 1 and lose 1.
    v = np.array([0.5, 0.9, 0.0, -1.0], np.float32)
    cur = np.array([0.5, 0.0, 2.0, 0.5], np.float32)
    bias = np.array([0.1, 0.05, 0.5, 0.0], np.float32)
    for fn in (if_.layer_step, if_.layer_step_numpy):
        vv, cc, spk = v.copy(), cur.copy(), np.zeros(4, np.int32)
        n = fn(vv, cc, bias, np.float32(1.0), True, spk)
        assert n == 2 and spk[:2].tolist() == [0, 2]
        np.testing.assert_allclose(vv, [0.1, 0.95, 1.5, -0.5], rtol=SUM_RTOL)
        assert not cc.any()
    vv = v.copy()
    assert if_.layer_step(vv, cur.copy(), bias, np.float32(1.0), False,
                          np.zeros(4, np.int32)) == 0
    np.testing.assert_allclose(vv, [1.1, 0.95, 2.5, -0.5], rtol=SUM_RTOL)


def test_if_rate_is_relu():
    """Closed form: under constant drive J in [0, 1] an IF neuron with reset by subtraction
    fires floor(T J) (v0 = 0) spikes in T steps, the ReLU times T within one spike."""
    j = np.array([-0.3, 0.0, 0.25, 0.37, 0.8, 1.0], np.float32)
    v = np.zeros_like(j)
    counts = np.zeros(j.size)
    spk = np.zeros(j.size, np.int32)
    steps = 1000
    for _ in range(steps):
        n = if_.layer_step(v, np.zeros_like(j), j, np.float32(1.0), True, spk)
        counts[spk[:n]] += 1
    assert np.all(np.abs(counts - np.maximum(j, 0) * steps) <= 1.0)


def _one_projection(kind, n_pre, n_post, weights, **tables):
    pre = Population(name="pre", neuron=IF(), shape=(n_pre,))
    post = Population(name="post", neuron=IF(), shape=(n_post,))
    proj = Projection(name="p", pre="pre", post="post", kind=kind, synapse=ExpCurrent(),
                      weights=weights, **tables)
    return build(Graph(populations=(pre, post), projections=(proj,), dt=1.0))


def _deliver_both(built, fired):
    """Compiled delivery and its twin of spikes ``fired`` (pre-local) through projection 0:
    the post current each gives and the operations each counts."""
    kind = built.graph.projections[0].kind
    n_pre = built.graph.populations[0].size
    out = []
    for twin in (False, True):
        st_ = built.new_state()
        if twin:
            reference.deliver(built.model, st_, 0, np.asarray(fired), 0)
        else:
            fn = getattr(propagate, f"deliver_{kind}")
            m = built.model
            st_.counters[0] += fn(m.proj[0], propagate.row_tables(m),
                                  np.asarray(fired, np.int32), 0, len(fired), st_.syn[0])
        out.append((st_.syn[0, n_pre:].copy(), int(st_.counters[0])))
    return out


def test_dense_delivery_hand_made():
    # W (3 in x 2 out) = [[1, 4], [2, 5], [3, 6]] (rows: fan-out of an input); spikes from
    # inputs 0 and 2 give current [1 + 3, 4 + 6] = [4, 10] and 2 spikes x 2 targets = 4 SOPs.
    built = _one_projection("dense", 3, 2, np.array([[1, 4], [2, 5], [3, 6]], float))
    for cur, ops in _deliver_both(built, [0, 2]):
        assert cur.tolist() == [4.0, 10.0] and ops == 4


def test_conv_fanout_table_hand_made():
    # 3x3 input, 2x2 kernel, stride 1, no padding -> 2x2 output. Corner (0,0) is covered by one
    # window, edge (0,1) by two, centre (1,1) by four: fan-out per position (times C_out = 1)
    # [[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16 entries in all (= 4 outputs x 4 taps).
    ptr, tgt, kof = window_fanout_table(3, 3, 2, 2, 2, 2, 1, 1, 0, 0, 1)
    assert np.diff(ptr).reshape(3, 3).tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    # centre reaches outputs 0..3 through taps (1,1), (1,0), (0,1), (0,0)
    c = slice(ptr[4], ptr[5])
    assert sorted(zip(tgt[c].tolist(), kof[c].tolist())) == [(0, 3), (1, 2), (2, 1), (3, 0)]


def _window_sum(image, kernel, kh, kw, sh, sw, ph, pw, h_out, w_out):
    """Direct cross-correlation of a channels-last image ``(H, W, C_in)`` with a kernel
    ``(C_in, kh, kw, C_out)``: ``out[i, j, o] = sum x_pad[i*sh+u, j*sw+v, c] k[c, u, v, o]``."""
    padded = np.pad(image, ((ph, ph), (pw, pw), (0, 0)))
    win = sliding_window_view(padded, (kh, kw), axis=(0, 1))  # (H', W', C, kh, kw)
    win = win[: (h_out - 1) * sh + 1: sh, : (w_out - 1) * sw + 1: sw]
    return np.einsum("ijcuv,cuvo->ijo", win, kernel)


def _random_window(data, pool):
    c_in = data.draw(st.integers(1, 3))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    sh, sw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    ph = 0 if pool else data.draw(st.integers(0, kh - 1))
    pw = 0 if pool else data.draw(st.integers(0, kw - 1))
    h, w = data.draw(st.integers(kh, 7)), data.draw(st.integers(kw, 7))
    c_out = c_in if pool else data.draw(st.integers(1, 4))
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    n_in = c_in * h * w
    fired = np.sort(rng.choice(n_in, size=rng.integers(0, n_in + 1), replace=False))
    geom = (kh, kw, sh, sw, ph, pw, h_out, w_out)
    return c_in, h, w, c_out, geom, rng, fired


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_conv_delivery_is_a_convolution(data):
    """Spikes through a conv projection (fan-out tables) give the direct sliding-window sum of
    the spike map with the kernel; operations = targets reached, counted by convolving the
    spike map with ones; the twin agrees."""
    c_in, h, w, c_out, geom, rng, fired = _random_window(data, pool=False)
    kh, kw, sh, sw, ph, pw, h_out, w_out = geom
    kernel = rng.normal(size=(c_in, kh, kw, c_out))
    ptr, tgt, kof = window_fanout_table(h, w, h_out, w_out, kh, kw, sh, sw, ph, pw, c_out)
    built = _one_projection("conv", c_in * h * w, c_out * h_out * w_out, kernel.ravel(),
                            indptr=ptr, indices=tgt, kof=kof, c_in=c_in, c_out=c_out,
                            taps=kh * kw)
    events = np.zeros(c_in * h * w)
    events[fired] = 1.0
    image = events.reshape(h, w, c_in)
    want = _window_sum(image, kernel, *geom).ravel()
    ops = int(round(_window_sum(image, np.ones((c_in, kh, kw, 1)), *geom).sum())) * c_out
    for cur, n_ops in _deliver_both(built, fired):
        np.testing.assert_allclose(cur, want, rtol=1e-12, atol=1e-12)
        assert n_ops == ops


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_pool_delivery_is_a_window_average(data):
    c_in, h, w, _, geom, _, fired = _random_window(data, pool=True)
    kh, kw, sh, sw, ph, pw, h_out, w_out = geom
    ptr, tgt, _ = window_fanout_table(h, w, h_out, w_out, kh, kw, sh, sw, 0, 0, c_in)
    ptr, tgt = neuron_fanout_table(ptr, tgt, c_in)
    built = _one_projection("pool", c_in * h * w, c_in * h_out * w_out,
                            np.array([1.0 / (kh * kw)]), indptr=ptr, indices=tgt)
    events = np.zeros(c_in * h * w)
    events[fired] = 1.0
    image = events.reshape(h, w, c_in)
    depthwise = np.stack([_window_sum(image[..., c:c + 1], np.ones((1, kh, kw, 1)), *geom)
                          [..., 0] for c in range(c_in)], axis=-1)
    for cur, n_ops in _deliver_both(built, fired):
        np.testing.assert_allclose(cur, depthwise.ravel() / (kh * kw), rtol=1e-12)
        assert n_ops == int(round(depthwise.sum()))


def _small_cnn():
    return Network(name="small-cnn", input_shape=(2, 7, 6), layers=(
        Conv2D(filters=3, kernel_size=3, stride=2, padding=1, activation="relu"),
        AvgPool2D(pool_size=2),
        Conv2D(filters=2, kernel_size=(2, 1), activation="relu"),
        Flatten(),
        Dense(units=4, activation="softmax")))


def _simulate(fn, net, x, xs, spike_input, ck, record):
    """Run ``fn`` (kernel or twin) on fresh outputs; return them as a list of arrays."""
    n, n_ck, n_layers = x.shape[0], ck.size, net.n_layers
    n_total, n_out = net.n_total, net.n_neurons[-1]
    out = K.Outputs(counts=np.zeros((n, n_ck, n_out), np.float32),
                    v=np.zeros((n, n_ck, n_out), np.float32),
                    sops=np.zeros((n, n_ck, n_layers), np.int64),
                    spikes=np.zeros((n, n_ck, n_layers), np.int64),
                    input_macs=np.zeros(n, np.int64),
                    neuron_counts=np.zeros((n if record else 0, n_total), np.int32),
                    raster=np.zeros((int(ck[-1]) if record else 0, n_total), np.uint8))
    batch = K.Batch(x_analog=x if not spike_input else np.zeros((0, x.shape[1]), np.float32),
                    x_spikes=xs, checkpoints=ck)
    fn(net.layers, batch, out, K.Settings(spike_input=spike_input, v_init=np.float32(0.25),
                                          raster_sample=1 if record else -1))
    return list(out)


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
            results = [_simulate(fn, net, x_k, xs, spike_input, ck, record=True)
                       for fn in (K.simulate_layered, K.simulate_layered_parallel,
                                  R.simulate_layered)]
            for a, b in zip(results[0], results[2]):
                np.testing.assert_allclose(a, b, rtol=SUM_RTOL, atol=SUM_ATOL)
            # threads change only which core runs a sample, never its result
            assert all(np.array_equal(a, b) for a, b in zip(results[0], results[1]))
            assert results[0][3].sum() > 0  # something spiked: the test is not vacuous


# ---------------------------------------------------------------- leaky integrate-and-fire

#: LIF time constants (ms) and step used by the LIF tests (Nengo's defaults, 1 ms steps): the
#: LIF of LIF layers.
TAU_RC, TAU_REF, DT = LIF_LAYER.tau_m, LIF_LAYER.t_ref, 1.0
PRM = np.array([1.0, TAU_RC, TAU_REF, DT])
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
    ref = np.array([0.0, 0.0, 1.5, 0.4], np.float32)
    cur = np.array([1.5, 2.0, 2.0, 1.0], np.float32)
    bias = np.array([0.5, 1.0, 0.0, 1.0], np.float32)
    for fn in (lif.layer_step, lif.layer_step_numpy):
        vv, rr, cc, spk = v.copy(), ref.copy(), cur.copy(), np.zeros(4, np.int32)
        n = fn(vv, rr, cc, bias, PRM, spk)
        assert n == 1 and spk[0] == 1
        np.testing.assert_allclose(
            vv, [2 * (1 - np.exp(-0.05)), 0.0, 0.0, 2 * (1 - np.exp(-0.03))], rtol=STATE_RTOL)
        t_c = TAU_RC * np.log(2.01 / 2.0)
        np.testing.assert_allclose(rr, [0.0, TAU_REF + t_c - DT, 0.5, 0.0],
                                   rtol=STATE_RTOL, atol=1e-6)
        assert not cc.any()


def test_lif_rate_matches_closed_form():
    """Constant drive J from v = 0 at t = 0: the continuous LIF first crosses threshold at
    tau_rc ln(J / (J - 1)) = ISI - tau_ref and then every ISI = 1000 / rate(J) ms, so in
    T steps it fires floor((T dt + tau_ref) / ISI) spikes; J <= 1 never fires."""
    j = np.array([0.5, 1.0, 1.001, 1.05, 1.5, 2.0, 5.0, 20.0, 100.0], np.float32)
    steps = 3000
    for fn in (lif.layer_step, lif.layer_step_numpy):
        v, ref = np.zeros_like(j), np.zeros_like(j)
        counts = np.zeros(j.size)
        spk = np.zeros(j.size, np.int32)
        for _ in range(steps):
            n = fn(v, ref, np.zeros_like(j), j, PRM, spk)
            counts[spk[:n]] += 1
        rate = LIF_LAYER.rate(j.astype(np.float64))
        with np.errstate(divide="ignore"):
            expected = np.where(rate > 0, np.floor((steps * DT + TAU_REF) * rate / 1000.0), 0)
        assert np.all(np.abs(counts - expected) <= LIF_COUNT_TOL), (counts, expected)
        assert counts[0] == counts[1] == 0 and counts[-1] > 1000  # 455 Hz for 3 s


#: float32 recursion of the synapse over 60 steps against its closed form in float64.
SYN_RTOL = 1e-5


def test_synapse_filter_closed_form():
    """Constant input I from s = 0: s_n = I (1 - a^n), a = exp(-dt / tau_s); one pulse I then
    nothing: s_n = (1 - a) a^n I, whose sum over all steps is I (the filter keeps the mean)."""
    a = np.exp(-DT / 5.0)
    for fn in (K.synapse_filter, R.synapse_filter):
        syn = np.zeros(2, np.float32)
        trace = []
        for k in range(60):
            cur = np.array([3.0, 1000.0 if k == 0 else 0.0], np.float32)
            fn(cur, syn, a)
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
    ck, sk, cr, sr = cur.copy(), syn.copy(), cur.copy(), syn.copy()
    K.synapse_filter(ck, sk, decay)
    R.synapse_filter(cr, sr, decay)
    np.testing.assert_allclose(ck, cr, rtol=STATE_RTOL, atol=1e-6)
    np.testing.assert_allclose(sk, sr, rtol=STATE_RTOL, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**31))
def test_lif_update_matches_twin(n, seed):
    rng = np.random.default_rng(seed)
    v = rng.uniform(-0.5, 1.0, n).astype(np.float32)
    ref = np.where(rng.random(n) < 0.4, rng.uniform(0, 3.0, n), 0).astype(np.float32)
    cur = rng.normal(0, 20, n).astype(np.float32)
    bias = rng.normal(1, 1, n).astype(np.float32)
    outs = []
    for fn in (lif.layer_step, lif.layer_step_numpy):
        a = [v.copy(), ref.copy(), cur.copy(), bias, PRM, np.zeros(n, np.int32)]
        outs.append((fn(*a), (a[0], a[1], a[2], a[5])))
    (nk, (vk, rk, ck, sk)), (nr, (vr, rr, cr, sr)) = outs
    assert nk == nr and sk[:nk].tolist() == sr[:nr].tolist()
    np.testing.assert_allclose(vk, vr, rtol=STATE_RTOL, atol=1e-7)
    np.testing.assert_allclose(rk, rr, rtol=STATE_RTOL, atol=1e-6)
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
    assert net.layers.table[:, K.L_NEURON].tolist() == [K.NEURON_LIF, K.NEURON_IF,
                                                        K.NEURON_LIF, K.NEURON_IF]
    assert net.layers.tau_syn.tolist() == [5.0, 0.0, 5.0, 0.0]
    x_k = np.ascontiguousarray(x[:, net.in_perm])
    for spike_input in (0, 1):
        xs = (rng.random((3, 30, x.shape[1])) < x_k[:, None]).astype(np.uint8) \
            if spike_input else np.zeros((0, 0, 0), np.uint8)
        results = [_simulate(fn, net, x_k, xs, spike_input, ck, record=True)
                   for fn in (K.simulate_layered, R.simulate_layered)]
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=SUM_RTOL, atol=SUM_ATOL)
        assert results[0][3][:, -1, 0].sum() > 0  # the LIF layer spiked: not vacuous
