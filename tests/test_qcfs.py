"""QCFS (Bu et al., ICLR 2022): the classic activation's closed form and straight-through
gradients, and its spiking twin (IF, threshold = clip, membrane starting at half of it) whose
spike count after T = L steps is exactly the activation's level."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.params import init_params
from neurosim.convert import QCFS_V_INIT, convert
from neurosim.errors import SpecError
from neurosim.rate import loss_and_grads
from neurosim.rate.activations import qcfs_backward, qcfs_forward
from neurosim.specs import Dense, Network
from neurosim.specs.activations import QCFS_CLIP_INIT, qcfs_rate
from neurosim.specs.io import dumps_model, loads_model

#: float32 arithmetic of the forward pass against the float64 closed form.
F32_ATOL = 1e-6


def test_forward_levels_by_hand():
    """clip 2, L = 4 (level width 0.5): z = 0.2 -> floor(0.4 + 0.5) = 0; z = 0.3 -> floor(1.1)
    = 1 -> 0.5; z = 1.3 -> floor(3.1) = 3 -> 1.5; z = 3 -> clipped at L = 4 -> 2; z < 0 -> 0."""
    z = np.array([-1.0, 0.2, 0.3, 1.3, 3.0], np.float32)
    clip = np.array([2.0], np.float32)
    expected = [0.0, 0.0, 0.5, 1.5, 2.0]
    np.testing.assert_allclose(qcfs_forward(z, clip, 4), expected, atol=F32_ATOL)
    np.testing.assert_allclose(qcfs_rate(z, 2.0, 4), expected, atol=F32_ATOL)


def test_straight_through_gradients_by_hand():
    """df/dz = [0 < z < clip]; df/dclip = (f - z) / clip inside, 1 above, 0 below."""
    z = np.array([-1.0, 0.3, 1.3, 3.0], np.float32)
    clip = np.array([2.0], np.float32)
    a = qcfs_forward(z, clip, 4)
    da = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    dz, dclip = qcfs_backward(z, a, clip, da)
    np.testing.assert_allclose(dz, [0.0, 2.0, 3.0, 0.0])
    # 2 * (0.5 - 0.3) / 2 + 3 * (1.5 - 1.3) / 2 + 4 * 1 = 0.2 + 0.3 + 4
    assert dclip.shape == (1,)
    assert dclip[0] == pytest.approx(4.5, rel=1e-5)


def _net(levels=4):
    return Network(name="q", input_shape=(6,), layers=(
        Dense(units=5, activation="qcfs", levels=levels), Dense(units=3, activation="softmax")))


def test_clip_is_a_learned_parameter():
    """The clip is a (1,) parameter initialised to QCFS_CLIP_INIT; the network's gradient for it
    is the sum of the straight-through terms (checked against qcfs_backward on the layer)."""
    spec = _net()
    params = init_params(spec, np.random.default_rng(0))
    assert params[0]["clip"].tolist() == [QCFS_CLIP_INIT]
    assert "clip" not in params[1]
    x = np.random.default_rng(1).random((8, 6)).astype(np.float32)
    _, grads = loss_and_grads(spec, params, x, np.arange(8) % 3)
    assert grads[0]["clip"].shape == (1,) and np.isfinite(grads[0]["clip"][0])


def test_levels_only_with_qcfs_and_round_trip():
    with pytest.raises(ValueError, match="levels: only the qcfs activation"):
        Dense(units=3, activation="relu", levels=4)
    with pytest.raises(ValueError, match="levels: must be a positive integer"):
        Dense(units=3, activation="qcfs", levels=0)
    spec = _net(levels=6)
    again = loads_model(dumps_model(spec))
    assert again.layers[0].levels == 6 and again.layers[0].activation == "qcfs"


def test_spiking_twin_counts_the_levels_after_L_steps():
    """IF with threshold clip and v(0) = clip / 2, driven by a constant J for T = L steps, fires
    exactly clip(floor(J L / clip + 1/2), 0, L) times (Bu et al. 2022, eq. 11 and Thm 2): the
    membrane v(T) = clip / 2 + T J - clip n stays in [0, clip) while 0 < n < T, so
    n = floor(T J / clip + 1/2), at most one spike per step, none for J < 0.
    The layer's drive is its bias (inputs zero), chosen away from the rounding boundaries."""
    levels = 8
    spec = _net(levels)
    params = init_params(spec, np.random.default_rng(0))
    clip = 1.5
    params[0]["clip"][:] = clip
    bias = np.array([-0.3, 0.05, 0.4, 0.9, 2.5], np.float32)  # J, in classic units
    params[0]["b"][:] = bias
    x = np.zeros((1, 6), np.float32)
    conv = convert(spec, params, np.random.default_rng(2).random((20, 6)), method="qcfs")
    assert conv.scales[0] == pytest.approx(clip)
    res = conv.run(x, timesteps=levels, record_counts=True, progress=False)
    expected = np.clip(np.floor(bias * levels / clip + 0.5), 0, levels)
    np.testing.assert_array_equal(res.neuron_counts[0][0], expected)
    # the same without the half-threshold shift rounds down instead: the shift is what matters
    res0 = conv.run(x, timesteps=levels, record_counts=True, progress=False, v_init=0.0)
    np.testing.assert_array_equal(res0.neuron_counts[0][0],
                                  np.clip(np.floor(bias * levels / clip), 0, levels))
    assert QCFS_V_INIT == 0.5


def test_qcfs_normalisation_needs_qcfs_layers():
    spec = Network(name="r", input_shape=(6,), layers=(
        Dense(units=5, activation="relu"), Dense(units=3, activation="softmax")))
    params = init_params(spec, np.random.default_rng(0))
    with pytest.raises(SpecError, match="qcfs needs layers with the qcfs activation"):
        convert(spec, params, np.zeros((4, 6), np.float32), method="qcfs")
