"""Direct spiking training (BPTT): gradients against finite differences of a smooth forward
pass, the compiled kernels against their NumPy twins, the training forward pass against the
engine spike for spike, and two tiny tasks (one that needs time, one that needs depth)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurosim.bptt import SpikingNet, SpikingObjective, reference
from neurosim.bptt.backward import backward, readout_logits, readout_loss
from neurosim.bptt.surrogates import SURROGATES
from neurosim.builder.params import init_params
from neurosim.kernels import bptt as B
from neurosim.rate import Trainer
from neurosim.specs import loads_model
from neurosim.spike.layered import run_spiking

#: Relative agreement of BPTT and central differences (step FD_STEP) in float64: the
#: truncation error of the central difference, O(h^2) times the third derivative.
FD_RTOL = 1e-5
FD_STEP = 1e-6
#: LIF spikes carry 1000 / dt into the next layer: its weights act 1000 times amplified, so a
#: step small enough for the truncation error leaves a round-off of eps L / h ~ 1e-7 against
#: gradients ~ 1e-2, a relative error up to ~1e-5: checked to 1e-4.
LIF_FD_RTOL = 1e-4
#: The backward kernel computes in float64 and stores float32 (the twin stores its float64
#: result into the same float32 array): they may differ by rounding only.
TWIN_RTOL = 1e-6

CNN = """
name = "tiny-cnn"
input_shape = [1, 6, 6]
[[layers]]
kind = "conv2d"
filters = 2
kernel_size = 3
padding = 1
activation = "relu"
[[layers]]
kind = "avgpool2d"
pool_size = 2
[[layers]]
kind = "flatten"
[[layers]]
kind = "dropout"
rate = 0.3
[[layers]]
kind = "dense"
units = 5
activation = "relu"
[[layers]]
kind = "dense"
units = 3
activation = "softmax"
"""


def _spec(text=CNN, **training):
    spec = loads_model(text)
    return dataclasses.replace(spec, training=dataclasses.replace(spec.training, **training))


def _params(spec, scale=2.0, dtype=np.float64, seed=1):
    """He weights times ``scale`` (enough drive for every layer to fire), random biases."""
    rng = np.random.default_rng(seed)
    params = init_params(spec, rng)
    for p in params:
        for k in p:
            p[k] = (p[k] * scale if k == "W" else rng.normal(0.1, 0.1, p[k].shape)).astype(dtype)
    return params


def _check_finite_differences(loss_of, params, grads, rng, per_array, rtol, atol, relative):
    """Central differences of ``loss_of(params)[0][0]`` at ``per_array`` random entries of
    every parameter array against ``grads``; the step is FD_STEP, times the entry's size
    (at least 1e-3) when ``relative``."""
    for i, p in enumerate(params):
        for k, a in p.items():
            flat = a.ravel()
            for j in rng.choice(flat.size, size=min(flat.size, per_array), replace=False):
                old = flat[j]
                h = FD_STEP * max(abs(old), 1e-3) if relative else FD_STEP
                flat[j] = old + h
                up = loss_of(params)[0][0]
                flat[j] = old - h
                down = loss_of(params)[0][0]
                flat[j] = old
                fd = (up - down) / (2 * h)
                assert grads[i][k].ravel()[j] == pytest.approx(fd, rel=rtol, abs=atol), (i, k, j)


@pytest.mark.parametrize("readout,loss,encoder", [("membrane", "cross_entropy", "current"),
                                                  ("count", "cross_entropy", "poisson"),
                                                  ("count", "mse", "current"),
                                                  ("membrane", "mse", "poisson")])
def test_smooth_bptt_equals_finite_differences(readout, loss, encoder):
    """With the step replaced by a sigmoid (slope 5), the reset kept in the gradient and
    dropout masks fixed, BPTT through every layer kind (conv2d, avgpool2d, flatten, dropout,
    dense) is the exact gradient of the loss: it equals central differences."""
    spec = _spec(readout=readout, loss=loss, timesteps=4)
    params = _params(spec)
    rng = np.random.default_rng(2)
    n, slope = 3, 5.0
    x = rng.random((n, 36))
    snet = SpikingNet(spec, params, readout=readout)
    spikes = (rng.random((n, 4, 36)) < x[:, None]).astype(np.uint8) if encoder != "current" \
        else None
    masks = [None if m is None else m.astype(np.float64) for m in snet.draw_masks(n, rng)]
    assert masks[2] is not None  # the dropout in front of the first dense layer
    y = np.array([0, 2, 1])

    def loss_of(p):
        recs = reference.smooth_forward(snet, p, x, spikes, 4, masks, slope)
        z, _ = readout_logits(recs[-1], readout, 4)
        return readout_loss(loss, z, y, readout, 4), recs

    (_, dz), recs = loss_of(params)
    grad = B.NeuronGrad(thr=1.0, code=B.CODE_SIGMOID, slope=slope, keep_reset=1, window=0,
                        syn_decay=0.0)
    grads = backward(snet, params, recs, x, spikes, dz, masks, grad,
                     neuron_kernels=(reference.if_backward, reference.lif_backward))
    _check_finite_differences(loss_of, params, grads, rng, 6, FD_RTOL, 1e-9, relative=False)


@pytest.mark.parametrize("code", sorted(c.code for c in SURROGATES.values()))
def test_backward_kernel_equals_twin(code):
    rng = np.random.default_rng(code)
    n, t, m = 3, 7, 11
    g = rng.normal(size=(n, t, m)).astype(np.float32)
    u = rng.normal(1.0, 0.5, size=(n, t, m)).astype(np.float32)
    s = (u >= 1).astype(np.float32)
    for keep in (0, 1):
        for window in (0, 3):
            grad = B.NeuronGrad(thr=1.0, code=code, slope=3.0, keep_reset=keep, window=window,
                                  syn_decay=0.0)
            got, want = np.empty_like(g), np.empty_like(g)
            B.if_backward(g, u, s, grad, got)
            reference.if_backward(g, u, s, grad, want)
            np.testing.assert_allclose(got, want, rtol=TWIN_RTOL, atol=1e-7)


def test_surrogates_peak_at_threshold_with_their_slope():
    """Each surrogate at x = 0: 1 (fast sigmoid), k / 2 (arctan), k (triangle), k / 4
    (sigmoid); each falls off away from the threshold."""
    peaks = {"fast_sigmoid": 1.0, "arctan": 1.5, "triangle": 3.0, "sigmoid": 0.75}
    for name, cls in SURROGATES.items():
        sur = cls(3.0)
        assert sur.derivative(np.array(0.0)) == pytest.approx(peaks[name])
        assert sur.derivative(np.array(0.2)) < peaks[name]


@pytest.mark.parametrize("encoder", ["current", "poisson"])
def test_forward_kernel_equals_twin(encoder):
    spec = _spec()
    params = _params(spec, dtype=np.float32)
    snet = SpikingNet(spec, params, readout="count")
    rng = np.random.default_rng(3)
    x = rng.random((4, 36)).astype(np.float32)
    spikes = snet.encode(encoder, x, 6, rng)[1]
    masks = snet.draw_masks(4, rng)
    for m in (None, masks):
        got = snet.forward(x, spikes, 6, m)
        want = snet.forward(x, spikes, 6, m, kernel=reference.forward_layered)
        for a, b in zip(got[0], want[0]):
            np.testing.assert_array_equal(a.u, b.u)
            np.testing.assert_array_equal(a.spikes, b.spikes)
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[2], want[2])
        assert all(r.spikes.sum() > 0 for r in got[0])  # every layer fires


@pytest.mark.parametrize("readout", ["membrane", "count"])
def test_trained_forward_spikes_equal_engine_spikes(readout):
    """After a few training steps, the training forward pass (no dropout) and the engine's
    fast path and general engine give the same spikes, neuron by neuron, in every layer."""
    spec = _spec(readout=readout, timesteps=6, learning_rate=0.01, epochs=2, batch_size=8)
    rng = np.random.default_rng(4)
    x = rng.random((40, 1, 6, 6)).astype(np.float32)
    y = (x.reshape(40, -1)[:, :12].sum(1) > 6).astype(np.int64) + (x[:, 0, 0, 0] > 0.5)
    trainer = Trainer(spec, progress=False, objective=SpikingObjective(spec)).fit(x, y)
    params = trainer.params_
    snet = SpikingNet(spec, params, readout=readout)
    records, _, _ = snet.forward(x[:6].reshape(6, -1), None, 6)
    for engine in ("fast", "general"):
        res = run_spiking(spec, params, x[:6], timesteps=6, readout=readout, record_counts=True,
                          record_sample=2, progress=False, engine=engine)
        for li, rec in enumerate(records):
            np.testing.assert_array_equal(rec.spikes.sum(1), res.neuron_counts[li])
            np.testing.assert_array_equal(rec.spikes[2].astype(bool), res.raster[li])
        assert sum(r.spikes.sum() for r in records) > 0


TIMING = """
name = "timing-xor"
input_shape = [2]
[[layers]]
kind = "dense"
units = 24
activation = "relu"
[[layers]]
kind = "dense"
units = 2
activation = "softmax"
[training]
learning_rate = 0.02
batch_size = 16
epochs = 60
validation_fraction = 0.0
mode = "spiking"
timesteps = 8
encoder = "latency"
"""


def test_learns_spike_timing_xor():
    """Each input spikes once, early (step 0 or 1) or late (step 4 or 5); the class is whether
    the two spikes are at different times. Every class has the same spike counts, so only the
    timing tells them apart."""
    rng = np.random.default_rng(5)
    late = rng.random((128, 2)) < 0.5
    x = np.where(late, rng.choice([3 / 7, 2 / 7], (128, 2)), rng.choice([1.0, 6 / 7], (128, 2)))
    y = (late[:, 0] != late[:, 1]).astype(np.int64)
    spec = loads_model(TIMING)
    obj = SpikingObjective(spec)
    trainer = Trainer(spec, progress=False, objective=obj).fit(x, y)
    _, acc = obj.evaluate_loss(trainer.params_, obj.prepare(trainer.params_, x), y)
    assert acc == 1.0


def test_learns_a_task_that_needs_depth():
    """XOR of two analog inputs (current input): no single layer separates it; the hidden
    layer does."""
    spec = _spec(TIMING.replace('encoder = "latency"', 'encoder = "current"'))
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 16, np.float32)
    y = (x[:, 0] != x[:, 1]).astype(np.int64)
    obj = SpikingObjective(spec)
    trainer = Trainer(spec, progress=False, objective=obj).fit(x, y)
    _, acc = obj.evaluate_loss(trainer.params_, obj.prepare(trainer.params_, x), y)
    assert acc == 1.0


def test_cli_trains_spiking_then_engine_evaluates_and_resume_is_bit_identical(tmp_path,
                                                                              models_dir,
                                                                              monkeypatch):
    """``neurosim train --mode spiking``: the test accuracy in metrics.json is the engine's,
    ``neurosim evaluate`` reproduces it from the saved run, and 1 epoch + ``--resume`` to 2
    gives the same parameters as 2 epochs straight."""
    import json

    from neurosim import cli
    from neurosim.builder.params import load_params

    monkeypatch.setattr(cli, "COMMANDS", ("train", "evaluate"))
    model = str(models_dir / "digits-mlp.toml")
    common = ["--mode", "spiking", "--timesteps", "4", "--surrogate", "arctan", "--no-progress"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["train", model, "--epochs", "2", "--out", str(a), *common]) == 0
    m = json.loads((a / "metrics.json").read_text())
    assert m["mode"] == "spiking" and m["opcounts_per_sample"]["mode"] == "spiking"
    assert m["test_accuracy"] > 0.5  # chance is 0.1
    assert cli.main(["evaluate", str(a)]) == 0
    ev = json.loads((a / "evaluation.json").read_text())
    assert ev["test_accuracy"] == m["test_accuracy"]
    assert cli.main(["train", model, "--epochs", "1", "--out", str(b), *common]) == 0
    assert cli.main(["train", model, "--epochs", "2", "--out", str(b), "--resume",
                     *common]) == 0
    spec, pa = load_params(a / "params.npz")
    _, pb = load_params(b / "params.npz")
    assert spec.training.mode == "spiking" and spec.training.surrogate == "arctan"
    for x, y in zip(pa, pb):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])


@pytest.mark.parametrize("encoder", ["current", "poisson"])
def test_sparse_weight_gradients_equal_dense_products(encoder):
    """The weight gradients accumulated from the spike lists (compiled kernels, and their
    twins) equal the classic im2col + BLAS route on the same binary spikes (float32: both
    sum the same products, in different orders)."""
    spec = _spec(readout="count")
    params = _params(spec, dtype=np.float32)
    snet = SpikingNet(spec, params, readout="count")
    rng = np.random.default_rng(6)
    x = rng.random((5, 36)).astype(np.float32)
    spikes = snet.encode(encoder, x, 5, rng)[1]
    masks = snet.draw_masks(5, rng)
    records, _, _ = snet.forward(x, spikes, 5, masks)
    z, _ = readout_logits(records[-1], "count", 5)
    _, dz = readout_loss("cross_entropy", z, np.array([0, 1, 2, 0, 1]), "count", 5)
    grad = B.NeuronGrad(thr=1.0, code=B.CODE_FAST_SIGMOID, slope=25.0, keep_reset=0, window=0,
                        syn_decay=0.0)
    sparse = backward(snet, params, records, x, spikes, dz, masks, grad)
    twins = backward(snet, params, records, x, spikes, dz, masks, grad,
                     weight_kernels=(reference.dense_weight_grad, reference.conv_weight_grad))
    as_float = [dataclasses.replace(r, spikes=r.spikes.astype(np.float32)) for r in records]
    dense = backward(snet, params, as_float, x,
                     None if spikes is None else spikes.astype(np.float32), dz, masks, grad)
    for a, b, c in zip(sparse, twins, dense):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(a[k], c[k], rtol=1e-5, atol=1e-6)


LIF_MLP = """
name = "tiny-lif"
input_shape = [6]
[[layers]]
kind = "dense"
units = 5
activation = "lif"
[[layers]]
kind = "dropout"
rate = 0.2
[[layers]]
kind = "dense"
units = 4
activation = "lif"
[[layers]]
kind = "dense"
units = 3
activation = "softmax"
"""


@pytest.mark.parametrize("readout,encoder", [("membrane", "current"), ("count", "poisson")])
def test_smooth_bptt_of_lif_layers_equals_finite_differences(readout, encoder):
    """LIF layers (exact decay, reset to 0, 5 ms synapse on spike input, spikes of amplitude
    1000 / dt into the next layer), smooth forward without refractoriness: BPTT equals central
    differences."""
    spec = _spec(LIF_MLP, readout=readout, timesteps=5)
    rng = np.random.default_rng(7)
    params = _params(spec, scale=1.0, seed=7)
    for i, s in ((0, 3.0), (2, 2e-3), (3, 2e-3)):  # drives near threshold 1 (1000 / dt spikes)
        params[i]["W"] *= s
        params[i]["b"] += 1.0 if i < 3 else 0.0
    n, slope = 3, 5.0
    x = rng.random((n, 6))
    snet = SpikingNet(spec, params, readout=readout)
    assert snet.lif[:2] == (True, True) and snet.syn_decay[1] == pytest.approx(np.exp(-0.2))
    spikes = (rng.random((n, 5, 6)) < x[:, None]).astype(np.uint8) if encoder != "current" \
        else None
    masks = [None if m is None else m.astype(np.float64) for m in snet.draw_masks(n, rng)]
    y = np.array([0, 2, 1])

    def loss_of(p):
        recs = reference.smooth_forward(snet, p, x, spikes, 5, masks, slope)
        z, _ = readout_logits(recs[-1], readout, 5)
        return readout_loss("cross_entropy", z, y, readout, 5), recs

    (_, dz), recs = loss_of(params)
    grad = B.NeuronGrad(thr=1.0, code=B.CODE_SIGMOID, slope=slope, keep_reset=1, window=0,
                        syn_decay=0.0)
    grads = backward(snet, params, recs, x, spikes, dz, masks, grad,
                     neuron_kernels=(reference.if_backward, reference.lif_backward))
    _check_finite_differences(loss_of, params, grads, rng, 5, LIF_FD_RTOL, 1e-7, relative=True)


def test_lif_backward_kernel_equals_twin():
    rng = np.random.default_rng(8)
    g = rng.normal(size=(2, 6, 9)).astype(np.float32)
    u = rng.normal(1.0, 0.5, size=(2, 6, 9)).astype(np.float32)
    s = (u >= 1).astype(np.float32)
    gain = rng.choice([np.exp(-0.05), 1.0, 0.98], size=u.shape).astype(np.float32)
    for keep in (0, 1):
        grad = B.NeuronGrad(thr=1.0, code=B.CODE_FAST_SIGMOID, slope=10.0, keep_reset=keep,
                            window=0, syn_decay=0.8)
        out = [np.empty_like(g) for _ in range(4)]
        B.lif_backward(g, u, s, gain, grad, out[0], out[1])
        reference.lif_backward(g, u, s, gain, grad, out[2], out[3])
        np.testing.assert_allclose(out[0], out[2], rtol=TWIN_RTOL, atol=1e-7)
        np.testing.assert_allclose(out[1], out[3], rtol=TWIN_RTOL, atol=1e-7)


@pytest.mark.parametrize("encoder", ["current", "poisson"])
def test_lif_forward_kernel_equals_twin_and_engine(encoder):
    """LIF layers (refractory, interpolated reset, synapse): the recording forward kernel,
    its twin and the engine's fast path give the same spikes."""
    spec = _spec(LIF_MLP, readout="count")
    params = _params(spec, scale=1.0, dtype=np.float32, seed=9)
    params[0]["W"] *= 4.0
    params[0]["b"] += 1.0
    for i in (2, 3):
        params[i]["W"] *= 0.03  # spikes carry 1000 / dt
    snet = SpikingNet(spec, params, readout="count")
    rng = np.random.default_rng(9)
    x = rng.random((4, 6)).astype(np.float32)
    spikes = snet.encode(encoder, x, 12, rng)[1]
    masks = snet.draw_masks(4, rng)
    got = snet.forward(x, spikes, 12, masks)
    want = snet.forward(x, spikes, 12, masks, kernel=reference.forward_layered)
    plain = snet.forward(x, spikes, 12)
    for a, b in zip(got[0], want[0]):
        np.testing.assert_array_equal(a.spikes, b.spikes)
        np.testing.assert_allclose(a.u, b.u, rtol=1e-6)
        if a.gain is not None:
            np.testing.assert_allclose(a.gain, b.gain, rtol=1e-6)
    from neurosim.spike.layered import run_layered
    res = run_layered(snet.net, x, timesteps=12, encoder=encoder, readout="count",
                      record_counts=True, progress=False, rng=np.random.default_rng(10))
    if spikes is None:  # the engine draws its own Poisson spikes: compare analog input only
        for li, rec in enumerate(plain[0]):
            np.testing.assert_array_equal(rec.spikes.sum(1), res.neuron_counts[li])
    assert all(r.spikes.sum() > 0 for r in plain[0])
