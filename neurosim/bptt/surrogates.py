"""Surrogate derivatives of the spike: what backpropagation uses for ``dH(x)/dx``.

A neuron spikes when ``x = v - v_th >= 0``: the Heaviside step ``H(x)``, whose derivative is
zero almost everywhere. Surrogate-gradient training (Neftci, Mostafa & Zenke 2019) keeps the
step in the forward pass and replaces its derivative by a smooth bump of slope ``k`` around the
threshold in the backward pass. Each class here registers one bump; the compiled backward
kernel (:mod:`neurosim.kernels.bptt`) evaluates it by its ``code``:

- ``fast_sigmoid`` (SuperSpike, Zenke & Ganguli 2018; snnTorch's default):
  ``1 / (1 + k |x|)^2``, ``k = 25``;
- ``arctan`` (Fang et al. 2021; SpikingJelly's default, snnTorch's ``atan``):
  ``(k / 2) / (1 + (pi k x / 2)^2)``, ``k = 2``;
- ``triangle`` (Esser et al. 2016, Bellec et al. 2018): ``k max(0, 1 - k |x|)``, ``k = 1``;
- ``sigmoid``: ``k s (1 - s)`` with ``s = 1 / (1 + exp(-k x))``, ``k = 5``: the exact
  derivative of a sigmoid step, which the smooth forward pass of the gradient checks uses in
  place of ``H`` (then BPTT is an exact gradient, testable by finite differences).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..errors import SpecError, where

__all__ = ["Surrogate", "SURROGATES", "register", "get_surrogate"]

SURROGATES: dict[str, type[Surrogate]] = {}


def register(cls):
    """Class decorator: add a surrogate to :data:`SURROGATES` under its ``name``."""
    SURROGATES[cls.name] = cls
    return cls


class Surrogate:
    """One surrogate derivative with its slope ``k`` (``slope``; ``None`` or 0: the default)."""

    name: ClassVar[str] = ""
    code: ClassVar[int] = -1
    default_slope: ClassVar[float] = 1.0

    def __init__(self, slope: float | None = None):
        self.slope = float(slope) if slope else self.default_slope

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """The surrogate ``dH/dx`` at ``x = v - v_th`` (NumPy; the kernel's twin)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(slope={self.slope:g})"


@register
class FastSigmoid(Surrogate):
    """``1 / (1 + k |x|)^2`` (SuperSpike)."""

    name = "fast_sigmoid"
    code = 0
    default_slope = 25.0

    def derivative(self, x):
        return 1.0 / (1.0 + self.slope * np.abs(x)) ** 2


@register
class ArcTan(Surrogate):
    """``(k / 2) / (1 + (pi k x / 2)^2)``, the derivative of ``atan(pi k x / 2) / pi``."""

    name = "arctan"
    code = 1
    default_slope = 2.0

    def derivative(self, x):
        return (self.slope / 2) / (1.0 + (np.pi * self.slope * x / 2) ** 2)


@register
class Triangle(Surrogate):
    """``k max(0, 1 - k |x|)``: a triangle of area 1 and half-width ``1 / k``."""

    name = "triangle"
    code = 2
    default_slope = 1.0

    def derivative(self, x):
        return self.slope * np.maximum(0.0, 1.0 - self.slope * np.abs(x))


@register
class Sigmoid(Surrogate):
    """``k s (1 - s)``, ``s = sigmoid(k x)``: exact for the smooth forward pass."""

    name = "sigmoid"
    code = 3
    default_slope = 5.0

    def step(self, x):
        """The smooth spike ``sigmoid(k x)`` of the gradient checks' forward pass."""
        return 1.0 / (1.0 + np.exp(-self.slope * x))

    def derivative(self, x):
        s = self.step(x)
        return self.slope * s * (1.0 - s)


def get_surrogate(name: str, slope: float | None = None, source=None) -> Surrogate:
    """The surrogate named ``name`` with ``slope``; :class:`SpecError` naming the field for an
    unknown name."""
    if name not in SURROGATES:
        raise SpecError(f"{where(source, field='training.surrogate')}: unknown surrogate "
                        f"{name!r} (known: {', '.join(SURROGATES)})")
    return SURROGATES[name](slope)
