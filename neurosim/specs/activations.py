"""Activations: what a classic (rate) neuron computes after its weighted sum and bias.

A classic neuron computes ``a = f(W x + b)``. Each activation named here carries its closed-form
rate function ``f`` (NumPy, used as the definition the rate mode is tested against) and, where
one exists, the name of its *spiking twin*: the spiking neuron whose firing rate under a
constant input current ``J`` equals ``f(J)``:

- ``relu``: ``f(J) = max(J, 0)``. Twin: the integrate-and-fire neuron with threshold 1 and reset
  by subtraction, whose rate is ``max(J, 0) / v_th`` spikes per step (exactly, in the limit of
  many steps).
- ``identity``: ``f(J) = J``. Twin: a non-spiking integrator (the membrane potential itself is
  read out); allowed only as an output layer in spiking mode.
- ``softmax``: ``f(J)_i = exp(J_i) / sum_j exp(J_j)``. Monotone in each ``J_i``, so the arg-max
  is unchanged when the spiking net reads out the IF neurons' spike counts or potentials.
- ``lif``: the LIF rate curve (Nengo's normalisation, ``v_th = 1``, ``R = 1``):
  ``f(J) = 1 / (tau_ref + tau_rc * ln(1 + 1 / (J - 1)))`` for ``J > 1``, else 0, in spikes per
  second with ``tau_rc`` and ``tau_ref`` in seconds. Twin: LIF.
- ``sigmoid``, ``tanh``: no spiking twin (negative outputs, or a saturating non-linearity that a
  single spiking neuron's rate does not reproduce); asking them to spike is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "lif_rate"]

#: Default LIF time constants of the ``lif`` rate curve, in seconds (Nengo's defaults).
LIF_TAU_RC = 0.02
LIF_TAU_REF = 0.002


def lif_rate(j: np.ndarray, tau_rc: float = LIF_TAU_RC, tau_ref: float = LIF_TAU_REF) -> np.ndarray:
    """LIF firing rate (Hz) for a normalised input current ``j`` (threshold 1, reset 0).

    ``r = 1 / (tau_ref + tau_rc * ln(1 + 1 / (j - 1)))`` for ``j > 1``, else 0.
    """
    j = np.asarray(j, dtype=np.float64)
    out = np.zeros_like(j)
    above = j > 1.0
    out[above] = 1.0 / (tau_ref + tau_rc * np.log1p(1.0 / (j[above] - 1.0)))
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Activation:
    """One activation: its name, closed-form rate function and spiking twin (or ``None``)."""

    name: str
    spiking_twin: str | None
    description: str

    def rate(self, x: np.ndarray) -> np.ndarray:
        """The closed-form activation ``f(x)``, the definition the rate mode is tested against."""
        x = np.asarray(x, dtype=np.float64)
        if self.name == "relu":
            return np.maximum(x, 0.0)
        if self.name == "identity":
            return x
        if self.name == "sigmoid":
            return 1.0 / (1.0 + np.exp(-x))
        if self.name == "tanh":
            return np.tanh(x)
        if self.name == "softmax":
            return _softmax(x)
        if self.name == "lif":
            return lif_rate(x)
        raise AssertionError(self.name)  # every registered name is handled above


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", "if", "rectified linear unit, max(x, 0)"),
        Activation("identity", "integrator", "linear, f(x) = x"),
        Activation("softmax", "if", "normalised exponential (output layer)"),
        Activation("lif", "lif", "LIF rate curve (Hz), threshold 1"),
        Activation("sigmoid", None, "logistic 1 / (1 + exp(-x))"),
        Activation("tanh", None, "hyperbolic tangent"),
    )
}


def get_activation(name: str) -> Activation:
    """Look an activation up by name; unknown names raise ``KeyError`` listing the known ones."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise KeyError(f"unknown activation {name!r} (known: {known})") from None
