"""Recurrent spiking layers (``rlif``: LIF and adaptive LIF with recurrent weights): BPTT
gradients against finite differences of a smooth forward pass, the compiled kernels against
their NumPy twins, the training forward pass against the engine run spike for spike, the
conversion of a ReLU RNN (and its refusal for tanh RNNs and LSTMs), and the recurrent
comparison's operation counts by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurosim.bptt import objective_for
from neurosim.bptt import reference as BR
from neurosim.bptt import reference_recurrent as R
from neurosim.bptt.recurrent import RecurrentObjective, RecurrentSpikingNet, recurrent_backward
from neurosim.builder.params import init_params, load_params, save_params
from neurosim.builder.recurrent import lower_recurrent
from neurosim.compare_recurrent import classic_twin, compare_recurrent
from neurosim.convert_recurrent import check_convertible, convert_recurrent
from neurosim.data import Dataset
from neurosim.errors import NeurosimError, SpecError
from neurosim.kernels import bptt as B
from neurosim.kernels import recurrent as KR
from neurosim.rate import Trainer, predict
from neurosim.rate.losses import LOSSES
from neurosim.specs import loads_model
from neurosim.spike.recurrent import run_general, run_recurrent

#: Relative agreement of BPTT and central differences (step FD_STEP) in float64.
FD_RTOL = 1e-5
FD_STEP = 1e-6
#: The backward kernel and its twin accumulate in float64 and store float32; the recurrent
#: product is float32 BLAS in the kernel, float64 in the twin: rounding only.
TWIN_RTOL = 1e-4

RSNN = """
name = "tiny-rsnn"
input_shape = [5, 3]
[[layers]]
kind = "rlif"
units = 4
tau_m = 20.0
adaptation = {beta}
tau_adapt = 30.0
[[layers]]
kind = "dense"
units = 3
[training]
mode = "spiking"
timesteps = {timesteps}
"""

RNN = """
name = "tiny-rnn"
input_shape = [6, 3]
[[layers]]
kind = "{kind}"
units = 8
{extra}
[[layers]]
kind = "dense"
units = 3
activation = "softmax"
[training]
epochs = 30
learning_rate = 0.01
batch_size = 16
validation_fraction = 0.0
"""


def _rsnn(beta=1.5, timesteps=10, **training):
    spec = loads_model(RSNN.format(beta=beta, timesteps=timesteps))
    return dataclasses.replace(spec, training=dataclasses.replace(spec.training, **training))


def _params(spec, scale=2.0, dtype=np.float64, seed=2):
    params = [{k: (v * scale).astype(dtype) for k, v in p.items()}
              for p in init_params(spec, np.random.default_rng(seed))]
    params[0]["b"] += dtype(0.3)
    return params


@pytest.mark.parametrize("beta", [0.0, 1.5])
def test_gradients_match_finite_differences(beta):
    """With the smooth spike sigmoid(k x), the sigmoid surrogate and the reset kept, BPTT
    through the layer (adaptive threshold included) is the exact gradient of the smooth
    loss: every parameter entry against central differences, kernel and twin."""
    spec = _rsnn(beta)
    params = _params(spec)
    rng = np.random.default_rng(0)
    x = rng.random((4, 5, 3))
    y = np.array([0, 1, 2, 1])
    slope, hold = 2.0, 2
    alpha, rho = spec.layers[0].decays(1.0)

    def loss_of(p):
        return LOSSES["cross_entropy"](R.smooth_forward(spec, p, x, hold, slope)[1], y)[0]

    trace, z = R.smooth_forward(spec, params, x, hold, slope)
    _, dz = LOSSES["cross_entropy"](z, y)
    grad = KR.RecGrad(code=B.CODE_SIGMOID, slope=slope, keep_reset=1, window=0, alpha=alpha,
                      rho=rho, beta=beta)
    for kernel in (R.rlif_backward, KR.rlif_backward):
        grads = recurrent_backward(spec, params, x, trace, dz, grad, hold, kernel=kernel)
        for li, p in enumerate(params):
            for k, a in p.items():
                num = np.zeros_like(a)
                for idx in np.ndindex(a.shape):
                    old = a[idx]
                    a[idx] = old + FD_STEP
                    up = loss_of(params)
                    a[idx] = old - FD_STEP
                    down = loss_of(params)
                    a[idx] = old
                    num[idx] = (up - down) / (2 * FD_STEP)
                np.testing.assert_allclose(grads[li][k], num, rtol=FD_RTOL,
                                           atol=FD_RTOL * np.abs(num).max(),
                                           err_msg=f"layer {li} {k}")


def _relu_rnn(units=5):
    return loads_model(RNN.replace("units = 8", f"units = {units}")
                       .format(kind="rnn", extra='nonlinearity = "relu"'))


@pytest.mark.parametrize("case", ["adaptive", "converted"])
def test_forward_kernel_matches_twin(case):
    """The compiled sequence loop and its NumPy twin: the same records, counts, readout and
    operation counts, bit for bit (an adaptive layer held 2 steps per row; a converted ReLU
    RNN with recurrent delay 3 and the readout over the last row's window)."""
    rng = np.random.default_rng(1)
    if case == "adaptive":
        spec = _rsnn(1.5, timesteps=10)
        params = _params(spec, scale=3.0, dtype=np.float32)
        kw = dict(hold=2)
        x = rng.random((7, 5, 3)).astype(np.float32)
    else:
        spec = _relu_rnn()
        params = _params(spec, scale=1.5, dtype=np.float32)
        kw = dict(hold=3, delay=3, readout_from=15)
        x = rng.random((7, 6, 3)).astype(np.float32)
    x[:, :, 0] = 0.0  # zero inputs do no work
    net = RecurrentSpikingNet(spec, params, **kw)
    net.sync(params)
    a, b = net.forward(x), net.forward(x, kernel=R.forward)
    assert 0.05 < a.spikes.mean() < 0.95  # both regimes exercised
    if case == "converted":  # the converted RNN's membrane is bounded below by 0
        assert a.u.min() == 0.0
    for f in a._fields:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    # input MACs by hand: 2 non-zero features per row, fan-out = units, at every step
    assert np.all(a.ops[:, 0] == 2 * net.net.units * net.timesteps)
    assert np.all(a.ops[:, 2] == a.counts.sum(axis=1) * 3)  # readout SOPs: spikes x classes


@pytest.mark.parametrize("reset,surrogate,window", [("detach", "fast_sigmoid", 0),
                                                    ("keep", "triangle", 4)])
def test_backward_kernel_matches_twin(reset, surrogate, window):
    """The compiled adjoint and weight gradient from the spike lists against the twins, on
    binary records of the engine's forward pass (reset detached or kept, full or truncated
    BPTT)."""
    spec = _rsnn(1.5, timesteps=10, surrogate=surrogate, reset_gradient=reset,
                 bptt_window=window)
    params = _params(spec, scale=3.0, dtype=np.float32)
    x = np.random.default_rng(3).random((6, 5, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    obj = RecurrentObjective(spec)
    twin = RecurrentObjective(spec, forward_kernel=R.forward, neuron_kernels=R.rlif_backward)
    la, ga, _ = obj.loss_grads(params, x, y, training=True, rng=None)
    lb, gb, _ = twin.loss_grads(params, x, y, training=True, rng=None)
    assert la == lb
    for li in range(2):
        for k in ga[li]:
            np.testing.assert_allclose(ga[li][k], gb[li][k], rtol=TWIN_RTOL,
                                       atol=TWIN_RTOL * np.abs(gb[li][k]).max(),
                                       err_msg=f"{li} {k}")
    snet = obj.net(params)
    tr = snet.forward(x)
    dz = np.ones((6, 3), np.float32)
    g1 = recurrent_backward(spec, params, x, tr, dz, obj.rec_grad, 2)
    g2 = recurrent_backward(spec, params, x, tr, dz, obj.rec_grad, 2,
                            weight_kernel=BR.dense_weight_grad)
    np.testing.assert_allclose(g1[0]["U"], g2[0]["U"], rtol=1e-5, atol=1e-6)


def _toy_sequences(n=240, seed=0):
    """Which of 3 features carries a pulse decides the class; the pulse comes at a random
    row, early or late, so the layer must keep it until the readout."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.random((n, 6, 3)).astype(np.float32) * 0.2
    rows = rng.integers(0, 6, n)
    x[np.arange(n), rows, y] = 1.0
    return Dataset(name="toy", x_train=x[:180], y_train=y[:180], x_test=x[180:],
                   y_test=y[180:], input_shape=(6, 3), n_classes=3, description="toy")


def test_trained_net_runs_in_the_engine_as_in_training(tmp_path):
    """A tiny adaptive RSNN trained by BPTT: it learns (well above chance), its graph has the
    recurrent projection of delay 1, and the engine run of its saved parameters (what
    ``neurosim evaluate`` runs) gives the training forward pass's readout and predictions,
    bit for bit, with the spikes of the twin written from the equations."""
    ds = _toy_sequences()
    spec = loads_model(RSNN.format(beta=1.0, timesteps=6).replace("input_shape = [5, 3]",
                                                                  "input_shape = [6, 3]")
                       + "epochs = 40\nlearning_rate = 0.01\nbatch_size = 30\n"
                         "validation_fraction = 0.0\n")
    obj = objective_for(spec)
    assert isinstance(obj, RecurrentObjective)
    params = Trainer(spec, seed=0, progress=False, objective=obj).fit(
        ds.x_train, ds.y_train).params_
    save_params(tmp_path / "params.npz", spec, params)
    spec2, params2 = load_params(tmp_path / "params.npz")
    res = run_recurrent(spec2, params2, ds.x_test, progress=False)
    assert res.accuracy(ds.y_test) > 0.7  # chance: 1/3
    _, trace, z, pred = obj._run(params, ds.x_test, None, True)
    np.testing.assert_array_equal(res.predictions, pred)
    np.testing.assert_array_equal(res.output, trace.v_out)
    twin = run_recurrent(spec2, params2, ds.x_test, progress=False, kernel=R.forward)
    np.testing.assert_array_equal(twin.output, res.output)
    assert res.op_counts.layers[0].spikes == trace.spikes.sum() / len(ds.x_test)
    graph = lower_recurrent(spec2, params2)
    rec = [p for p in graph.projections if p.pre == p.post]
    assert len(rec) == 1 and rec[0].delay == 1 and rec[0].pre == "0:rlif"


def test_rlif_refused_in_classic_mode():
    spec = _rsnn()
    spec = dataclasses.replace(spec, training=dataclasses.replace(spec.training, mode="classic"))
    with pytest.raises(SpecError, match=r"layer 0 \(rlif\).*mode = \"spiking\""):
        Trainer(spec, progress=False).fit(np.zeros((4, 5, 3)), np.zeros(4, np.int64))


@pytest.mark.parametrize("kind,extra,match", [
    ("rnn", 'nonlinearity = "tanh"', r"layer 0 \(rnn\): nonlinearity: a tanh RNN does not "
                                     r"convert"),
    ("lstm", "", r"layer 0 \(lstm\): an LSTM does not convert")])
def test_conversion_refused_by_name(kind, extra, match):
    spec = loads_model(RNN.format(kind=kind, extra=extra))
    with pytest.raises(NeurosimError, match=match) as err:
        check_convertible(spec)
    assert "\n" not in str(err.value)


def test_relu_rnn_conversion_approaches_the_rnn():
    """A trained ReLU RNN converted to recurrent IF neurons: its spiking predictions agree
    with the RNN's better as each row is held longer (the rates of a row's window approach
    ``h_s`` within ``1 / hold``), and nearly always at 64 steps per row."""
    ds = _toy_sequences(seed=1)
    spec = loads_model(RNN.format(kind="rnn", extra='nonlinearity = "relu"'))
    params = Trainer(spec, seed=0, progress=False).fit(ds.x_train, ds.y_train).params_
    classic = predict(spec, params, ds.x_test)
    conv, lam = convert_recurrent(spec, params, ds.x_train)
    assert lam > 0
    agree = {}
    for hold in (1, 64):
        res = run_recurrent(spec, conv, ds.x_test, hold=hold, delay=hold,
                            readout_from=5 * hold, progress=False)
        agree[hold] = float(np.mean(res.predictions == classic))
    assert agree[64] >= 0.95
    assert agree[64] > agree[1]


def test_compare_recurrent_counts_by_hand():
    """MACs per step of the classic RNN: units (F + units) = 8 (3 + 8) = 88, times 6 steps,
    plus the dense readout 8 x 3 = 24: 552 per sample. The converted network's input MACs:
    F units per step; its recurrent SOPs: delivered spikes x units. A tanh RNN is refused by name,
    its classic figures still reported; a direct RSNN sits beside its classic twin."""
    ds = _toy_sequences()
    relu = loads_model(RNN.format(kind="rnn", extra='nonlinearity = "relu"'))
    rng = np.random.default_rng(0)
    params = _params(relu, scale=1.0, dtype=np.float32)
    comp = compare_recurrent(relu, params, ds, holds=(2,), samples=20, progress=False,
                             norm_samples=50, seed=rng.integers(1 << 30))
    assert comp.macs_per_step == 88
    assert comp.classic_ops.macs == 88 * 6 + 24
    (p,) = comp.convert
    assert p.timesteps == 12 and p.ops.layers[0].macs == 3 * 8 * 12
    # each delivered recurrent spike reaches 8 neurons; those of the last 2 steps
    # (the delay) are never delivered
    sops, spikes = p.ops.layers[0].sops * 20, p.ops.layers[0].spikes * 20
    assert round(sops) % 8 == 0 and 0 < sops <= 8 * spikes
    tanh = loads_model(RNN.format(kind="rnn", extra='nonlinearity = "tanh"'))
    comp = compare_recurrent(tanh, params, ds, holds=(2,), samples=20, progress=False)
    assert comp.convert == () and "nonlinearity" in comp.refusal
    assert comp.classic_ops.macs == 88 * 6 + 24
    rsnn = loads_model(RSNN.format(beta=1.0, timesteps=6).replace("input_shape = [5, 3]",
                                                                   "input_shape = [6, 3]"))
    twin = classic_twin(rsnn)
    assert twin.layers[0].kind == "rnn" and twin.layers[0].units == 4
    comp = compare_recurrent(twin, _params(twin, dtype=np.float32), ds, samples=20,
                             direct=(rsnn, _params(rsnn, dtype=np.float32)), holds=(1,),
                             progress=False)
    d = comp.direct
    assert d.timesteps == 6 and d.ops.layers[0].macs == 3 * 4 * 6
    assert d.to_dict()["ops"]["mode"] == "spiking"


def test_general_engine_runs_the_graph_spike_for_spike():
    """The lowered graph (DiscreteLIF population, recurrent dense projection of delay 1,
    membrane readout) on the general engine, the rows as the layer's per-step drive: the
    spikes of the sequence loop, every one, and its readout within float32 rounding (the
    loop sums currents in float32, the engine in float64). An adaptive layer is refused
    there by name."""
    spec = _rsnn(0.0, timesteps=10)
    params = _params(spec, scale=3.0, dtype=np.float32)
    x = np.random.default_rng(1).random((7, 5, 3)).astype(np.float32)
    net = RecurrentSpikingNet(spec, params, hold=2)
    net.sync(params)
    tr = net.forward(x)
    spikes, v_out = run_general(spec, params, x, hold=2)
    assert 0.05 < tr.spikes.mean() < 0.95
    np.testing.assert_array_equal(spikes, tr.spikes)
    np.testing.assert_allclose(v_out, tr.v_out, rtol=1e-5, atol=1e-5 * np.abs(tr.v_out).max())
    with pytest.raises(SpecError, match=r"layer 0 \(rlif\): adaptation"):
        run_general(_rsnn(1.5), params, x)


DIGITS_RSNN = """
name = "digits-{kind}"
input_shape = [8, 8]
[data]
dataset = "digits"
scaling = "unit"
[[layers]]
kind = "{kind}"
units = 16
{extra}
[[layers]]
kind = "dense"
units = 10
[training]
epochs = 2
batch_size = 64
{training}
"""


@pytest.mark.parametrize("kind,extra,training", [
    ("rnn", 'nonlinearity = "tanh"', ""),
    ("rlif", "adaptation = 1.0", 'mode = "spiking"\ntimesteps = 8')])
def test_compare_command_on_recurrent_models(tmp_path, kind, extra, training):
    """``neurosim compare`` on a tanh RNN: the classic figures (MACs per step 16 (8 + 16) =
    384, times 8 steps, plus the readout's 160) and the conversion refused by name; on an
    RSNN: the direct network beside its classic ReLU twin and the twin's conversion."""
    import argparse
    import json

    from neurosim.commands import compare as cmd

    model = tmp_path / f"{kind}.toml"
    model.write_text(DIGITS_RSNN.format(kind=kind, extra=extra, training=training))
    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers())
    out = tmp_path / "out"
    args = parser.parse_args(["compare", str(model), "--samples", "50", "--holds", "2",
                              "--out", str(out), "--no-progress"])
    assert args.func(args) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["classic"]["macs_per_step"] == 384
    assert rep["classic"]["ops"]["total"]["macs"] == 384 * 8 + 160
    if kind == "rnn":
        assert "layer 0 (rnn): nonlinearity" in rep["convert"]["refusal"]
        assert rep["convert"]["points"] == [] and rep["direct"] is None
    else:
        assert rep["classic_model"] == "digits-rlif-classic"
        assert rep["direct"]["timesteps"] == 8 and rep["convert"]["points"][0]["hold"] == 2
        assert (out / "direct" / "params.npz").is_file()
    assert "Classic recurrent layer: 384 MACs per step." in (out / "report.md").read_text()
