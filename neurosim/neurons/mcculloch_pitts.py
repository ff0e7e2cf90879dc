"""McCulloch-Pitts threshold units (dimensionless, no memory).

Each step a unit sums its input ``total = I + sum_j w_j s_j`` (external drive, plus the
synaptic input delivered since the previous step, plus its current channels) and fires iff
``total >= theta``. Conductance channels do not act on it (it has no potential for a reversal
potential to pull); they still decay. Rate: ``1000 / dt`` Hz when ``I >= theta``, else 0.

State rows: row 0 (``ROW_V``, where every delta synapse delivers) collects the input for the
next step and is emptied by the step; row 1 (``"total"``) holds the sum of the last step, which
is what the model calls ``v``: a recorder reads ``v`` from row :data:`RECORD_ROWS` ``["v"]``.
An initial ``v0`` is pending input of the first step (and the first recorded value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from ..kernels.channels import (
    channel_inputs,
    channel_inputs_numpy,
    decay_channels,
    decay_channels_numpy,
)
from ..kernels.config import INLINE
from ..kernels.layout import POP_END, POP_START, ROW_V
from .base import NeuronModel, register

__all__ = ["McCullochPitts", "step", "step_numpy"]

SLOTS = ("theta",)
(THETA,) = range(len(SLOTS))
ROWS = ("v", "total")
ROW_TOTAL = 1


@register
@dataclass(frozen=True, kw_only=True)
class McCullochPitts(NeuronModel):
    """McCulloch-Pitts threshold unit (see :mod:`neurosim.neurons.mcculloch_pitts`)."""

    kind: ClassVar[str] = "mcculloch_pitts"
    integrator: ClassVar[str] = "none"
    ROWS: ClassVar[tuple[str, ...]] = ROWS
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    #: State row of each recordable variable whose row is not ``ROWS.index(name)``.
    RECORD_ROWS: ClassVar[dict[str, int]] = {"v": ROW_TOTAL}
    #: The slot compared with the summed input (``inf``: a population that never fires).
    SLOT_THRESHOLD: ClassVar[str] = "theta"
    theta: float = 1.0

    @property
    def v_initial(self) -> float:
        return 0.0

    def rate(self, current, dt=None):
        if dt is None:
            raise ValueError("dt: the McCulloch-Pitts rate is one spike per step; give dt")
        i = np.asarray(current, dtype=np.float64)
        return np.where(i >= self.theta, 1000.0 / dt, 0.0)

    def param_values(self, dt):
        return {"theta": self.theta}

    def initial_state(self, v0):
        v0 = np.asarray(v0, dtype=np.float64)
        return {"v": v0, "total": v0.copy()}


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One step of McCulloch-Pitts population ``p`` (see :mod:`neurosim.neurons.base`)."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    x = state.x
    for i in range(start, end):
        cur, g, ge = channel_inputs(model, state, i)
        total = x[ROW_V, i] + model.drive[row, i] + cur
        x[ROW_TOTAL, i] = total
        x[ROW_V, i] = 0.0
        if total >= par[THETA, i]:
            spikes[n_spk] = i
            n_spk += 1
    decay_channels(model, state, start, end)
    return n_spk


def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`, whole-array NumPy over the population."""
    sl = slice(int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
    cur, _, _ = channel_inputs_numpy(model, state, sl)
    total = state.x[ROW_V, sl] + model.drive[row, sl] + cur
    state.x[ROW_TOTAL, sl] = total
    state.x[ROW_V, sl] = 0.0
    fired = total >= model.par[THETA, sl]
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size
