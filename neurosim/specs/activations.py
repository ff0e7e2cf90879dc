"""Activations: what a classic (rate) neuron computes after its weighted sum and bias.

A classic neuron computes ``a = f(W x + b)``. Each activation named here carries its closed-form
rate function ``f`` (NumPy, used as the definition the rate mode is tested against) and, where
one exists, its *spiking twin*: the neuron model (:mod:`neurosim.neurons`) whose firing rate
under a constant input current ``J`` equals ``f(J)``:

- ``relu``: ``f(J) = max(J, 0)``. Twin: :data:`~neurosim.neurons.if_.IF_LAYER`, the
  integrate-and-fire neuron with threshold 1 and reset by subtraction, whose rate at
  ``dt = 1 ms`` is ``max(J, 0)`` spikes per step (exactly, in the limit of many steps).
- ``identity``: ``f(J) = J``. Twin: a non-spiking integrator (the membrane potential itself is
  read out); allowed only as an output layer in spiking mode.
- ``softmax``: ``f(J)_i = exp(J_i) / sum_j exp(J_j)``. Monotone in each ``J_i``, so the arg-max
  is unchanged when the spiking net reads out the IF neurons' spike counts or potentials.
  Twin: ``IF_LAYER``.
- ``lif``: the rate curve (Hz) of :data:`~neurosim.neurons.lif.LIF_LAYER` (Nengo's
  normalisation: ``v_th = 1``, ``v_reset = 0``, ``r_m = 1``, ``tau_m = 20 ms``,
  ``t_ref = 2 ms``): ``f(J) = 1000 / (t_ref + tau_m ln(1 + 1 / (J - 1)))`` for ``J > 1``,
  else 0, with ``t_ref`` and ``tau_m`` in ms. Twin: ``LIF_LAYER``.
- ``qcfs``: the quantised clip-floor-shift activation of Bu et al., "Optimal ANN-SNN
  conversion for high-accuracy and ultra-low-latency spiking neural networks", ICLR 2022:
  ``f(J) = (lambda / L) clip(floor(J L / lambda + 1/2), 0, L)`` with ``L`` levels (the layer's
  ``levels``) and a clip ``lambda`` learned per layer (the layer's ``clip`` parameter). Twin:
  ``IF_LAYER`` with threshold ``lambda`` and initial membrane ``lambda / 2``, which after
  ``T = L`` steps under a constant ``J`` has fired exactly ``clip(floor(J L / lambda + 1/2),
  0, L)`` spikes; the expected conversion error is zero at every ``T`` (Bu et al., Theorem 2).
- ``sigmoid``, ``tanh``: no spiking twin (negative outputs, or a saturating non-linearity that a
  single spiking neuron's rate does not reproduce); asking them to spike is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..neurons.base import NeuronModel

# also LIF_TAU_M and LIF_T_REF (ms), resolved on first use
__all__ = ["Activation", "ACTIVATIONS", "get_activation", "lif_rate", "qcfs_rate",
           "QCFS_LEVELS", "QCFS_CLIP_INIT"]

#: Default number of levels ``L`` of a ``qcfs`` layer.
QCFS_LEVELS = 8

#: Initial clip ``lambda`` of a ``qcfs`` layer (in units of the layer's pre-activation): a
#: ReLU layer of He-initialised weights on inputs in [0, 1] sees pre-activations of order 1,
#: so a clip of 2 covers most of them at the start; training moves it.
QCFS_CLIP_INIT = 2.0


def _layer_model(name: str) -> NeuronModel:
    """``IF_LAYER`` or ``LIF_LAYER`` of :mod:`neurosim.neurons` (imported on first use: the
    model modules load Numba, and a spec needs them only to spike or to use a rate curve)."""
    from .. import neurons

    return getattr(neurons, name)


def __getattr__(name: str):
    # Time constants of the ``lif`` rate curve, in ms: LIF_LAYER's membrane time constant
    # ``tau_m`` (20 ms) and refractory period ``t_ref`` (2 ms).
    if name == "LIF_TAU_M":
        return _layer_model("LIF_LAYER").tau_m
    if name == "LIF_T_REF":
        return _layer_model("LIF_LAYER").t_ref
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def lif_rate(j) -> np.ndarray:
    """Rate (Hz) of the ``lif`` activation for a normalised input current ``j``:
    ``LIF_LAYER.rate(j)``, ``1000 / (t_ref + tau_m ln(1 + 1 / (j - 1)))`` for ``j > 1``, else 0
    (``tau_m = 20 ms``, ``t_ref = 2 ms``)."""
    return _layer_model("LIF_LAYER").rate(j)


def qcfs_rate(j, clip: float = 1.0, levels: int = QCFS_LEVELS) -> np.ndarray:
    """``(clip / L) clip(floor(j L / clip + 1/2), 0, L)``: the ``qcfs`` activation of an input
    ``j`` with clip ``lambda = clip`` and ``L = levels`` (Bu et al., ICLR 2022, eq. 11)."""
    j = np.asarray(j, dtype=np.float64)
    steps = np.clip(np.floor(j * levels / clip + 0.5), 0, levels)
    return steps * (clip / levels)


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Activation:
    """One activation: its name, closed-form rate function and spiking twin.

    ``twin`` (named by ``twin_name``): the neuron model whose rate under constant drive is
    this activation
    (:data:`~neurosim.neurons.if_.IF_LAYER`, :data:`~neurosim.neurons.lif.LIF_LAYER`), or
    ``None``; ``integrator``: instead of spiking, the membrane potential of a non-spiking
    integrator is read out (``identity``, output layers only).
    """

    name: str
    twin_name: str | None
    description: str
    integrator: bool = False

    @property
    def twin(self) -> NeuronModel | None:
        return _layer_model(self.twin_name) if self.twin_name else None

    @property
    def spiking_twin(self) -> str | None:
        """The twin by name: its neuron model's kind (``"if"``, ``"lif"``), ``"integrator"``,
        or ``None``."""
        if self.twin_name is not None:
            return {"IF_LAYER": "if", "LIF_LAYER": "lif"}[self.twin_name]
        return "integrator" if self.integrator else None

    def rate(self, x: np.ndarray, *, clip: float = 1.0,
             levels: int = QCFS_LEVELS) -> np.ndarray:
        """The closed-form activation ``f(x)``, the definition the rate mode is tested against
        (``lif``: Hz; ``clip`` and ``levels`` are used by ``qcfs`` only)."""
        x = np.asarray(x, dtype=np.float64)
        if self.name == "qcfs":
            return qcfs_rate(x, clip, levels)
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
        Activation("relu", "IF_LAYER", "rectified linear unit, max(x, 0)"),
        Activation("qcfs", "IF_LAYER", "quantised clip-floor-shift, L levels, learned clip"),
        Activation("identity", None, "linear, f(x) = x", integrator=True),
        Activation("softmax", "IF_LAYER", "normalised exponential (output layer)"),
        Activation("lif", "LIF_LAYER", "LIF rate curve (Hz), threshold 1"),
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
