"""A quadratic integrate-and-fire neuron, added to neurosim the way any neuron model is: this
one module (spec class, compiled step, NumPy twin) and its registration (``@register``).
Nothing else in the package changes; tests/test_registry.py runs it in a population network
and as a layer.

``tau_m dv/dt = v^2 / v_s + r_m I`` (ms, mV, MOhm, nA; ``v_s`` in mV sets the curvature),
forward Euler; spike when ``v >= v_peak``, then ``v <- v_reset``; refractory for ``t_ref``.
Under constant ``I > 0`` with ``c = sqrt(v_s r_m I)`` the trajectory is
``v(t) = c tan(c t / (v_s tau_m) + const)``, so the interspike interval is
``T = t_ref + (v_s tau_m / c) (atan(v_peak / c) - atan(v_reset / c))``; ``I <= 0`` never
fires from a reset below 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from neurosim.kernels.channels import (
    channel_inputs,
    channel_inputs_numpy,
    decay_channels,
    decay_channels_numpy,
    refractory,
)
from neurosim.kernels.config import INLINE
from neurosim.kernels.layout import POP_END, POP_START, ROW_V
from neurosim.neurons.base import NeuronModel, non_negative, positive, ref_steps, register

SLOTS = ("tau_m", "r_m", "v_s", "v_peak", "v_reset", "ref_steps")
TAU_M, R_M, V_S, V_PEAK, V_RESET, REF_STEPS = range(len(SLOTS))


@register
@dataclass(frozen=True, kw_only=True)
class QIF(NeuronModel):
    """Quadratic integrate-and-fire neuron (module docstring)."""

    kind: ClassVar[str] = "qif"
    integrator: ClassVar[str] = "euler"
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    SLOT_THRESHOLD: ClassVar[str] = "v_peak"
    max_dt: ClassVar[float] = 0.1
    tau_m: float = 10.0
    r_m: float = 10.0
    v_s: float = 10.0
    v_peak: float = 30.0
    v_reset: float = -10.0
    t_ref: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        positive(self, "tau_m", "r_m", "v_s")
        non_negative(self, "t_ref")
        if not self.v_peak > 0 > self.v_reset:
            raise ValueError(f"v_peak, v_reset: need v_peak > 0 > v_reset, got "
                             f"{self.v_peak}, {self.v_reset}")

    @property
    def v_initial(self) -> float:
        return self.v_reset

    def rate(self, current, dt=None):
        i = np.asarray(current, dtype=np.float64)
        c = np.sqrt(self.v_s * self.r_m * np.maximum(i, 1e-300))
        isi = self.t_ref + self.v_s * self.tau_m / c * (np.arctan(self.v_peak / c)
                                                        - np.arctan(self.v_reset / c))
        return np.where(i > 0, 1000.0 / isi, 0.0)

    def param_values(self, dt):
        return {"tau_m": self.tau_m, "r_m": self.r_m, "v_s": self.v_s, "v_peak": self.v_peak,
                "v_reset": self.v_reset, "ref_steps": ref_steps(self.t_ref, dt)}


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One Euler step of QIF population ``p``."""
    par = model.par
    x = state.x
    for i in range(model.pop[p, POP_START], model.pop[p, POP_END]):
        if refractory(state.refc, i):
            continue
        cur, g, ge = channel_inputs(model, state, i)
        v = x[ROW_V, i]
        drive = model.drive[row, i] + cur + ge - g * v
        v += model.dt * (v * v / par[V_S, i] + par[R_M, i] * drive) / par[TAU_M, i]
        if v >= par[V_PEAK, i]:
            v = par[V_RESET, i]
            state.refc[i] = np.int32(par[REF_STEPS, i])
            spikes[n_spk] = i
            n_spk += 1
        x[ROW_V, i] = v
    decay_channels(model, state, model.pop[p, POP_START], model.pop[p, POP_END])
    return n_spk


def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`."""
    sl = slice(int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
    par = model.par[:, sl]
    rc = state.refc[sl]
    counting = rc > 0
    rc[counting] -= 1
    free = rc == 0
    _, g, ge = channel_inputs_numpy(model, state, sl)
    cur = channel_inputs_numpy(model, state, sl)[0]
    v = state.x[ROW_V, sl]
    drive = model.drive[row, sl] + cur + ge - g * v
    vn = v + model.dt * (v * v / par[V_S] + par[R_M] * drive) / par[TAU_M]
    vn = np.where(free, vn, v)
    fired = free & (vn >= par[V_PEAK])
    vn = np.where(fired, par[V_RESET], vn)
    rc[fired] = par[REF_STEPS, fired].astype(np.int32)
    state.x[ROW_V, sl] = vn
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size


