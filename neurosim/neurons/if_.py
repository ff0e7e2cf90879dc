"""Perfect (non-leaky) integrate-and-fire neurons (IF): the spiking twin of ReLU.

``c_m dv/dt = I`` (nF, mV, nA), integrated exactly for piecewise-constant input:
``v(t + dt) = v + I dt / c_m``; an exponential current channel of value ``s`` at the start of
the step adds its exact integral ``s tau_s (1 - exp(-dt / tau_s)) / c_m``; a conductance adds
``dt g (E_rev - v) / c_m``. Spike when ``v >= v_th``; then ``v <- v - (v_th - v_reset)``
(``reset = "subtract"``, the default) or ``v <- v_reset``; refractory for ``t_ref``.

Rate under constant ``I`` (Hz): ``1000 / (t_ref + c_m (v_th - v_reset) / I)`` for ``I > 0``
(reset to a potential); with reset by subtraction and no refractory period
``1000 max(I, 0) / (c_m (v_th - v_reset))``. With ``c_m = 1``, ``v_th = 1``, ``v_reset = 0``
and ``dt = 1 ms`` that is ``max(J, 0)`` spikes per step, the ReLU: an IF layer is a ReLU
layer run as spikes (:data:`IF_LAYER`).
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
from ..kernels.layout import CHAN_KIND, POP_END, POP_START, ROW_V, SYN_CURRENT
from .base import NeuronModel, check_reset, non_negative, positive, ref_steps, register

__all__ = ["IF", "IF_LAYER", "step", "step_numpy", "layer_step", "layer_step_numpy"]

SLOTS = ("c_m", "v_th", "v_reset", "subtract", "ref_steps")
C_M, V_TH, V_RESET, SUBTRACT, REF_STEPS = range(len(SLOTS))


@register
@dataclass(frozen=True, kw_only=True)
class IF(NeuronModel):
    """Perfect integrate-and-fire neuron (equations in :mod:`neurosim.neurons.if_`)."""

    kind: ClassVar[str] = "if"
    integrator: ClassVar[str] = "exact"
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    c_m: float = 1.0
    v_th: float = 1.0
    v_reset: float = 0.0
    reset: str = "subtract"
    t_ref: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        positive(self, "c_m")
        non_negative(self, "t_ref")
        check_reset(self, self.v_th, self.v_reset)

    def rate(self, current, dt=None):
        i = np.asarray(current, dtype=np.float64)
        out = np.zeros_like(i)
        pos = i > 0
        period = self.c_m * (self.v_th - self.v_reset) / np.where(pos, i, 1.0)
        ref = 0.0 if self.reset == "subtract" else self.t_ref
        out[pos] = 1000.0 / (ref + period[pos])
        return out

    def param_values(self, dt):
        return {"c_m": self.c_m, "v_th": self.v_th, "v_reset": self.v_reset,
                "subtract": float(self.reset == "subtract"),
                "ref_steps": ref_steps(self.t_ref, dt)}

    def current_coefficient(self, tau_s, dt):
        # charge per unit current over the step; divided by c_m in the step
        return tau_s * (1.0 - math.exp(-dt / tau_s))


#: The IF of ReLU layers: threshold 1, reset by subtraction to 0, ``c_m = 1 nF``; at
#: ``dt = 1 ms`` it fires ``max(J, 0)`` spikes per step under drive ``J``.
IF_LAYER = IF(c_m=1.0, v_th=1.0, v_reset=0.0, reset="subtract", t_ref=0.0)


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One step of IF population ``p`` (see :mod:`neurosim.neurons.base`)."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    x = state.x
    dt = model.dt
    chan = model.chan
    for i in range(start, end):
        ref = refractory(state.refc, i)
        if ref:
            continue
        v = x[ROW_V, i]
        cur, g, ge = channel_inputs(model, state, i)
        syn = 0.0
        for c in range(chan.shape[0]):
            if chan[c, CHAN_KIND] == SYN_CURRENT:
                syn += model.chan_coef[c, i] * state.syn[c, i]
        v += (model.drive[row, i] * dt + syn + dt * (ge - g * v)) / par[C_M, i]
        if v >= par[V_TH, i]:
            v = v - (par[V_TH, i] - par[V_RESET, i]) if par[SUBTRACT, i] > 0.0 \
                else par[V_RESET, i]
            state.refc[i] = np.int32(par[REF_STEPS, i])
            spikes[n_spk] = i
            n_spk += 1
        x[ROW_V, i] = v
    decay_channels(model, state, start, end)
    return n_spk


def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`."""
    sl = slice(int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
    par = model.par[:, sl]
    rc = state.refc[sl]
    rc[rc > 0] -= 1
    free = rc == 0
    v = state.x[ROW_V, sl]
    _, g, ge = channel_inputs_numpy(model, state, sl)
    cur_ch = np.flatnonzero(model.chan[:, CHAN_KIND] == SYN_CURRENT)
    syn = np.zeros(v.size)
    for c in cur_ch:
        syn = syn + model.chan_coef[c, sl] * state.syn[c, sl]
    dt = model.dt
    vn = v + (model.drive[row, sl] * dt + syn + dt * (ge - g * v)) / par[C_M]
    vn = np.where(free, vn, v)
    fired = free & (vn >= par[V_TH])
    vn = np.where(fired, np.where(par[SUBTRACT] > 0, vn - (par[V_TH] - par[V_RESET]),
                                  par[V_RESET]), vn)
    rc[fired] = par[REF_STEPS, fired].astype(np.int32)
    state.x[ROW_V, sl] = vn
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size


# -- batched layer step (the layered fast path, float32 state) ----------------------------------

@numba.njit(**INLINE)
def layer_step(v, current, bias, thr, spiking, spikes):
    """One step of an IF layer of the layered fast path (:mod:`neurosim.kernels.layers`):
    the model above with ``c_m = dt`` (so the drive is added once per step), reset by
    subtraction to 0, no refractory period, a delta channel ``current`` (this step's spike
    input, cleared here)::

        v += current + bias;    if v >= thr: spike, v -= thr

    ``spiking = False``: integrate only (the membrane readout). Writes the indices of the
    neurons that spiked (ascending, local to the layer) to ``spikes``; returns their number.
    """
    nv = v.shape[0]
    vv = v[:nv]
    cc = current[:nv]
    bb = bias[:nv]
    # Two passes: a branch-free integration pass that LLVM vectorises, then a threshold scan
    # (spikes are rare, so its branch is well predicted).
    for k in range(nv):
        vv[k] += cc[k] + bb[k]
        cc[k] = 0.0
    n = 0
    if spiking:
        for k in range(nv):
            if vv[k] >= thr:
                vv[k] -= thr
                spikes[n] = k
                n += 1
    return n


def layer_step_numpy(v, current, bias, thr, spiking, spikes):
    """Twin of :func:`layer_step`."""
    vk = (v + (current + bias)).astype(np.float32)  # same order as the kernel
    current[:] = 0.0
    fired = (vk >= thr) if spiking else np.zeros(v.shape, bool)
    vk[fired] -= np.float32(thr)
    v[:] = vk
    idx = np.flatnonzero(fired)
    spikes[:idx.size] = idx
    return idx.size
