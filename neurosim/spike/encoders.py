"""Input encoders: how an analog sample ``x`` (values in [0, 1] for spike codes) enters a
spiking network over ``T`` time steps.

- ``current`` (direct / analog input): ``x`` is a constant input current into the first layer
  at every step (Rueckauer et al. 2017). No spikes; the first layer's input costs MACs.
- ``poisson`` (rate code): at each step input ``i`` spikes with probability ``x_i`` (Bernoulli
  approximation of a Poisson process of rate ``x_i`` spikes per step).
- ``regular`` (deterministic rate code): input ``i`` spikes at step ``t`` (0-based) when
  ``floor((t + 1) x_i) > floor(t x_i)``: exactly ``floor(T x_i)`` evenly spaced spikes, the
  spike train of an integrate-and-fire neuron driven by ``x_i``.
- ``latency`` (time-to-first-spike): one spike at step ``round((1 - x_i) (T - 1))``, earlier for
  larger values; ``x_i = 0`` never spikes.

Spike encoders return a ``uint8`` array of shape ``(n_samples, T, n_inputs)``. Random encoders
take an explicit :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

__all__ = ["ENCODERS", "encode", "poisson", "regular", "latency"]

ENCODERS = ("current", "poisson", "regular", "latency")


def _unit(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise DataError(f"spike encoders need inputs in [0, 1], got values in [{x.min():.3g}, "
                        f"{x.max():.3g}]; scale the data with scaling = \"unit\" or use the "
                        "current encoder")
    return x.reshape(x.shape[0], -1)


def poisson(x, timesteps: int, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli spikes: ``P(spike at t) = x_i``, independent across steps and inputs."""
    x = _unit(x)
    return (rng.random((x.shape[0], timesteps, x.shape[1])) < x[:, None, :]).astype(np.uint8)


def regular(x, timesteps: int) -> np.ndarray:
    """Evenly spaced spikes at rate ``x_i`` per step: ``floor((t+1) x) - floor(t x)``."""
    x = _unit(x)
    t = np.arange(timesteps + 1, dtype=np.float64)[None, :, None]
    # Count in float64 with a small guard so that x = 0.5 gives exactly one spike every 2 steps.
    cum = np.floor(t * x[:, None, :] + 1e-9)
    return np.diff(cum, axis=1).astype(np.uint8)


def latency(x, timesteps: int) -> np.ndarray:
    """One spike per non-zero input at step ``round((1 - x_i) (T - 1))``."""
    x = _unit(x)
    out = np.zeros((x.shape[0], timesteps, x.shape[1]), np.uint8)
    s, i = np.nonzero(x > 0)
    t = np.rint((1.0 - x[s, i]) * (timesteps - 1)).astype(np.int64)
    out[s, t, i] = 1
    return out


def encode(encoder: str, x, timesteps: int, rng: np.random.Generator | None = None):
    """Encode a batch ``x`` (``(n, ...)``) for ``timesteps`` steps.

    Returns ``None`` for ``current`` (the analog values are the input) and a ``uint8`` spike
    array ``(n, timesteps, n_inputs)`` otherwise. ``poisson`` needs ``rng``.
    """
    if encoder == "current":
        return None
    if encoder == "poisson":
        if rng is None:
            raise ValueError("the poisson encoder needs an explicit rng (np.random.Generator)")
        return poisson(x, timesteps, rng)
    if encoder == "regular":
        return regular(x, timesteps)
    if encoder == "latency":
        return latency(x, timesteps)
    raise DataError(f"encoder: must be one of {', '.join(ENCODERS)}, got {encoder!r}")
