"""Input sources, in NEST's vocabulary: registered like neuron models, with no membrane.

- ``poisson_generator`` (NEST's device of that name): every synapse from it carries its own
  independent Poisson train of ``rate`` Hz. It is never a population of the built network:
  lowering (:mod:`neurosim.builder.lower`) turns each projection from it into a background
  drive of the targets (:mod:`neurosim.kernels.background`), so a drive of ``K_ext``
  generators per neuron (the cortical microcircuit's) stores two numbers per neuron, no
  synapses. Its weight is one number (``K`` trains of one weight are one train of ``K``
  times the rate).
- ``poisson``: neurons that spike as Poisson processes of ``rate`` Hz (NEST's
  ``poisson_generator`` into ``parrot_neuron``): each source's one train goes to all its
  targets, through any connection rule. A source fires at most once per step, with
  probability ``1 - exp(-rate dt / 1000)``, so rates are meant to be far below ``1 / dt``
  (a higher total drive is a ``poisson_generator``'s).
- ``spike_generator``: neurons that spike at given times (ms), read from the population's
  ``times`` file (``.npz`` with arrays ``neurons`` and ``times``, one entry per spike; or
  ``.npy`` of shape ``(K, 2)``, rows ``[neuron, time]``); a time ``t`` is step
  ``round(t / dt)``.

Random numbers are counter-based (:mod:`neurosim.kernels.random`): source ``j``'s draw at
step ``n`` is a function of ``(stream, j, n)`` alone, so it does not depend on how neurons are
ordered or split over threads. ``stream`` is set by lowering from the simulation seed and
the population's name (a model file leaves it at 0); ``j`` is the source's index in its
population (state row ``index``, set by the builder), not its place in the network or in a
thread's share. Each source keeps its own step count (state row ``clock``), so a step needs
nothing beyond the records every step takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from ..kernels.config import INLINE
from ..kernels.layout import POP_END, POP_START
from ..kernels.random import counter_uniform, counter_uniform_numpy
from .base import NeuronModel, non_negative, register

__all__ = ["PoissonGenerator", "PoissonSource", "SpikeGenerator", "step", "step_numpy",
           "step_times", "step_times_numpy"]

SLOTS = ("rate", "p_spike", "stream")
RATE, P_SPIKE, STREAM = range(len(SLOTS))
ROW_CLOCK = 1
ROW_CURSOR = 2
ROW_INDEX = 2


class _Source(NeuronModel):
    """What sources share: no threshold, nothing recordable but their spikes."""

    state_vars: ClassVar[tuple[str, ...]] = ()
    SLOT_THRESHOLD: ClassVar[str] = ""
    is_source: ClassVar[bool] = True

    @property
    def v_initial(self) -> float:
        return 0.0

    @property
    def has_rate(self) -> bool:
        """No rate function of a drive (a source's ``rate`` field is its firing rate)."""
        return False


@register
@dataclass(frozen=True, kw_only=True)
class PoissonGenerator(_Source):
    """NEST's ``poisson_generator``: an independent Poisson train of ``rate`` Hz per synapse
    (module doc); a device, lowered into background drives."""

    kind: ClassVar[str] = "poisson_generator"
    integrator: ClassVar[str] = "none"
    rate: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        non_negative(self, "rate")

    def param_values(self, dt):
        raise NotImplementedError("a poisson_generator is lowered into background drives")


@register
@dataclass(frozen=True, kw_only=True)
class PoissonSource(_Source):
    """Poisson spiking sources of ``rate`` Hz (module doc)."""

    kind: ClassVar[str] = "poisson"
    integrator: ClassVar[str] = "counter-based Bernoulli per step"
    ROWS: ClassVar[tuple[str, ...]] = ("v", "clock", "index")
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    rate: float = 0.0
    stream: int = 0

    def __post_init__(self):
        super().__post_init__()
        non_negative(self, "rate", "stream")

    def param_values(self, dt):
        return {"rate": self.rate, "p_spike": -math.expm1(-self.rate * dt / 1000.0),
                "stream": float(self.stream)}


@register
@dataclass(frozen=True, kw_only=True)
class SpikeGenerator(_Source):
    """Sources spiking at the steps of the population's ``times`` file (module doc)."""

    kind: ClassVar[str] = "spike_generator"
    integrator: ClassVar[str] = "table of spike steps"
    ROWS: ClassVar[tuple[str, ...]] = ("v", "clock", "cursor")
    STEP: ClassVar[str] = "step_times"

    def param_values(self, dt):
        return {}


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """Poisson sources: source ``j`` fires when its counter-based uniform of this step is
    below ``p_spike``."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    clock = state.x[ROW_CLOCK]
    index = state.x[ROW_INDEX]
    for i in range(start, end):
        n = clock[i]
        clock[i] = n + 1.0
        u = counter_uniform(np.uint64(par[STREAM, i]), np.uint64(index[i]), np.uint64(n))
        if u < par[P_SPIKE, i]:
            spikes[n_spk] = i
            n_spk += 1
    return n_spk


def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`."""
    start, end = int(model.pop[p, POP_START]), int(model.pop[p, POP_END])
    clock = state.x[ROW_CLOCK, start:end]
    par = model.par[:, start:end]
    u = counter_uniform_numpy(par[STREAM].astype(np.uint64),
                              state.x[ROW_INDEX, start:end].astype(np.uint64),
                              clock.astype(np.uint64))
    clock += 1.0
    fired = np.flatnonzero(u < par[P_SPIKE]) + start
    spikes[n_spk:n_spk + fired.size] = fired
    return n_spk + fired.size


@numba.njit(**INLINE)
def step_times(p, model, state, row, spikes, n_spk):
    """Spike generators: neuron ``i`` fires when the next entry of its steps
    (``Model.ev_steps``, from the cursor in state row ``cursor``) is this step."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    clock = state.x[ROW_CLOCK]
    cursor = state.x[ROW_CURSOR]
    for i in range(start, end):
        n = np.int64(clock[i])
        clock[i] = n + 1.0
        k = np.int64(cursor[i])
        last = model.ev_ptr[i + 1]
        fired = False
        while k < last and model.ev_steps[k] <= n:
            fired = fired or model.ev_steps[k] == n
            k += 1
        cursor[i] = k
        if fired:
            spikes[n_spk] = i
            n_spk += 1
    return n_spk


def step_times_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step_times`."""
    start, end = int(model.pop[p, POP_START]), int(model.pop[p, POP_END])
    for i in range(start, end):
        n = int(state.x[ROW_CLOCK, i])
        state.x[ROW_CLOCK, i] = n + 1
        lo, hi = int(state.x[ROW_CURSOR, i]), int(model.ev_ptr[i + 1])
        due = model.ev_steps[lo:hi]
        k = lo + int(np.searchsorted(due, n, side="right"))
        state.x[ROW_CURSOR, i] = k
        if np.any(due[:k - lo] == n):
            spikes[n_spk] = i
            n_spk += 1
    return n_spk
