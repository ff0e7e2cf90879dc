"""Classic-mode gradients against central finite differences, in float64.

Every layer kind and activation and both losses are checked through ``loss_and_grads`` (all
parameters) and ``input_gradient`` (the input), on small networks.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.params import init_params
from neurosim.neurons.if_ import IF_LAYER
from neurosim.neurons.lif import LIF_LAYER
from neurosim.rate import input_gradient, loss_and_grads
from neurosim.rate.activations import (
    ACTIVATION_OPS,
    SOFT_LIF_SIGMA,
    soft_lif_derivative,
    soft_lif_rate,
)
from neurosim.rate.layers import col2im, im2col
from neurosim.rate.losses import mse, softmax_cross_entropy
from neurosim.specs import AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Network, Training
from neurosim.specs.activations import LIF_T_REF, LIF_TAU_M, get_activation, lif_rate

# Central differences in float64 with step 1e-6 have truncation error ~h^2 * f''' ~ 1e-12 and
# round-off ~eps / h ~ 1e-10 relative to the loss scale; 1e-6 relative error is far above
# both and far below any real gradient bug (which gives O(1) relative errors).
FD_STEP = 1e-6
GRAD_RTOL = 1e-6
GRAD_ATOL = 1e-8
# Soft-LIF vs exact LIF derivative above threshold (see test_soft_lif_derivative).
SOFT_LIF_RTOL = 1e-5


def numeric_grad(f, a):
    """Central differences of the scalar ``f()`` with respect to every entry of ``a``."""
    g = np.zeros_like(a)
    it = np.nditer(a, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = a[i]
        a[i] = old + FD_STEP
        fp = f()
        a[i] = old - FD_STEP
        fm = f()
        a[i] = old
        g[i] = (fp - fm) / (2 * FD_STEP)
    return g


def params64(spec, seed=0):
    params = init_params(spec, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    out = []
    for p in params:
        # non-zero biases so that their gradients and the relu kinks are exercised
        out.append({k: (v.astype(np.float64) + (0.1 * rng.standard_normal(v.shape)
                                                if k == "b" else 0)) for k, v in p.items()})
    return out


def check_all_grads(spec, x, y):
    params = params64(spec)
    _, grads = loss_and_grads(spec, params, x, y)
    for i, p in enumerate(params):
        for k, a in p.items():
            num = numeric_grad(lambda: loss_and_grads(spec, params, x, y)[0], a)
            np.testing.assert_allclose(grads[i][k], num, rtol=GRAD_RTOL, atol=GRAD_ATOL,
                                       err_msg=f"layer {i} {k}")


def mlp(activation, loss="cross_entropy", out="softmax", l1=0.0, l2=0.0):
    return Network(name="m", input_shape=(5,), training=Training(loss=loss, l1=l1, l2=l2),
                   layers=(Dense(units=4, activation=activation), Dropout(rate=0.3),
                           Dense(units=3, activation=out)))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_dense_gradients_match_finite_differences(activation, loss):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 3, 6)
    check_all_grads(mlp(activation, loss), x, y)


@pytest.mark.parametrize("out", ["identity", "sigmoid", "softmax"])
def test_output_activations_with_both_losses(out):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5))
    y = rng.integers(0, 3, 4)
    for loss in ("cross_entropy", "mse"):
        check_all_grads(mlp("tanh", loss, out), x, y)


def test_l1_l2_terms_are_in_loss_and_gradient():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 5))
    y = rng.integers(0, 3, 4)
    check_all_grads(mlp("relu", l1=0.01, l2=0.1), x, y)
    spec = mlp("relu", l1=0.01, l2=0.1)
    params = params64(spec)
    base = loss_and_grads(mlp("relu"), params, x, y)[0]
    reg = sum(0.01 * np.abs(p["W"]).sum() + 0.05 * (p["W"] ** 2).sum() for p in params if p)
    assert loss_and_grads(spec, params, x, y)[0] == pytest.approx(base + reg, rel=1e-12)


@pytest.mark.parametrize("pool", [AvgPool2D(pool_size=2), MaxPool2D(pool_size=2),
                                  AvgPool2D(pool_size=3, stride=2),
                                  MaxPool2D(pool_size=(2, 3), stride=1)])
def test_conv_and_pool_gradients_match_finite_differences(pool):
    spec = Network(name="c", input_shape=(2, 7, 7), layers=(
        Conv2D(filters=3, kernel_size=3, padding=1, activation="tanh"), pool,
        Conv2D(filters=2, kernel_size=(2, 3), stride=(1, 2), activation="relu"),
        Flatten(), Dense(units=3, activation="softmax")))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 7, 7))
    y = rng.integers(0, 3, 3)
    check_all_grads(spec, x, y)


def test_input_gradient_matches_finite_differences():
    spec = Network(name="c", input_shape=(1, 6, 6), layers=(
        Conv2D(filters=2, kernel_size=3, stride=2, padding=2, activation="sigmoid"),
        AvgPool2D(pool_size=2), Flatten(), Dense(units=4, activation="tanh"),
        Dense(units=2, activation="softmax")))
    params = params64(spec)
    x = np.random.default_rng(6).standard_normal((2, 1, 6, 6))
    from neurosim.rate import activations
    for layer, unit in ((0, (1, 2, 1)), (3, 2), (-1, 1)):
        g = input_gradient(spec, params, x, layer, unit)
        flat = np.ravel_multi_index(unit, spec.shapes[layer % 5 + 1]) \
            if isinstance(unit, tuple) else unit

        def f(layer=layer, flat=flat):
            return activations(spec, params, x)[layer].reshape(2, -1)[:, flat].sum()
        np.testing.assert_allclose(g, numeric_grad(f, x), rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_im2col_and_col2im_are_adjoint():
    # <im2col(x), c> == <x, col2im(c)> for every x, c: col2im is the transpose of im2col
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 6, 5))
    cols, hw = im2col(x, (3, 2), (2, 1), (1, 2))
    c = rng.standard_normal(cols.shape)
    back = col2im(c, x.shape, (3, 2), (2, 1), (1, 2), hw)
    assert np.vdot(cols, c) == pytest.approx(np.vdot(x, back), rel=1e-12)


def test_conv_matches_direct_sum():
    # the definition: z[n,f,i,j] = b[f] + sum_{c,u,v} W[f,c,u,v] x_pad[n,c,i s+u,j s+v]
    from neurosim.rate.layers import conv2d_forward
    layer = Conv2D(filters=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 5, 4))
    w, b = rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(2)
    z, _ = conv2d_forward(layer, {"W": w, "b": b}, x, False, None)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    ref = np.zeros((2, 2, 3, 3))
    for i in range(3):
        for j in range(3):
            ref[:, :, i, j] = np.einsum("ncuv,fcuv->nf", xp[:, :, 2 * i:2 * i + 3, j:j + 2], w) + b
    np.testing.assert_allclose(z, ref, rtol=1e-12)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "identity", "softmax", "lif"])
def test_activation_forward_is_the_spec_rate_function(name):
    z = np.linspace(-3, 4, 36).reshape(4, 9)
    np.testing.assert_allclose(ACTIVATION_OPS[name][0](z), get_activation(name).rate(z),
                               rtol=1e-12)


def test_lif_activation_is_the_lif_layer_rate():
    """The ``lif`` activation (spec and classic forward) is LIF_LAYER's rate function, the
    closed form ``1000 / (t_ref + tau_m ln(1 + 1 / (j - 1)))`` Hz with tau_m = 20 ms,
    t_ref = 2 ms, 0 for j <= 1; float32 in, float32 out."""
    assert (LIF_LAYER.tau_m, LIF_LAYER.t_ref) == (LIF_TAU_M, LIF_T_REF) == (20.0, 2.0)
    j = np.array([-1.0, 0.5, 1.0, 1.0 + 1e-9, 1.01, 1.5, 2.0, 3.0, 10.0, 100.0])
    above = j > 1
    closed = np.zeros_like(j)
    closed[above] = 1000.0 / (2.0 + 20.0 * np.log(j[above] / (j[above] - 1.0)))
    act = get_activation("lif")
    assert act.twin is LIF_LAYER and act.spiking_twin == "lif"
    for rate in (act.rate(j), lif_rate(j), LIF_LAYER.rate(j), ACTIVATION_OPS["lif"][0](j)):
        np.testing.assert_allclose(rate, closed, rtol=1e-12, atol=0)
    assert float(act.rate(3.0)) == pytest.approx(1000.0 / (2.0 + 20.0 * np.log(1.5)), rel=1e-14)
    j32 = j.astype(np.float32)  # 1 + 1e-9 rounds to 1: silent in float32
    out32 = ACTIVATION_OPS["lif"][0](j32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, LIF_LAYER.rate(j32.astype(np.float64)), rtol=1e-6)


def test_spiking_twins_are_neuron_models():
    """relu's twin is IF_LAYER: at dt = 1 ms it fires max(J, 0) spikes per step (rate in Hz
    times 1 ms); string names stay as before."""
    j = np.array([-2.0, 0.0, 0.25, 0.8])
    np.testing.assert_allclose(IF_LAYER.rate(j) * 1.0 / 1000.0, get_activation("relu").rate(j),
                               rtol=1e-12)
    twins = {name: (get_activation(name).twin, get_activation(name).spiking_twin)
             for name in ("relu", "softmax", "lif", "identity", "sigmoid", "tanh")}
    assert twins == {"relu": (IF_LAYER, "if"), "softmax": (IF_LAYER, "if"),
                     "lif": (LIF_LAYER, "lif"), "identity": (None, "integrator"),
                     "sigmoid": (None, None), "tanh": (None, None)}


def test_losses_against_closed_forms():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 0])
    loss, g = softmax_cross_entropy(z, y)
    p0 = np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()
    assert loss == pytest.approx((-np.log(p0[2]) + np.log(3)) / 2, rel=1e-12)
    np.testing.assert_allclose(g, (np.vstack([p0, [1 / 3] * 3]) - np.eye(3)[y]) / 2)
    # huge logits: log-sum-exp keeps it finite
    loss, _ = softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0)
    a = np.array([[0.5, 0.5], [1.0, 0.0]])
    loss, g = mse(a, np.array([0, 0]))
    assert loss == pytest.approx((0.25 + 0.25) / 4)
    np.testing.assert_allclose(g, 2 * (a - [[1, 0], [1, 0]]) / 4)


def test_soft_lif_derivative():
    j = np.linspace(0.5, 4, 50)
    # it is the exact derivative of the soft rate curve ...
    num = (soft_lif_rate(j + FD_STEP) - soft_lif_rate(j - FD_STEP)) / (2 * FD_STEP)
    np.testing.assert_allclose(soft_lif_derivative(j), num, rtol=1e-5)
    # ... which equals the exact LIF derivative r^2 tau_m / (1000 j (j - 1)) well above
    # threshold (r in Hz, tau_m in ms):
    # for j - 1 >= 15 s the softplus differs from j - 1 by s exp(-15) ~ 3e-7 s, relative
    # change of the derivative well below SOFT_LIF_RTOL
    hi = j[j > 1 + 15 * SOFT_LIF_SIGMA]
    r = get_activation("lif").rate(hi)
    exact = r * r * LIF_LAYER.tau_m / (1000.0 * hi * (hi - 1))
    np.testing.assert_allclose(soft_lif_derivative(hi), exact, rtol=SOFT_LIF_RTOL)
    # and the soft rate is the soft curve 1000 / (t_ref + tau_m ln(1 + 1 / p)) in Hz, equal to
    # the rate itself well above threshold
    np.testing.assert_allclose(soft_lif_rate(hi), r, rtol=SOFT_LIF_RTOL)
    # and is positive but finite at and below the threshold
    d = soft_lif_derivative(np.array([0.8, 1.0]))
    assert np.all(d > 0) and np.all(np.isfinite(d))


def test_dropout_training_mode_is_inverted_and_seeded():
    spec = mlp("relu")
    params = params64(spec)
    x = np.ones((200, 5))
    y = np.zeros(200, dtype=int)
    l1, _ = loss_and_grads(spec, params, x, y, rng=np.random.default_rng(1))
    l2, _ = loss_and_grads(spec, params, x, y, rng=np.random.default_rng(1))
    l0, _ = loss_and_grads(spec, params, x, y)
    assert l1 == l2 and l1 != l0
    from neurosim.rate.layers import dropout_forward
    out, mask = dropout_forward(Dropout(rate=0.25), {}, np.ones((1000, 100)), True,
                                np.random.default_rng(0))
    assert set(np.unique(out)) == {0.0, 1 / 0.75}
    # 1e5 Bernoulli(0.75) draws: the mean of the scaled mask is 1 within ~4 standard errors
    assert out.mean() == pytest.approx(1.0, abs=4 * np.sqrt(0.25 / 0.75 / 1e5))


def test_stride_one_input_gradient_matches_finite_differences():
    # the stride-1 input gradient with uneven kernel and padding, at the first layer
    spec = Network(name="s1", input_shape=(2, 5, 6), layers=(
        Conv2D(filters=3, kernel_size=(3, 2), padding=(1, 2), activation="tanh"),
        Conv2D(filters=2, kernel_size=2, activation="identity"), Flatten(),
        Dense(units=2, activation="softmax")))
    params = params64(spec)
    x = np.random.default_rng(9).standard_normal((2, 2, 5, 6))
    y = np.array([0, 1])
    check_all_grads(spec, x, y)  # layer 1's input gradient flows through layer 1's col2im
    g = input_gradient(spec, params, x, 3, 1)

    def f():
        from neurosim.rate import forward
        return forward(spec, params, x)[:, 1].sum()
    np.testing.assert_allclose(g, numeric_grad(f, x), rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_blockwise_input_gradient_equals_col2im():
    from neurosim.rate.layers import COL2IM_BLOCK, conv_input_gradient
    rng = np.random.default_rng(10)
    # more samples than one block, a partial last block, stride 2 and uneven padding
    n, c, h, w, kh, kw, sh, sw, ph, pw, f = COL2IM_BLOCK + 3, 3, 7, 6, 3, 2, 2, 1, 1, 2, 2
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    w2t = rng.standard_normal((c * kh * kw, f))
    dz2 = rng.standard_normal((f, n * oh * ow))
    np.testing.assert_allclose(
        conv_input_gradient(w2t, dz2, (n, c, h, w), (kh, kw), (sh, sw), (ph, pw)),
        col2im(w2t @ dz2, (n, c, h, w), (kh, kw), (sh, sw), (ph, pw), (oh, ow)),
        rtol=1e-12)


@pytest.mark.parametrize("pool", [AvgPool2D(pool_size=2), AvgPool2D(pool_size=3, stride=2),
                                  AvgPool2D(pool_size=(2, 3), stride=(1, 2))],
                         ids=["2x2", "3x3s2", "2x3s1x2"])
def test_avgpool_forward_is_the_window_mean(pool):
    # the separable (columns, then rows) window sum against the mean of each window, one by one
    from neurosim.rate.layers import avgpool2d_forward
    x = np.random.default_rng(11).standard_normal((2, 3, 7, 8))
    z, _ = avgpool2d_forward(pool, {}, x, True, None)
    (kh, kw), (sh, sw) = pool.pool_size, pool.stride
    assert z.shape == (2, 3, (7 - kh) // sh + 1, (8 - kw) // sw + 1)
    for i in range(z.shape[2]):
        for j in range(z.shape[3]):
            want = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].mean(axis=(2, 3))
            np.testing.assert_allclose(z[:, :, i, j], want, rtol=1e-12)
