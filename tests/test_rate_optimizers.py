"""Optimizers and schedules against hand-computed single steps (closed forms)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurosim.rate.optimizers import OPTIMIZERS, Adam, Momentum, get_optimizer, make_optimizer
from neurosim.rate.schedules import learning_rate
from neurosim.specs import Training

# float64 arithmetic on a few numbers: the closed forms agree to round-off.
STEP_RTOL = 1e-12

W0 = np.array([1.0, -2.0, 0.5])
G = np.array([0.5, 1.0, -4.0])
LR = 0.1


def run(name, steps=1, **kw):
    w = W0.copy()
    opt = OPTIMIZERS[name]([w], **kw)
    for _ in range(steps):
        opt.step([w], [G.copy()], LR)
    return w, opt


def test_sgd():
    np.testing.assert_allclose(run("sgd")[0], W0 - LR * G, rtol=STEP_RTOL)


def test_momentum_two_steps():
    # v1 = -lr g, w1 = w0 + v1; v2 = mu v1 - lr g, w2 = w1 + v2 = w0 - lr g (2 + mu)
    w, _ = run("momentum", 2, momentum=0.9)
    np.testing.assert_allclose(w, W0 - LR * G * 2.9, rtol=STEP_RTOL)


def test_nesterov_two_steps():
    # step 1: v1 = -lr g; w1 = w0 - mu*0 + (1+mu) v1
    # step 2: v2 = mu v1 - lr g = -lr g (1+mu); w2 = w1 - mu v1 + (1+mu) v2
    mu = 0.9
    v1 = -LR * G
    w1 = W0 + (1 + mu) * v1
    v2 = mu * v1 - LR * G
    w2 = w1 - mu * v1 + (1 + mu) * v2
    np.testing.assert_allclose(run("nesterov", 2, momentum=mu)[0], w2, rtol=STEP_RTOL)


def test_adagrad_two_steps():
    eps = 1e-8
    w1 = W0 - LR * G / (np.sqrt(G ** 2) + eps)
    w2 = w1 - LR * G / (np.sqrt(2 * G ** 2) + eps)
    np.testing.assert_allclose(run("adagrad", 2, eps=eps)[0], w2, rtol=STEP_RTOL)


def test_rmsprop_one_step():
    rho, eps = 0.9, 1e-8
    e = (1 - rho) * G ** 2
    np.testing.assert_allclose(run("rmsprop", rho=rho, eps=eps)[0],
                               W0 - LR * G / (np.sqrt(e) + eps), rtol=STEP_RTOL)


def test_adam_first_steps_follow_the_paper():
    b1, b2, eps = 0.9, 0.999, 1e-8
    # first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) ~ lr * sign(g)
    w1 = W0 - LR * G / (np.abs(G) + eps)
    np.testing.assert_allclose(run("adam", beta1=b1, beta2=b2, eps=eps)[0], w1,
                               rtol=STEP_RTOL)
    # three steps with the textbook formulas
    w, m, v = W0.copy(), 0 * W0, 0 * W0
    for t in range(1, 4):
        m = b1 * m + (1 - b1) * G
        v = b2 * v + (1 - b2) * G ** 2
        w = w - LR * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    got, opt = run("adam", 3, beta1=b1, beta2=b2, eps=eps)
    np.testing.assert_allclose(got, w, rtol=STEP_RTOL)
    assert opt.t == 3


def test_state_round_trip():
    _, opt = run("adam", 2)
    other = Adam([W0.copy()])
    other.load_state_arrays(opt.state_arrays())
    assert other.t == 2
    np.testing.assert_array_equal(other.state["m"][0], opt.state["m"][0])
    np.testing.assert_array_equal(other.state["v"][0], opt.state["v"][0])


def test_unknown_optimizer():
    with pytest.raises(ValueError, match=r"unknown 'lbfgs' \(known: sgd, momentum, "):
        get_optimizer("lbfgs")


def test_registry_matches_the_model_file_names():
    """One class per optimizer, registered under the name a model file uses: the names that
    ``Training`` accepts (``specs`` cannot import ``rate``, so it keeps its own tuple)."""
    from neurosim.specs.network import OPTIMIZERS as SPEC_NAMES

    assert tuple(OPTIMIZERS) == SPEC_NAMES
    for name, cls in OPTIMIZERS.items():
        assert cls.name == name and get_optimizer(name) is cls and cls.__doc__
    assert {n: c.STATE_NAMES for n, c in OPTIMIZERS.items()} == {
        "sgd": (), "momentum": ("v",), "nesterov": ("v",), "adagrad": ("G",),
        "rmsprop": ("E",), "adam": ("m", "v")}


def test_make_optimizer_reads_its_hyper_parameters_from_training():
    """Each optimizer takes the ``Training`` fields its rule uses, and only those."""
    w = [W0.copy()]
    mom = make_optimizer(Training(optimizer="momentum", momentum=0.5), w)
    assert type(mom) is Momentum and mom.momentum == 0.5 and not hasattr(mom, "beta1")
    adam = make_optimizer(Training(optimizer="adam", beta1=0.8, beta2=0.99, eps=1e-6), w)
    assert (adam.beta1, adam.beta2, adam.eps) == (0.8, 0.99, 1e-6)
    rms = make_optimizer(Training(optimizer="rmsprop", rho=0.7, eps=1e-5), w)
    assert (rms.rho, rms.eps) == (0.7, 1e-5)
    assert make_optimizer(Training(optimizer="adagrad", eps=1e-4), w).eps == 1e-4


def test_schedules():
    assert learning_rate(Training(learning_rate=0.1), 7) == 0.1
    step = Training(learning_rate=0.1, schedule="step", step_size=3, gamma=0.5)
    assert [learning_rate(step, e) for e in (0, 2, 3, 6)] == \
        pytest.approx([0.1, 0.1, 0.05, 0.025], rel=STEP_RTOL)
    cos = Training(learning_rate=0.2, schedule="cosine", epochs=4)
    assert [learning_rate(cos, e) for e in range(4)] == pytest.approx(
        [0.2 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)], rel=STEP_RTOL)
    assert learning_rate(cos, 0) == 0.2
