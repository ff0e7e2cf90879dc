"""One result type for every run of every kind of network (:class:`Result`).

A run records, per population: its spikes (:class:`~neurosim.monitor.probes.SpikeTrains`,
population-local indices, times in ms), chosen state variables (values at the start of each
step) and population rates (spikes per step); and for the whole run one
:class:`~neurosim.monitor.opcounts.OpCounts`. A population network run
(:func:`neurosim.spike.population.simulate_network`) fills all of them; a layered run over a
batch of samples (:class:`neurosim.spike.layered.SpikeResult`, a :class:`Result` with the
classification on top) fills ``spikes`` with the recorded sample's layers and ``op_counts``
with the per-sample mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..monitor.opcounts import OpCounts
from ..monitor.probes import SpikeTrains

__all__ = ["Result"]


@dataclass(frozen=True, kw_only=True)
class Result:
    """What a run recorded (module docstring). ``timings``: seconds (``build``, ``compile``,
    ``run``) where measured. ``interrupted``: the run was stopped (Ctrl-C) after ``n_steps``
    steps, fewer than asked."""

    dt: float
    n_steps: int
    op_counts: OpCounts
    spikes: dict[str, SpikeTrains] = field(default_factory=dict)
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    state_indices: dict[str, np.ndarray] = field(default_factory=dict)
    rates: dict[str, np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def duration(self) -> float:
        """Simulated time (ms)."""
        return self.n_steps * self.dt

    @property
    def t(self) -> np.ndarray:
        """Times (ms) of the recorded state samples and rate bins."""
        return np.arange(self.n_steps) * self.dt
