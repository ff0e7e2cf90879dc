"""The artificial neuron: a weighted sum, a bias, and an activation.

A classic (rate) neuron computes ``z = w . x + b`` (its *pre-activation*, the analogue of the
current a biological neuron integrates) and outputs ``a = f(z)``. Four activations:

- step (Heaviside, McCulloch & Pitts 1943; Rosenblatt 1958): ``f(z) = 1 if z >= 0 else 0``;
- ReLU (Nair & Hinton 2010): ``f(z) = max(z, 0)``;
- sigmoid (logistic): ``f(z) = 1 / (1 + exp(-z))``;
- tanh: ``f(z) = tanh(z)``.

Two worked examples (the classic ones of introductory courses):

1. a neuron with weights ``(0.8, -0.5, 1.2)`` and bias ``0.3`` on the input ``(1.0, 2.0, 0.5)``:
   ``z = 0.8 - 1.0 + 0.6 + 0.3 = 0.7``, so step 1, ReLU 0.7, sigmoid 0.668, tanh 0.604;
2. a "hotel price" neuron weighing a guest rating (points out of 10), the distance to the city
   centre (km) and the number of stars: ``price = 15 EUR/point * rating - 20 EUR/km * distance
   + 25 EUR/star * stars + 10 EUR``. With ReLU it is a (clipped) linear price model; sigmoid
   and tanh saturate at 1 for a pre-activation in the hundreds, which is why inputs and
   targets are scaled before training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..specs.activations import get_activation

__all__ = ["ACTIVATION_NAMES", "activate", "neuron", "run",
           "EXAMPLE_WEIGHTS", "EXAMPLE_BIAS", "EXAMPLE_INPUT",
           "HOTEL_FEATURES", "HOTEL_WEIGHTS", "HOTEL_BIAS", "HOTEL_INPUT"]

ACTIVATION_NAMES = ("step", "relu", "sigmoid", "tanh")

EXAMPLE_WEIGHTS = np.array([0.8, -0.5, 1.2])
EXAMPLE_BIAS = 0.3
EXAMPLE_INPUT = np.array([1.0, 2.0, 0.5])

HOTEL_FEATURES = ("rating [points/10]", "distance to centre [km]", "stars")
HOTEL_WEIGHTS = np.array([15.0, -20.0, 25.0])  # EUR per point, per km, per star
HOTEL_BIAS = 10.0  # EUR
HOTEL_INPUT = np.array([8.2, 1.5, 4.0])


def activate(name: str, z):
    """Activation ``name`` (one of :data:`ACTIVATION_NAMES`) applied to ``z``."""
    z = np.asarray(z, dtype=np.float64)
    if name == "step":
        return (z >= 0.0).astype(np.float64)
    return get_activation(name).rate(z)


def neuron(weights, bias: float, x, activation: str) -> tuple[float, float]:
    """One artificial neuron: return ``(z, f(z))`` with ``z = weights . x + bias``."""
    z = float(np.dot(np.asarray(weights, float), np.asarray(x, float)) + bias)
    return z, float(activate(activation, z))


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Compute both worked examples under the four activations and draw them."""
    from ..plot import teaching

    del seed, quick  # deterministic and instant
    out = Path(out_dir)
    z, _ = neuron(EXAMPLE_WEIGHTS, EXAMPLE_BIAS, EXAMPLE_INPUT, "relu")
    outputs = {name: neuron(EXAMPLE_WEIGHTS, EXAMPLE_BIAS, EXAMPLE_INPUT, name)[1]
               for name in ACTIVATION_NAMES}
    hz, _ = neuron(HOTEL_WEIGHTS, HOTEL_BIAS, HOTEL_INPUT, "relu")
    hotel_outputs = {name: neuron(HOTEL_WEIGHTS, HOTEL_BIAS, HOTEL_INPUT, name)[1]
                     for name in ACTIVATION_NAMES}
    # price against distance, other inputs fixed: where does the ReLU neuron fall silent?
    distances = np.linspace(0.0, 15.0, 151)
    xs = np.repeat(HOTEL_INPUT[None, :], distances.size, axis=0)
    xs[:, 1] = distances
    hotel_z = xs @ HOTEL_WEIGHTS + HOTEL_BIAS
    silent_from_km = float((HOTEL_WEIGHTS[0] * HOTEL_INPUT[0] + HOTEL_WEIGHTS[2] * HOTEL_INPUT[2]
                            + HOTEL_BIAS) / -HOTEL_WEIGHTS[1])

    zs = np.linspace(-4.0, 4.0, 401)
    curves = {name: activate(name, zs) for name in ACTIVATION_NAMES}
    figures = [
        teaching.artificial_neuron_figure(
            out / "artificial_neuron.png", EXAMPLE_WEIGHTS, EXAMPLE_BIAS, EXAMPLE_INPUT, z,
            outputs, zs, curves),
        teaching.hotel_neuron_figure(
            out / "hotel_neuron.png", HOTEL_FEATURES, HOTEL_WEIGHTS, HOTEL_BIAS, HOTEL_INPUT,
            hz, hotel_outputs, distances, hotel_z, {n: activate(n, hotel_z) for n in
                                                     ("relu", "sigmoid")}),
    ]
    return {
        "example_z": z,
        **{f"example_{k}": v for k, v in outputs.items()},
        "hotel_z_eur": hz,
        **{f"hotel_{k}": v for k, v in hotel_outputs.items()},
        "hotel_relu_silent_beyond_km": silent_from_km,
        "figures": [str(f) for f in figures],
    }
