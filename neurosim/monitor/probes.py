"""Monitors of the population engine: spikes, chosen state variables, population rates.

Only what was asked is recorded. Spikes go to preallocated index/step buffers with a count
(the engine's compiled loop appends to them and returns early when they might overflow; the
recorder then doubles them). State is recorded every step at the start of the step (Brian2's
``StateMonitor`` convention), one row per ``(neuron, variable)``. Rates are spike counts per
step and population, turned into Hz.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SpikeTrains", "SpikeRecorder", "StateRecorder", "RateRecorder", "isi_cv",
           "DERIVED_HH"]

#: Hodgkin-Huxley ionic currents computed from the recorded ``v, m, h, n``.
DERIVED_HH = ("i_na", "i_k", "i_l")


def isi_cv(indices: np.ndarray, times: np.ndarray, min_spikes: int = 3) -> float:
    """Mean over neurons (with at least ``min_spikes`` spikes) of the coefficient of variation
    ``std(ISI) / mean(ISI)`` of their interspike intervals; NaN when no neuron qualifies."""
    indices = np.asarray(indices)
    times = np.asarray(times, dtype=np.float64)
    if indices.size == 0:
        return float("nan")
    order = np.lexsort((times, indices))
    idx, t = indices[order], times[order]
    bounds = np.flatnonzero(np.diff(idx)) + 1
    cvs = []
    for seg_i, seg_t in zip(np.split(idx, bounds), np.split(t, bounds), strict=True):
        if seg_i.size >= min_spikes:
            isi = np.diff(seg_t)
            if isi.mean() > 0:
                cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


@dataclass(frozen=True)
class SpikeTrains:
    """Spikes of one population: population-local ``indices`` and ``times`` (ms)."""

    indices: np.ndarray
    times: np.ndarray
    size: int
    duration: float

    @property
    def count(self) -> int:
        return int(self.indices.size)

    @property
    def mean_rate(self) -> float:
        """Spikes per neuron per second (Hz)."""
        return self.count / self.size / (self.duration / 1000.0)

    def counts(self) -> np.ndarray:
        return np.bincount(self.indices, minlength=self.size)

    @property
    def cv(self) -> float:
        return isi_cv(self.indices, self.times)


@dataclass
class SpikeRecorder:
    """Growable spike buffers for the neurons whose ``mask`` is set."""

    mask: np.ndarray
    capacity: int = 1 << 16
    spk_i: np.ndarray = field(init=False)
    spk_t: np.ndarray = field(init=False)
    count: np.ndarray = field(init=False)

    def __post_init__(self):
        self.mask = np.ascontiguousarray(self.mask, dtype=np.uint8)
        self.capacity = max(int(self.capacity), 2 * self.mask.size + 16)
        self.spk_i = np.empty(self.capacity, dtype=np.int32)
        self.spk_t = np.empty(self.capacity, dtype=np.int32)
        self.count = np.zeros(1, dtype=np.int64)

    def grow(self) -> None:
        """Double the buffers, keeping what is recorded."""
        n = int(self.count[0])
        self.capacity *= 2
        for name in ("spk_i", "spk_t"):
            new = np.empty(self.capacity, dtype=np.int32)
            new[:n] = getattr(self, name)[:n]
            setattr(self, name, new)

    def trains(self, bounds: dict[str, tuple[int, int]], dt: float,
               duration: float) -> dict[str, SpikeTrains]:
        """Per population (only those with recorded neurons), local indices and times."""
        n = int(self.count[0])
        i, t = self.spk_i[:n], self.spk_t[:n]
        out = {}
        for name, (a, b) in bounds.items():
            if not self.mask[a:b].any():
                continue
            sel = (i >= a) & (i < b)
            out[name] = SpikeTrains(indices=(i[sel] - a).astype(np.int64),
                                    times=t[sel].astype(np.float64) * dt, size=b - a,
                                    duration=duration)
        return out


@dataclass
class StateRecorder:
    """Rows ``(global neuron index, state row)`` recorded every step, gathered per chunk.

    ``requests`` is a list of ``(population, variable, local indices, start, row or None)``;
    derived HH currents record ``v, m, h, n`` and are computed at the end.
    """

    rec_idx: np.ndarray
    rec_row: np.ndarray
    chunks: list = field(default_factory=list)

    @classmethod
    def empty(cls) -> StateRecorder:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    def buffer(self, n_steps: int) -> np.ndarray:
        return np.zeros((self.rec_idx.size, n_steps))

    def add(self, out: np.ndarray) -> None:
        if self.rec_idx.size:
            self.chunks.append(out)

    def values(self) -> np.ndarray:
        if not self.chunks:
            return np.zeros((self.rec_idx.size, 0))
        return np.concatenate(self.chunks, axis=1)


@dataclass
class RateRecorder:
    """Spike counts per step for every population (kept only for ``names``)."""

    names: tuple[str, ...]
    n_pop: int
    chunks: list = field(default_factory=list)

    def buffer(self, n_steps: int) -> np.ndarray:
        return np.zeros((self.n_pop, n_steps if self.names else 0), dtype=np.int32)

    def add(self, counts: np.ndarray) -> None:
        if self.names:
            self.chunks.append(counts)

    def rates(self, pop_names, sizes, dt: float) -> dict[str, np.ndarray]:
        """Population rate per step in Hz: ``count / (size * dt / 1000)``."""
        if not self.names or not self.chunks:
            return {}
        counts = np.concatenate(self.chunks, axis=1)
        return {name: counts[pop_names.index(name)] / (sizes[name] * dt / 1000.0)
                for name in self.names}
