"""ANN -> SNN conversion: normalisation equations, rates converging to the classic
activations as 1/T, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.params import init_params
from neurosim.convert import convert, layer_scales
from neurosim.errors import SpecError
from neurosim.rate import activations
from neurosim.specs import AvgPool2D, Conv2D, Dense, Flatten, Network

#: Slope of log(rate error) against log(T): quantisation of a rate over T steps leaves an error
#: of at most one spike, i.e. ~1/T (slope -1); the bounds allow for the deeper layers' error,
#: which mixes the quantisation of every layer below.
SLOPE_LOW, SLOPE_HIGH = -1.3, -0.7
#: float32 rescaling of weights (one multiply per weight) against float64 arithmetic.
SCALE_RTOL = 1e-5
#: Rate error at T = 1024, in units of the layer's maximal activation: a few spikes in 1024.
RATE_ATOL_T1024 = 5e-3


def _cnn(rng):
    spec = Network(name="cnn", input_shape=(1, 6, 6), layers=(
        Conv2D(filters=4, kernel_size=3, activation="relu"), AvgPool2D(pool_size=2), Flatten(),
        Dense(units=12, activation="relu"), Dense(units=3, activation="softmax")))
    params = init_params(spec, rng)
    for p in params:
        if "b" in p:
            p["b"][:] = rng.normal(0, 0.1, p["b"].shape)
    return spec, params


def test_normalisation_equations():
    """W_l <- W_l lambda_{l-1} / lambda_l, b_l <- b_l / lambda_l, lambda_0 = 1; "max" scales are
    the maxima of each layer's activations; pooling and flatten pass the scale through."""
    rng = np.random.default_rng(0)
    spec, params = _cnn(rng)
    x = rng.random((30, 1, 6, 6)).astype(np.float32)
    conv = convert(spec, params, x, method="max")
    acts = activations(spec, params, x)
    lam = conv.scales
    assert lam[0] == pytest.approx(float(acts[0].max()), rel=SCALE_RTOL)
    assert lam[1] == lam[2] == lam[0]
    assert lam[3] == pytest.approx(float(acts[3].max()), rel=SCALE_RTOL)
    np.testing.assert_allclose(conv.params[0]["W"], params[0]["W"] / lam[0], rtol=SCALE_RTOL)
    np.testing.assert_allclose(conv.params[3]["W"], params[3]["W"] * lam[2] / lam[3],
                               rtol=SCALE_RTOL)
    np.testing.assert_allclose(conv.params[3]["b"], params[3]["b"] / lam[3], rtol=SCALE_RTOL)
    # ReLU is positively homogeneous: the converted net's activations are the old ones / lambda
    new = activations(spec, conv.params, x)
    for i in (0, 1, 3):
        np.testing.assert_allclose(new[i], acts[i] / lam[i], rtol=1e-4, atol=1e-5)
    # the robust percentile is never above the maximum
    pct = layer_scales(spec, params, x, method="percentile", percentile=99.0)
    assert all(p <= m * (1 + SCALE_RTOL) for p, m in zip(pct, lam))
    assert layer_scales(spec, params, x, method="none") == (1.0,) * 5


def test_spike_rates_converge_to_activations_as_one_over_t():
    """Spike count / T of every hidden layer approaches the converted classic activation, with
    an error falling as ~1/T (slope fitted on a log-log plot)."""
    rng = np.random.default_rng(0)
    spec, params = _cnn(rng)
    x = rng.random((20, 1, 6, 6)).astype(np.float32)
    conv = convert(spec, params, x, method="max")  # rates <= 1 on these very samples
    acts = activations(spec, conv.params, x)
    steps = np.array([16, 32, 64, 128, 256, 512, 1024])
    errors = []
    for t in steps:
        r = conv.run(x, timesteps=int(t), record_counts=True, progress=False)
        errors.append([np.abs(r.neuron_counts[li] / t - acts[i].reshape(20, -1)).mean()
                       for li, i in enumerate((0, 1, 3))])
    errors = np.array(errors)
    for j in range(3):
        slope = np.polyfit(np.log(steps), np.log(errors[:, j]), 1)[0]
        assert SLOPE_LOW < slope < SLOPE_HIGH, (j, slope, errors[:, j])
    assert errors[-1].max() < RATE_ATOL_T1024


def test_converted_net_classifies_like_classic_given_time():
    """With the membrane readout, the spiking arg-max equals the classic one on all but a few
    samples after 400 steps of a random CNN."""
    from neurosim.rate import predict

    rng = np.random.default_rng(1)
    spec, params = _cnn(rng)
    x = rng.random((60, 1, 6, 6)).astype(np.float32)
    conv = convert(spec, params, x)
    r = conv.run(x, timesteps=400, readout="membrane", progress=False)
    agree = np.mean(r.predictions == predict(spec, params, x))
    # near-ties between random logits can flip; a correct engine agrees on >= 90%
    assert agree >= 0.9


def test_conversion_errors():
    rng = np.random.default_rng(0)
    spec, params = _cnn(rng)
    x = rng.random((5, 1, 6, 6)).astype(np.float32)
    with pytest.raises(SpecError, match="normalization"):
        convert(spec, params, x, method="median")
    bad = [dict(p) for p in params]
    bad[3] = {"W": np.zeros((12, 5), np.float32), "b": np.zeros(12, np.float32)}
    with pytest.raises(SpecError, match=r"layer 3 \(dense\): W: shape"):
        convert(spec, bad, x)
    sig = Network(name="sig", input_shape=(4,), layers=(
        Dense(units=3, activation="sigmoid"), Dense(units=2, activation="softmax")),
        source="models/sig.toml")
    with pytest.raises(SpecError, match=r"models/sig.toml: layer 0 \(dense\).*sigmoid.*relu"):
        convert(sig, init_params(sig), np.zeros((2, 4)))


#: Fraction of test samples on which the spiking LIF network must predict what the classic
#: one predicts at T = 1000 steps (1 s). A LIF layer under the constant analog input fires at
#: its exact rate: the disagreements come from rate quantisation (one spike in 1 s is 1 Hz)
#: on samples whose two best classes are nearly tied (about 98% agree in practice). A LIF
#: layer fed by spikes through the 5 ms synapse fires close to, not exactly at, r(mean J)
#: (about 95% agree in practice).
LIF_MIN_AGREEMENT = 0.9


@pytest.mark.parametrize("hidden", [("lif", "relu"), ("relu", "lif")])
def test_lif_hidden_layer_converts_and_agrees_with_classic(models_dir, hidden):
    """digits MLP with a LIF hidden layer (rate in Hz) and a ReLU one, trained a few epochs:
    a LIF layer keeps scale 1 and receives the classic current J (W lambda_prev), the layer
    after it gets W lambda_prev / lambda (lambda_prev = 1: Hz), and the spiking predictions
    agree with the classic ones."""
    from dataclasses import replace

    from neurosim.data import load_dataset
    from neurosim.rate import Trainer, predict
    from neurosim.specs import load_model

    ds = load_dataset("digits")
    base = load_model(models_dir / "digits-mlp.toml")
    spec = replace(base, name="digits-lif", layers=(
        Dense(units=64, activation=hidden[0]), Dense(units=32, activation=hidden[1]),
        Dense(units=10, activation="softmax")))
    params = Trainer(spec, seed=0, progress=False).fit(ds.x_train, ds.y_train,
                                                       epochs=5).params_
    conv = convert(spec, params, ds.x_train[:500])
    lif = hidden.index("lif")
    lam_prev = conv.scales[lif - 1] if lif else 1.0
    assert conv.scales[lif] == 1.0
    np.testing.assert_allclose(conv.params[lif]["W"], params[lif]["W"] * lam_prev,
                               rtol=SCALE_RTOL)
    np.testing.assert_allclose(conv.params[lif + 1]["W"],
                               params[lif + 1]["W"] / conv.scales[lif + 1], rtol=SCALE_RTOL)
    x = ds.x_test[:200]
    classic = predict(spec, params, x)
    for readout in ("membrane", "count"):
        r = conv.run(x, timesteps=1000, readout=readout, progress=False)
        assert np.mean(r.predictions == classic) >= LIF_MIN_AGREEMENT
        assert r.layer_spikes[:, lif].sum() > 0  # the LIF layer spiked
