"""Random values of a model file: weights, delays, per-neuron parameters and initial states.

A value is a number (the same for every synapse or neuron) or a table naming a distribution,
in NEST's vocabulary (``nest.random`` and ``nest.math.redraw``)::

    weight = 0.0878                                         # constant
    weight = { dist = "normal", mean = 0.0878, std = 0.00878 }
    weight = { dist = "normal_clipped", mean = -0.35, std = 0.035, max = 0.0 }
    delay = { dist = "normal_redraw", mean = 1.5, std = 0.75, min = 0.05 }
    tau_m = { dist = "uniform", low = 9.0, high = 11.0 }
    c_m = { dist = "lognormal", mu = -1.4, sigma = 0.1 }    # exp(N(mu, sigma))

- ``normal_clipped``: ``N(mean, std)`` clipped to ``[min, max]`` (NEST's ``min``/``max``
  around a draw); ``normal_redraw``: ``N(mean, std)`` drawn again until inside ``[min, max]``
  (``nest.math.redraw``). ``max = 0.0`` keeps an inhibitory weight's sign, ``min = 0.0`` an
  excitatory one's; unset bounds are infinite.
- Units are those of the field the value stands for (nA, ms, mV, ...).

:meth:`Dist.draw` takes the numpy Generator explicitly: same seed, same values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

__all__ = ["Dist", "DISTS", "value_from_toml", "draw", "dist_to_toml"]

DISTS = ("constant", "normal", "normal_clipped", "normal_redraw", "uniform", "lognormal")
_FIELDS = {"constant": ("value",), "normal": ("mean", "std"),
           "normal_clipped": ("mean", "std", "min", "max"),
           "normal_redraw": ("mean", "std", "min", "max"), "uniform": ("low", "high"),
           "lognormal": ("mu", "sigma")}
#: Redraw rounds before ``normal_redraw`` gives up (a window far in the tail).
MAX_REDRAWS = 1000


@dataclass(frozen=True, kw_only=True)
class Dist:
    """A distribution (module doc); only the fields of its ``dist`` are meaningful."""

    dist: str = "constant"
    value: float = 0.0
    mean: float = 0.0
    std: float = 0.0
    min: float = -math.inf
    max: float = math.inf
    low: float = 0.0
    high: float = 0.0
    mu: float = 0.0
    sigma: float = 0.0

    def __post_init__(self):
        if self.dist not in DISTS:
            raise ValueError(f"dist: must be one of {', '.join(DISTS)}, got {self.dist!r}")
        for name in ("value", "mean", "std", "low", "high", "mu", "sigma"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name}: must be finite, got {getattr(self, name)!r}")
        if self.std < 0 or self.sigma < 0:
            raise ValueError("std: must be >= 0" if self.std < 0 else "sigma: must be >= 0")
        if self.dist == "uniform" and not self.high >= self.low:
            raise ValueError(f"high: must be >= low ({self.low}), got {self.high}")
        if not self.max >= self.min:
            raise ValueError(f"max: must be >= min ({self.min}), got {self.max}")
        if self.dist == "normal_redraw" and self.std == 0 and not (
                self.min <= self.mean <= self.max):
            raise ValueError("mean: outside [min, max] with std = 0: no value can be drawn")

    @property
    def mean_value(self) -> float:
        """The distribution's mean, bounds ignored (for in-degree compensation)."""
        if self.dist == "constant":
            return self.value
        if self.dist == "uniform":
            return 0.5 * (self.low + self.high)
        if self.dist == "lognormal":
            return math.exp(self.mu + 0.5 * self.sigma ** 2)
        return self.mean

    def scaled(self, factor: float) -> Dist:
        """The distribution of ``factor * X`` (``factor > 0``): weights scaled with the
        in-degree."""
        import dataclasses

        if self.dist == "lognormal":
            return dataclasses.replace(self, mu=self.mu + math.log(factor))
        return dataclasses.replace(
            self, value=self.value * factor, mean=self.mean * factor, std=self.std * factor,
            low=self.low * factor, high=self.high * factor, min=self.min * factor,
            max=self.max * factor)


def draw(value, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` float64 values of ``value`` (a number or a :class:`Dist`)."""
    if not isinstance(value, Dist):
        return np.full(n, float(value))
    d = value
    if d.dist == "constant":
        return np.full(n, d.value)
    if d.dist == "uniform":
        return d.low + rng.random(n) * (d.high - d.low)
    if d.dist == "lognormal":
        return np.exp(rng.normal(d.mu, d.sigma, n))
    out = rng.normal(d.mean, d.std, n)
    if d.dist == "normal_clipped":
        np.clip(out, d.min, d.max, out=out)
    elif d.dist == "normal_redraw":
        bad = np.flatnonzero((out < d.min) | (out > d.max))
        for _ in range(MAX_REDRAWS):
            if bad.size == 0:
                break
            out[bad] = rng.normal(d.mean, d.std, bad.size)
            bad = bad[(out[bad] < d.min) | (out[bad] > d.max)]
        if bad.size:
            raise SpecError(f"normal_redraw: [{d.min}, {d.max}] is too far in the tail of "
                            f"N({d.mean}, {d.std}) to draw {n} values")
    return out


def value_from_toml(value, prefix: str):
    """A number (float) or a :class:`Dist` from a TOML value; SpecError naming ``prefix``."""
    if isinstance(value, bool):
        raise SpecError(f"{prefix}: expected a number or a distribution table, got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise SpecError(f"{prefix}: must be finite, got {value!r}")
        return float(value)
    if not isinstance(value, dict):
        raise SpecError(f"{prefix}: expected a number or a distribution table "
                        f"({{ dist = \"normal\", mean = ..., std = ... }}), got {value!r}")
    kind = value.get("dist")
    if kind not in DISTS:
        raise SpecError(f"{prefix}: dist: must be one of {', '.join(DISTS)}, got {kind!r}")
    allowed = ("dist",) + _FIELDS[kind]
    for key, x in value.items():
        if key not in allowed:
            raise SpecError(f"{prefix}: {key}: not a field of a {kind} distribution "
                            f"(fields: {', '.join(_FIELDS[kind])})")
        if key != "dist" and (isinstance(x, bool) or not isinstance(x, (int, float))):
            raise SpecError(f"{prefix}: {key}: expected a number, got {x!r}")
    try:
        return Dist(**{k: (float(x) if k != "dist" else x) for k, x in value.items()})
    except ValueError as err:
        raise SpecError(f"{prefix}: {err}") from None


def dist_to_toml(value):
    """The TOML value of a number or :class:`Dist` (``value_from_toml`` inverts it)."""
    if not isinstance(value, Dist):
        return value
    return {"dist": value.dist} | {k: getattr(value, k) for k in _FIELDS[value.dist]
                                   if math.isfinite(getattr(value, k))}
