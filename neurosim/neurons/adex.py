"""Adaptive exponential integrate-and-fire neurons (AdEx, Brette & Gerstner 2005).

``c_m dv/dt = -g_l (v - e_l) + g_l delta_t exp((v - v_t) / delta_t) - w + I``,
``tau_w dw/dt = a (v - e_l) - w`` (nF, uS, mV, nA, ms); when ``v >= v_peak``: ``v <- v_reset``,
``w <- w + b``. The drive ``I`` is the external input plus the current channels (read by the
step itself, in nA) plus ``g (E_rev - v)`` for every conductance (``g`` in uS). Defaults are the
paper's (C = 281 pF, g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV,
tau_w = 144 ms, a = 4 nS, b = 0.0805 nA) with the cut ``v_peak = v_t + 5 delta_t`` of Brian2's
example.

Forward Euler, both variables advanced from their values at the start of the step (Brian2's
``euler``); needs ``dt <= 0.2 ms`` (the exponential term near ``v_peak`` moves ``v`` by
``g_l delta_t e^5 / c_m ~ 32 mV/ms``). ``w`` keeps evolving during an absolute refractory
period ``t_ref`` (0 by default), ``v`` is held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from ..kernels.channels import (
    channel_inputs,
    channel_inputs_numpy,
    decay_channels,
    decay_channels_numpy,
    refractory,
)
from ..kernels.config import INLINE
from ..kernels.layout import POP_END, POP_START, ROW_V
from .base import NeuronModel, non_negative, positive, ref_steps, register

__all__ = ["AdEx", "step", "step_numpy"]

SLOTS = ("c_m", "g_l", "e_l", "v_t", "delta_t", "a", "tau_w", "b", "v_reset", "v_peak",
         "ref_steps")
C_M, G_L, E_L, V_T, DELTA_T, A, TAU_W, B, V_RESET, V_PEAK, REF_STEPS = range(len(SLOTS))
ROWS = ("v", "w")
ROW_W = 1


@register
@dataclass(frozen=True, kw_only=True)
class AdEx(NeuronModel):
    """Adaptive exponential integrate-and-fire neuron (equations in
    :mod:`neurosim.neurons.adex`)."""

    kind: ClassVar[str] = "adex"
    integrator: ClassVar[str] = "euler"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "w")
    ROWS: ClassVar[tuple[str, ...]] = ROWS
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    max_dt: ClassVar[float | None] = 0.2
    #: The slot compared with ``v`` (``inf``: a population that never fires).
    SLOT_THRESHOLD: ClassVar[str] = "v_peak"
    c_m: float = 0.281
    g_l: float = 0.030
    e_l: float = -70.6
    v_t: float = -50.4
    delta_t: float = 2.0
    a: float = 0.004
    tau_w: float = 144.0
    b: float = 0.0805
    v_reset: float = -70.6
    v_peak: float = -40.4
    t_ref: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        positive(self, "c_m", "g_l", "delta_t", "tau_w")
        non_negative(self, "t_ref")
        if not self.v_peak > self.v_reset:
            raise ValueError(f"v_peak: must be above v_reset ({self.v_reset}), "
                             f"got {self.v_peak}")

    @property
    def v_initial(self) -> float:
        return self.e_l

    def param_values(self, dt):
        return {"c_m": self.c_m, "g_l": self.g_l, "e_l": self.e_l, "v_t": self.v_t,
                "delta_t": self.delta_t, "a": self.a, "tau_w": self.tau_w, "b": self.b,
                "v_reset": self.v_reset, "v_peak": self.v_peak,
                "ref_steps": ref_steps(self.t_ref, dt)}


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One Euler step of AdEx population ``p`` (see :mod:`neurosim.neurons.base`)."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    x = state.x
    rc = state.refc
    dt = model.dt
    for i in range(start, end):
        ref = refractory(rc, i)
        cur, g, ge = channel_inputs(model, state, i)
        v = x[ROW_V, i]
        w = x[ROW_W, i]
        i_tot = model.drive[row, i] + cur + ge - g * v
        w_new = w + dt * (par[A, i] * (v - par[E_L, i]) - w) / par[TAU_W, i]
        if not ref:
            g_l = par[G_L, i]
            d_t = par[DELTA_T, i]
            v = v + dt * (-g_l * (v - par[E_L, i])
                          + g_l * d_t * math.exp((v - par[V_T, i]) / d_t)
                          - w + i_tot) / par[C_M, i]
            if v >= par[V_PEAK, i]:
                v = par[V_RESET, i]
                w_new += par[B, i]
                rc[i] = np.int32(par[REF_STEPS, i])
                spikes[n_spk] = i
                n_spk += 1
        x[ROW_W, i] = w_new
        x[ROW_V, i] = v
    decay_channels(model, state, start, end)
    return n_spk


def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`, whole-array NumPy over the population."""
    sl = slice(int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
    par = model.par[:, sl]
    dt = model.dt
    rc = state.refc[sl]
    rc[rc > 0] -= 1
    held = rc > 0
    cur, g, ge = channel_inputs_numpy(model, state, sl)
    v = state.x[ROW_V, sl].copy()
    w = state.x[ROW_W, sl].copy()
    i_tot = model.drive[row, sl] + cur + ge - g * v
    g_l, e_l, d_t = par[G_L], par[E_L], par[DELTA_T]
    w_new = w + dt * (par[A] * (v - e_l) - w) / par[TAU_W]
    vn = v + dt * (-g_l * (v - e_l) + g_l * d_t * np.exp((v - par[V_T]) / d_t)
                   - w + i_tot) / par[C_M]
    v = np.where(held, v, vn)
    fired = ~held & (v >= par[V_PEAK])
    state.x[ROW_V, sl] = np.where(fired, par[V_RESET], v)
    state.x[ROW_W, sl] = np.where(fired, w_new + par[B], w_new)
    rc[fired] = par[REF_STEPS, fired].astype(np.int32)
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size
