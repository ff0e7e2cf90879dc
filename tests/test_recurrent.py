"""Recurrent layers of the classic mode: BPTT gradients against central finite differences
(float64), the forward pass against its step-by-step definition, gradient clipping, op
counts counted by hand, and the spec's errors."""

from __future__ import annotations

import numpy as np
import pytest
from test_rate_gradients import GRAD_ATOL, GRAD_RTOL, check_all_grads, numeric_grad

from neurosim.builder.params import init_params
from neurosim.errors import SpecError
from neurosim.rate import classic_opcounts, forward, input_gradient
from neurosim.rate.trainer import clip_gradient
from neurosim.specs import Dense, Lstm, Network, Rnn, Training, loads_model


def params64(spec, seed=0):
    rng = np.random.default_rng(seed + 1)
    return [{k: v.astype(np.float64) + 0.1 * rng.standard_normal(v.shape) for k, v in p.items()}
            for p in init_params(spec, np.random.default_rng(seed))]


def seq_net(layer, *more, steps=5, features=3):
    return Network(name="r", input_shape=(steps, features), training=Training(),
                   layers=(layer, *more, Dense(units=3, activation="softmax")))


CASES = [
    Rnn(units=4, nonlinearity="tanh"),
    Rnn(units=4, nonlinearity="relu"),
    Lstm(units=3),
]


@pytest.mark.parametrize("layer", CASES, ids=["rnn-tanh", "rnn-relu", "lstm"])
@pytest.mark.parametrize("sequences", [False, True])
def test_bptt_gradients_match_finite_differences(layer, sequences):
    from dataclasses import replace

    from neurosim.specs import Flatten
    first = replace(layer, return_sequences=sequences)
    spec = seq_net(first, *((Flatten(),) if sequences else ()))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5, 3))
    y = rng.integers(0, 3, 4)
    check_all_grads(spec, x, y)


def test_stacked_recurrent_input_gradient():
    spec = seq_net(Lstm(units=3, return_sequences=True), Rnn(units=4))
    params = params64(spec)
    x = np.random.default_rng(3).standard_normal((2, 5, 3))
    g = input_gradient(spec, params, x, -1, 1)

    def f():
        return forward(spec, params, x)[:, 1].sum()
    np.testing.assert_allclose(g, numeric_grad(f, x), rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_forward_is_the_step_by_step_definition():
    """``h_t = tanh(W x_t + U h_{t-1} + b)``; LSTM by its textbook equations, one step at a
    time in plain Python loops."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 3))
    spec = seq_net(Rnn(units=2, return_sequences=True), Rnn(units=2))
    p = params64(spec)
    w, u, b = p[0]["W"], p[0]["U"], p[0]["b"]
    h = np.zeros((2, 2))
    ref = []
    for t in range(4):
        h = np.tanh(x[:, t] @ w.T + h @ u.T + b)
        ref.append(h)
    from neurosim.rate.recurrent import lstm_forward, rnn_forward
    out, _ = rnn_forward(spec.layers[0], p[0], x, False, None)
    np.testing.assert_allclose(out, np.stack(ref, axis=1), rtol=1e-12)

    layer = Lstm(units=2)
    lp = {"W": rng.standard_normal((8, 3)), "U": rng.standard_normal((8, 2)),
          "b": rng.standard_normal(8)}
    h, c = np.zeros((2, 2)), np.zeros((2, 2))
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t in range(4):
        z = x[:, t] @ lp["W"].T + h @ lp["U"].T + lp["b"]
        i, f, g, o = sig(z[:, :2]), sig(z[:, 2:4]), np.tanh(z[:, 4:6]), sig(z[:, 6:])
        c = f * c + i * g
        h = o * np.tanh(c)
    out, _ = lstm_forward(layer, lp, x, False, None)
    np.testing.assert_allclose(out, h, rtol=1e-12)


def test_lstm_forget_bias_and_orthogonal_recurrence():
    spec = seq_net(Lstm(units=3))
    p = init_params(spec)[0]
    np.testing.assert_array_equal(p["b"], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    for k in range(4):  # every gate block of U is orthogonal
        q = p["U"][3 * k:3 * k + 3].astype(np.float64)
        np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-6)


def test_clip_gradient_bounds_the_global_norm():
    g = np.array([3.0, 4.0], np.float32)  # norm 5
    assert clip_gradient(g, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(g, [3.0, 4.0])
    assert clip_gradient(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-6)


def test_opcounts_by_hand():
    """T = 5 steps, F = 3 inputs: rnn of 4 units 5 * 4 * (3 + 4) = 140 MACs per sample, lstm
    of 2 units 5 * 4 * 2 * (3 + 2) = 200. Effective: one non-zero input value per sample and
    (with non-zero biases) T - 1 = 4 non-zero fed-back states of ``units`` values each:
    ``gates * units * (1 + 4 * units)``."""
    x = np.zeros((2, 5, 3))
    x[:, 2, 1] = 1.0
    for layer, macs, eff in ((Rnn(units=4), 140, 4 * (1 + 4 * 4)),
                             (Lstm(units=2), 200, 8 * (1 + 4 * 2))):
        spec = seq_net(layer)
        params = params64(spec)
        ops = classic_opcounts(spec, params, x)
        first = ops.layers[0]
        assert first.macs == macs
        assert layer.macs_per_step((5, 3)) * 5 == macs
        assert first.effective_macs == pytest.approx(eff)
        assert first.neurons == layer.units


def test_spec_errors_name_the_layer_and_field():
    text = '''
name = "s"
input_shape = [%s]
[[layers]]
kind = "%s"
units = 4
%s
[[layers]]
kind = "dense"
units = 2
activation = "softmax"
'''
    with pytest.raises(SpecError, match=r"layer 0 \(rnn\): nonlinearity: must be one of"):
        loads_model(text % ("5, 3", "rnn", 'nonlinearity = "sigmoid"'), "m.toml")
    with pytest.raises(SpecError, match=r"m.toml: layer 0 \(lstm\): input shape \(15,\) is not "
                                        r"a sequence"):
        loads_model(text % ("15", "lstm", ""), "m.toml")
    spec = loads_model(text % ("5, 3", "lstm", "return_sequences = false"), "m.toml")
    assert spec.shapes == [(5, 3), (4,), (2,)]
