"""Population activity: the population-rate spectrum and synchrony (Brunel 2000's measures).

- :func:`population_rate`: spikes of a population counted in bins of ``bin_ms``, in Hz per
  neuron.
- :func:`rate_spectrum`: the power spectrum of that rate (mean removed, periodogram over the
  run after a ``skip_ms`` transient) and its peak frequency in ``[f_min, f_max]`` Hz. A
  synchronous state (Brunel's SR and SI) shows a sharp peak at the population oscillation's
  frequency; the asynchronous one (AI) a flat spectrum.
- :func:`synchrony`: ``var(rate) / mean(rate)`` of the binned population rate over the
  ``var`` of independent Poisson neurons firing at the same mean (Golomb's measure for counts,
  ``1`` for independent Poisson neurons, large when neurons fire together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["population_rate", "rate_spectrum", "synchrony", "Spectrum"]


def population_rate(times, size: int, duration: float, bin_ms: float = 1.0) -> np.ndarray:
    """Population rate (Hz per neuron) in bins of ``bin_ms`` over ``[0, duration)`` ms."""
    n_bins = max(int(duration // bin_ms), 1)
    counts = np.bincount(np.minimum((np.asarray(times) // bin_ms).astype(np.int64),
                                    n_bins - 1), minlength=n_bins)[:n_bins]
    return counts / size / (bin_ms / 1000.0)


@dataclass(frozen=True)
class Spectrum:
    """``freqs`` (Hz), ``power`` (Hz^2 s, one-sided periodogram) and the ``peak`` frequency
    with its power relative to the spectrum's median (``prominence``)."""

    freqs: np.ndarray
    power: np.ndarray
    peak: float
    prominence: float


def rate_spectrum(times, size: int, duration: float, *, bin_ms: float = 1.0,
                  skip_ms: float = 100.0, f_min: float = 2.0,
                  f_max: float = 400.0) -> Spectrum:
    """The population-rate spectrum of spikes at ``times`` (ms) of ``size`` neurons."""
    rate = population_rate(times, size, duration, bin_ms)[int(skip_ms // bin_ms):]
    x = rate - rate.mean()
    power = np.abs(np.fft.rfft(x)) ** 2 * (bin_ms / 1000.0) / max(x.size, 1)
    freqs = np.fft.rfftfreq(x.size, bin_ms / 1000.0)
    band = (freqs >= f_min) & (freqs <= f_max)
    if not band.any() or not np.any(power[band] > 0):
        return Spectrum(freqs, power, float("nan"), 0.0)
    k = np.flatnonzero(band)[np.argmax(power[band])]
    med = float(np.median(power[band]))
    return Spectrum(freqs, power, float(freqs[k]),
                    float(power[k] / med) if med > 0 else float("inf"))


def synchrony(times, size: int, duration: float, *, bin_ms: float = 1.0,
              skip_ms: float = 100.0) -> float:
    """Variance of the binned spike count of the population over its mean (module doc)."""
    counts = population_rate(times, size, duration, bin_ms)[int(skip_ms // bin_ms):] \
        * size * (bin_ms / 1000.0)
    return float(counts.var() / counts.mean()) if counts.size and counts.mean() > 0 \
        else float("nan")
