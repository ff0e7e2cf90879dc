"""Input encoders: how an analog sample ``x`` (values in [0, 1] for spike codes) enters a
spiking network over ``T`` time steps.

One class per code, found through the registry :data:`ENCODERS` under its ``name`` (the
``--encoder`` of ``neurosim compare``):

- :class:`Current` (``current``, direct / analog input): ``x`` is a constant current;
- :class:`Poisson` (``poisson``, random rate code);
- :class:`Regular` (``regular``, deterministic rate code);
- :class:`Latency` (``latency``, time-to-first-spike).

Input cost (the convention of :mod:`neurosim.monitor.opcounts`): analog input costs the first
layer's classic MACs at every step and sends no spikes; spike input costs no MACs, and each
input spike costs its fan-out in synaptic operations (SOPs) into the first layer.

Spike encoders return a ``uint8`` array of shape ``(n_samples, T, n_inputs)`` (inputs
flattened in C order). Random encoders take an explicit :class:`numpy.random.Generator`.
Adding a code takes one class decorated with :func:`register`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import DataError

__all__ = ["Encoder", "Current", "Poisson", "Regular", "Latency", "ENCODERS", "register",
           "get_encoder", "encode"]


def _unit(x) -> np.ndarray:
    """``x`` as float64 ``(n, n_inputs)``; a :class:`DataError` if a value is outside [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise DataError(f"spike encoders need inputs in [0, 1], got values in [{x.min():.3g}, "
                        f"{x.max():.3g}]; scale the data with scaling = \"unit\" or use the "
                        "current encoder")
    return x.reshape(x.shape[0], -1)


@dataclass(frozen=True, kw_only=True)
class Encoder:
    """Base of the input encoders; ``name`` is the name used on the command line.

    ``spiking``: the code sends spikes (else the analog values are the input);
    ``needs_rng``: :meth:`encode` draws from the generator it is given.
    """

    name: ClassVar[str] = ""
    spiking: ClassVar[bool] = True
    needs_rng: ClassVar[bool] = False

    def encode(self, x, timesteps: int,
               rng: np.random.Generator | None = None) -> np.ndarray | None:
        """Encode a batch ``x`` (``(n, ...)``) for ``timesteps`` steps: ``uint8`` spikes
        ``(n, timesteps, n_inputs)``, or ``None`` for a code that is not spiking."""
        raise NotImplementedError


#: The encoders by name, in the order they are listed (command-line choices, error messages).
ENCODERS: dict[str, type[Encoder]] = {}


def register(cls: type[Encoder]) -> type[Encoder]:
    """Add an encoder class to :data:`ENCODERS` under its ``name`` (usable as a decorator)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__}: an encoder needs a name")
    ENCODERS[cls.name] = cls
    return cls


@register
@dataclass(frozen=True, kw_only=True)
class Current(Encoder):
    """Direct (analog) input (Rueckauer et al. 2017): ``x`` is a constant input current into
    the first layer at every step, ``I_i(t) = x_i``; no spikes.

    Cost: the first layer's classic MACs at every step (``n_in * units`` per step for a dense
    layer), the convention of syops-counter and SpikingJelly.
    """

    name: ClassVar[str] = "current"
    spiking: ClassVar[bool] = False

    def encode(self, x, timesteps: int, rng: np.random.Generator | None = None) -> None:
        """``None``: the analog values themselves are the input."""
        return None


@register
@dataclass(frozen=True, kw_only=True)
class Poisson(Encoder):
    """Rate code, random: input ``i`` spikes at each step with probability ``x_i``,
    independently across steps and inputs (a Bernoulli approximation of a Poisson process of
    rate ``x_i`` spikes per step), so ``E[count_i] = T x_i`` and ``Var = T x_i (1 - x_i)``.

    Draws ``rng.random((n, T, n_inputs))`` once per call. Cost: no MACs; each spike costs its
    fan-out in SOPs into the first layer.
    """

    name: ClassVar[str] = "poisson"
    needs_rng: ClassVar[bool] = True

    def encode(self, x, timesteps: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Bernoulli spikes: ``s[k, t, i] = [u[k, t, i] < x[k, i]]``, ``u ~ U[0, 1)``."""
        if rng is None:
            raise ValueError("the poisson encoder needs an explicit rng (np.random.Generator)")
        x = _unit(x)
        return (rng.random((x.shape[0], timesteps, x.shape[1])) < x[:, None, :]).astype(np.uint8)


@register
@dataclass(frozen=True, kw_only=True)
class Regular(Encoder):
    """Rate code, deterministic: input ``i`` spikes at step ``t`` (0-based) when
    ``floor((t + 1) x_i) > floor(t x_i)``: exactly ``floor(T x_i)`` evenly spaced spikes, the
    spike train of an integrate-and-fire neuron (threshold 1, reset by subtraction) driven by
    ``x_i`` per step.

    Cost: no MACs; each spike costs its fan-out in SOPs into the first layer.
    """

    name: ClassVar[str] = "regular"

    def encode(self, x, timesteps: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """``s[k, t, i] = floor((t + 1) x_ki) - floor(t x_ki)`` (``rng`` unused)."""
        x = _unit(x)
        t = np.arange(timesteps + 1, dtype=np.float64)[None, :, None]
        # Count in float64 with a small guard so that x = 0.5 gives exactly one spike every 2
        # steps.
        cum = np.floor(t * x[:, None, :] + 1e-9)
        return np.diff(cum, axis=1).astype(np.uint8)


@register
@dataclass(frozen=True, kw_only=True)
class Latency(Encoder):
    """Time-to-first-spike code: one spike per non-zero input at step
    ``t_i = round((1 - x_i) (T - 1))``, earlier for larger values (``x_i = 1`` at step 0);
    ``x_i = 0`` never spikes.

    Cost: no MACs; each spike (at most one per input) costs its fan-out in SOPs into the first
    layer.
    """

    name: ClassVar[str] = "latency"

    def encode(self, x, timesteps: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """One spike per non-zero input at step ``round((1 - x_i) (T - 1))`` (``rng``
        unused)."""
        x = _unit(x)
        out = np.zeros((x.shape[0], timesteps, x.shape[1]), np.uint8)
        s, i = np.nonzero(x > 0)
        t = np.rint((1.0 - x[s, i]) * (timesteps - 1)).astype(np.int64)
        out[s, t, i] = 1
        return out


def get_encoder(name: str) -> type[Encoder]:
    """The encoder class registered as ``name``; a :class:`DataError` listing the known ones if
    none is."""
    try:
        return ENCODERS[name]
    except (KeyError, TypeError):
        raise DataError(f"encoder: must be one of {', '.join(ENCODERS)}, got {name!r}") from None


def encode(encoder: str, x, timesteps: int, rng: np.random.Generator | None = None):
    """Encode a batch ``x`` (``(n, ...)``) for ``timesteps`` steps with the encoder named
    ``encoder``.

    Returns ``None`` for ``current`` (the analog values are the input) and a ``uint8`` spike
    array ``(n, timesteps, n_inputs)`` otherwise. ``poisson`` needs ``rng``.
    """
    return get_encoder(encoder)().encode(x, timesteps, rng)
