"""Max pooling in the spike domain by spike-count gating: each pooling neuron's spike count is,
after every step, the largest spike count in its window (a closed form checked on every
window), in the layered fast path, its NumPy twin and the general engine alike; clear errors
where it cannot gate."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.layered import build_layered
from neurosim.builder.params import init_params
from neurosim.errors import SpecError
from neurosim.specs import Conv2D, Dense, Flatten, MaxPool2D, Network
from neurosim.spike.layered import run_layered

#: float32 event-by-event sums (kernel) against float64 state (general engine): a spike can
#: flip at a threshold crossing within rounding; the counts agree to within this fraction.
ENGINE_COUNT_RTOL = 0.02


def _cnn():
    spec = Network(name="mp", input_shape=(1, 6, 6), layers=(
        Conv2D(filters=3, kernel_size=3, padding=1, activation="relu"),
        MaxPool2D(pool_size=2), Flatten(), Dense(units=4, activation="softmax")))
    rng = np.random.default_rng(0)
    params = init_params(spec, rng)
    params[0]["b"][:] = rng.normal(0.1, 0.2, 3)
    x = rng.random((4, 1, 6, 6)).astype(np.float32)
    return spec, params, x


def _window_max(conv_counts, n):
    """Largest count in each 2x2 window of a (n, 3 * 6 * 6) classic-order count array."""
    c = conv_counts.reshape(n, 3, 3, 2, 3, 2)
    return c.max(axis=(3, 5)).reshape(n, -1)


@pytest.mark.parametrize("encoder", ["current", "regular"])
def test_pooled_count_is_the_window_maximum(encoder):
    spec, params, x = _cnn()
    net = build_layered(spec, params, readout="count")
    results = []
    for ref in (False, True):
        r = run_layered(net, x, timesteps=30, encoder=encoder, record_counts=True,
                        progress=False, reference=ref)
        conv, pool = r.neuron_counts[0], r.neuron_counts[1]
        assert conv.sum() > 0  # something spiked: the test is not vacuous
        np.testing.assert_array_equal(pool, _window_max(conv, len(x)))
        # SOPs into the pooling layer: one comparison per spike and window reached (1 here)
        assert r.op_counts.layers[1].sops == pytest.approx(conv.sum() / len(x))
        results.append(r)
    np.testing.assert_array_equal(results[0].neuron_counts[1], results[1].neuron_counts[1])
    np.testing.assert_array_equal(results[0].output_counts, results[1].output_counts)


def test_general_engine_gates_the_same():
    spec, params, x = _cnn()
    net = build_layered(spec, params, readout="count")
    gen = run_layered(net, x, timesteps=30, record_counts=True, progress=False,
                      engine="general")
    fast = run_layered(net, x, timesteps=30, record_counts=True, progress=False)
    np.testing.assert_array_equal(gen.neuron_counts[1], _window_max(gen.neuron_counts[0],
                                                                    len(x)))
    np.testing.assert_allclose(gen.neuron_counts[1].sum(), fast.neuron_counts[1].sum(),
                               rtol=ENGINE_COUNT_RTOL)


def test_max_pooling_where_it_cannot_gate_is_refused():
    spec = Network(name="first", input_shape=(1, 4, 4), layers=(
        MaxPool2D(pool_size=2), Flatten(), Dense(units=2, activation="softmax")))
    params = init_params(spec, np.random.default_rng(0))
    with pytest.raises(SpecError, match="layer 0 .maxpool2d.: spike-count max pooling cannot "
                                        "gate the analog input"):
        build_layered(spec, params)
    spec = Network(name="lif", input_shape=(1, 4, 4), layers=(
        Conv2D(filters=2, kernel_size=3, padding=1, activation="lif"), MaxPool2D(pool_size=2),
        Flatten(), Dense(units=2, activation="softmax")))
    params = init_params(spec, np.random.default_rng(0))
    with pytest.raises(SpecError, match="cannot gate spikes of a rate-curve layer"):
        build_layered(spec, params)
