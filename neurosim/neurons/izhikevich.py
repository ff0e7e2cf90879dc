"""Izhikevich (2003) simple model, in the paper's units (v in mV, t in ms, input in mV/ms).

``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``; when ``v >= v_peak``
(30 mV): ``v <- c``, ``u <- u + d``. Forward Euler with step ``dt``, both variables advanced
from their values at the start of the step (Brian2's ``euler``); needs ``dt <= 1 ms`` (the
quadratic term makes larger steps unstable), 0.1 ms or less for accurate spike times. The
drive ``I`` is the external input plus the current channels (read by the step itself, in
mV/ms) plus ``g (E_rev - v)`` for every conductance (``g`` in 1/ms). ``u`` keeps evolving during
an absolute refractory period ``t_ref`` (0 by default), ``v`` is held. Initial ``u = b v``.

Named parameter sets ``(a, b, c, d)`` from Fig. 2 of the paper: :data:`IZHIKEVICH_PRESETS`,
``Izhikevich.preset("chattering")`` or, in a model file,
``{kind = "izhikevich", preset = "chattering"}`` (explicit ``a`` .. ``d`` override the set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from ..errors import SpecError
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

__all__ = ["Izhikevich", "IZHIKEVICH_PRESETS", "step", "step_numpy"]

SLOTS = ("a", "b", "c", "d", "v_peak", "ref_steps")
A, B, C, D, V_PEAK, REF_STEPS = range(len(SLOTS))
ROWS = ("v", "u")
ROW_U = 1

#: Izhikevich (2003) Fig. 2 parameter sets ``(a, b, c, d)``.
IZHIKEVICH_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "regular_spiking": (0.02, 0.2, -65.0, 8.0),
    "intrinsically_bursting": (0.02, 0.2, -55.0, 4.0),
    "chattering": (0.02, 0.2, -50.0, 2.0),
    "fast_spiking": (0.1, 0.2, -65.0, 2.0),
    "low_threshold_spiking": (0.02, 0.25, -65.0, 2.0),
    "resonator": (0.1, 0.26, -65.0, 2.0),
    "thalamo_cortical": (0.02, 0.25, -65.0, 0.05),
}


def _preset_values(name, where: str = "") -> dict[str, float]:
    """``{"a": .., "b": .., "c": .., "d": ..}`` of a preset; a :class:`SpecError` prefixed by
    ``where`` and listing the known sets if there is none of that name."""
    if not isinstance(name, str) or name not in IZHIKEVICH_PRESETS:
        known = ", ".join(IZHIKEVICH_PRESETS)
        raise SpecError(f"{where}unknown Izhikevich parameter set {name!r} (known: {known})")
    return dict(zip("abcd", IZHIKEVICH_PRESETS[name]))


@register
@dataclass(frozen=True, kw_only=True)
class Izhikevich(NeuronModel):
    """Izhikevich (2003) simple model (equations in :mod:`neurosim.neurons.izhikevich`)."""

    kind: ClassVar[str] = "izhikevich"
    integrator: ClassVar[str] = "euler"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "u")
    ROWS: ClassVar[tuple[str, ...]] = ROWS
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    max_dt: ClassVar[float | None] = 1.0
    #: The slot compared with ``v`` (``inf``: a population that never fires).
    SLOT_THRESHOLD: ClassVar[str] = "v_peak"
    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    v_peak: float = 30.0
    v_init: float = -65.0
    t_ref: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        positive(self, "a")
        non_negative(self, "t_ref")
        if not self.v_peak > self.c:
            raise ValueError(f"v_peak: must be above c ({self.c}), got {self.v_peak}")

    @classmethod
    def preset(cls, name: str, **overrides) -> Izhikevich:
        """One of :data:`IZHIKEVICH_PRESETS` (Izhikevich 2003, Fig. 2); ``overrides`` win."""
        return cls(**(_preset_values(name) | overrides))

    @classmethod
    def table_defaults(cls, table: dict, prefix: str) -> dict:
        """Model-file hook of :func:`neurosim.neurons.base.neuron_from_table`: a ``preset`` key
        is replaced by its ``a`` .. ``d``; keys given explicitly in the table override it."""
        if "preset" not in table:
            return table
        table = dict(table)
        name = table.pop("preset")
        return _preset_values(name, f"{prefix}: preset: ") | table

    @property
    def v_initial(self) -> float:
        return self.v_init

    def param_values(self, dt):
        return {"a": self.a, "b": self.b, "c": self.c, "d": self.d, "v_peak": self.v_peak,
                "ref_steps": ref_steps(self.t_ref, dt)}

    def initial_state(self, v0):
        v0 = np.asarray(v0, dtype=np.float64)
        return {"v": v0, "u": self.b * v0}


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One Euler step of Izhikevich population ``p`` (see :mod:`neurosim.neurons.base`)."""
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
        u = x[ROW_U, i]
        i_tot = model.drive[row, i] + cur + ge - g * v
        u_new = u + dt * par[A, i] * (par[B, i] * v - u)
        if not ref:
            v = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + i_tot)
            if v >= par[V_PEAK, i]:
                v = par[C, i]
                u_new += par[D, i]
                rc[i] = np.int32(par[REF_STEPS, i])
                spikes[n_spk] = i
                n_spk += 1
        x[ROW_U, i] = u_new
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
    u = state.x[ROW_U, sl].copy()
    i_tot = model.drive[row, sl] + cur + ge - g * v
    u_new = u + dt * par[A] * (par[B] * v - u)
    v = np.where(held, v, v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + i_tot))
    fired = ~held & (v >= par[V_PEAK])
    state.x[ROW_V, sl] = np.where(fired, par[C], v)
    state.x[ROW_U, sl] = np.where(fired, u_new + par[D], u_new)
    rc[fired] = par[REF_STEPS, fired].astype(np.int32)
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size
