"""The leaky integrate-and-fire neuron as clock-driven SNN frameworks step it (DiscreteLIF).

NIR (the Neuromorphic Intermediate Representation) writes a neuron as a differential equation,
``tau_m dv/dt = (v_leak - v) + r I`` (LIF; ``dv/dt = r I / tau_m`` without the leak, IF), and
leaves the time step, the integration, the reset and the threshold test to the reader. Each
framework chooses them differently (:mod:`neurosim.interchange.conventions` lists the
choices of snnTorch, Norse, sinabs and SpikingJelly, with their sources); this model takes
those choices as parameters, so one compiled step runs every convention.

Per step of ``dt`` ms, with ``I`` the step's input (the weighted spikes delivered since the
previous step, plus the drive, plus ``g (E_rev - v)`` for conductances), each exponential
current channel ``s`` adding ``coef s`` (:meth:`DiscreteLIF.current_coefficient`)::

    v <- a v + (1 - a) v_leak + k I + sum_c coef_c s_c

- ``a`` (the decay over a step): ``1 - dt / tau_m`` (``integration = "euler"``, forward
  Euler), ``exp(-dt / tau_m)`` (``"exact"``), 1 without the leak (``leak = false``).
- ``k`` (the input gain): ``r dt / tau_m`` (``input_gain = "euler"``), ``r (1 - exp(-dt /
  tau_m))`` (``"exact"``, the exact integral of an input held over the step) or ``r`` per step
  whatever ``dt`` (``"step"``: ``v <- beta v + I`` of deep-learning frameworks). Without the
  leak, ``"euler"`` and ``"exact"`` both give ``r dt / tau_m``.
- Threshold: spike when ``v >= v_th`` (``threshold = ">="``, neurosim's test) or ``v > v_th``
  (``">"``, the Heaviside of PyTorch-based frameworks).
- Reset: to ``v_reset`` (``reset = "potential"``) or by subtraction of ``v_th - v_reset``
  (``"subtract"``); at once (the spike step ends reset) or, with ``reset_delay = true``, in
  the next step (snnTorch's ``reset_delay``): a neuron that spiked in step ``n`` is set to
  ``v_reset`` before step ``n + 1`` is integrated, or has ``v_th - v_reset`` subtracted after
  it is.
- ``interpolate = true`` (exact integration and gain, immediate reset): the threshold crossing
  is located inside the step (under the input held over the step), the reset happens there
  and the rest of the step is integrated from the reset value: the event-driven exact
  solution of a piecewise-constant input, at most one spike per step.
- ``t_ref``: absolute refractory period in whole steps (Brian2's rule, as every neurosim
  model); 0 in every NIR convention (NIR has no refractory period).
- ``fire = false``: integrate without firing (NIR's LI and I nodes, a readout).

State rows: row 0 (``"v"``, where every delta synapse delivers) collects the input of the
next step and is emptied by the step (as McCulloch-Pitts units); row 1 (``"v_mem"``) is the
membrane potential, which is what the model calls ``v`` (:data:`RECORD_ROWS`); row 2
(``"z"``) the spike of the last step (for the delayed reset). Units: ms and whatever units the
potentials and inputs come in (NIR's are dimensionless). No closed-form rate: the discrete
interval depends on the convention; the references are the platforms' own traces
(``tests/test_nir.py``).
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
from .lif import exact_current_coefficient

__all__ = ["DiscreteLIF", "INTEGRATIONS", "INPUT_GAINS", "THRESHOLD_TESTS", "step",
           "step_numpy"]

INTEGRATIONS = ("euler", "exact")
INPUT_GAINS = ("euler", "exact", "step")
THRESHOLD_TESTS = (">=", ">")

SLOTS = ("decay", "gain", "v_leak", "v_th", "v_reset", "subtract", "strict", "delayed",
         "interp", "tau_m", "ref_steps")
(DECAY, GAIN, V_LEAK, V_TH, V_RESET, SUBTRACT, STRICT, DELAYED, INTERP, TAU_M,
 REF_STEPS) = range(len(SLOTS))
ROWS = ("v", "v_mem", "z")
ROW_MEM, ROW_Z = 1, 2


@register
@dataclass(frozen=True, kw_only=True)
class DiscreteLIF(NeuronModel):
    """A LIF (or IF) neuron stepped by a stated convention (module docstring)."""

    kind: ClassVar[str] = "discrete_lif"
    integrator: ClassVar[str] = "discrete"
    ROWS: ClassVar[tuple[str, ...]] = ROWS
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    RECORD_ROWS: ClassVar[dict[str, int]] = {"v": ROW_MEM}
    tau_m: float = 10.0
    r: float = 1.0
    v_leak: float = 0.0
    v_th: float = 1.0
    v_reset: float = 0.0
    t_ref: float = 0.0
    leak: bool = True
    integration: str = "exact"
    input_gain: str = "exact"
    reset: str = "potential"
    reset_delay: bool = False
    threshold: str = ">="
    interpolate: bool = False
    fire: bool = True

    def __post_init__(self):
        super().__post_init__()
        positive(self, "tau_m")
        non_negative(self, "t_ref")
        check_reset(self, self.v_th, self.v_reset)
        for name, choices in (("integration", INTEGRATIONS), ("input_gain", INPUT_GAINS),
                              ("threshold", THRESHOLD_TESTS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name}: must be one of {', '.join(choices)}, got "
                                 f"{getattr(self, name)!r}")
        if self.reset_delay and self.t_ref > 0:
            raise ValueError("reset_delay: a delayed reset needs t_ref = 0 (the reset would "
                             "fall inside the refractory period)")
        if self.interpolate and (self.reset_delay or self.integration != "exact"
                                 or self.input_gain == "step"):
            raise ValueError("interpolate: needs exact integration, an exact or euler input "
                             "gain and an immediate reset")

    @property
    def v_initial(self) -> float:
        return self.v_leak

    def decay(self, dt: float) -> float:
        """``a``: what is left of ``v - v_leak`` after one step."""
        if not self.leak:
            return 1.0
        return 1.0 - dt / self.tau_m if self.integration == "euler" else math.exp(-dt / self.tau_m)

    def gain(self, dt: float) -> float:
        """``k``: how much ``v`` moves per unit of input held over one step."""
        if self.input_gain == "step":
            return self.r
        if self.input_gain == "exact" and self.leak:
            return self.r * -math.expm1(-dt / self.tau_m)
        return self.r * dt / self.tau_m

    def param_values(self, dt):
        return {"decay": self.decay(dt), "gain": self.gain(dt), "v_leak": self.v_leak,
                "v_th": self.v_th if self.fire else math.inf, "v_reset": self.v_reset,
                "subtract": float(self.reset == "subtract"),
                "strict": float(self.threshold == ">"), "delayed": float(self.reset_delay),
                "interp": float(self.interpolate), "tau_m": self.tau_m,
                "ref_steps": ref_steps(self.t_ref, dt)}

    def initial_state(self, v0):
        v0 = np.asarray(v0, dtype=np.float64)
        return {"v": np.zeros_like(v0), "v_mem": v0.copy(), "z": np.zeros_like(v0)}

    def current_coefficient(self, tau_s, dt):
        # exact integration: the exact integral of the decaying current over the step (the
        # coupled linear system, as LIF); otherwise the current is held over the step
        if self.leak and self.integration == "exact" and self.input_gain == "exact":
            return self.r * exact_current_coefficient(self.tau_m, tau_s, dt)
        return self.gain(dt)


@numba.njit(**INLINE)
def _crossing_reset(v0, v1, th, vr, subtract, leaky, tau, dt):
    """``v`` at the end of a step that crossed ``th``, reset at the crossing (input held over
    the step: ``v1`` is where the step ends without a reset)."""
    if leaky:
        a = math.exp(-dt / tau)
        v_inf = (v1 - a * v0) / (1.0 - a)
        t_c = 0.0
        if v0 < th and v_inf > th:
            t_c = tau * math.log((v_inf - v0) / (v_inf - th))
        left = math.exp(-(dt - t_c) / tau)
        if subtract:
            return v1 - (th - vr) * left
        return v_inf + (vr - v_inf) * left
    # no leak: v moves linearly, so what is left after the crossing is v1 - th
    return v1 - (th - vr) if subtract else vr + (v1 - max(v0, th))


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One step of DiscreteLIF population ``p`` (see :mod:`neurosim.neurons.base`)."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    x = state.x
    chan = model.chan
    dt = model.dt
    for i in range(start, end):
        pending = x[ROW_V, i]
        x[ROW_V, i] = 0.0
        z = x[ROW_Z, i] > 0.0
        x[ROW_Z, i] = 0.0
        if refractory(state.refc, i):
            continue
        th = par[V_TH, i]
        vr = par[V_RESET, i]
        subtract = par[SUBTRACT, i] > 0.0
        delayed = par[DELAYED, i] > 0.0
        v = x[ROW_MEM, i]
        if delayed and z and not subtract:
            v = vr
        cur, g, ge = channel_inputs(model, state, i)
        k = par[GAIN, i]
        a = par[DECAY, i]
        v1 = a * v + (1.0 - a) * par[V_LEAK, i] + k * pending \
            + k * (model.drive[row, i] + ge - g * v)
        for c in range(chan.shape[0]):
            if chan[c, CHAN_KIND] == SYN_CURRENT:
                v1 += model.chan_coef[c, i] * state.syn[c, i]
        if delayed and z and subtract:
            v1 -= th - vr
        fired = v1 > th if par[STRICT, i] > 0.0 else v1 >= th
        if fired:
            if delayed:
                x[ROW_Z, i] = 1.0
            elif par[INTERP, i] > 0.0:
                v1 = _crossing_reset(v, v1, th, vr, subtract, a != 1.0, par[TAU_M, i], dt)
            else:
                v1 = v1 - (th - vr) if subtract else vr
            state.refc[i] = np.int32(par[REF_STEPS, i])
            spikes[n_spk] = i
            n_spk += 1
        x[ROW_MEM, i] = v1
    decay_channels(model, state, start, end)
    return n_spk


def _crossing_reset_numpy(v0, v1, th, vr, subtract, leaky, tau, dt):
    """Twin of :func:`_crossing_reset`, element-wise over arrays."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.exp(-dt / tau)
        v_inf = (v1 - a * v0) / (1.0 - a)
        cross = (v0 < th) & (v_inf > th)
        t_c = np.where(cross, tau * np.log(np.where(cross, (v_inf - v0) / (v_inf - th), 1.0)),
                       0.0)
        left = np.exp(-(dt - t_c) / tau)
        leaky_v = np.where(subtract, v1 - (th - vr) * left, v_inf + (vr - v_inf) * left)
    flat_v = np.where(subtract, v1 - (th - vr), vr + (v1 - np.maximum(v0, th)))
    return np.where(leaky, leaky_v, flat_v)


def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`, whole-array NumPy over the population."""
    sl = slice(int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
    par = model.par[:, sl]
    x = state.x
    pending = x[ROW_V, sl].copy()
    x[ROW_V, sl] = 0.0
    z = x[ROW_Z, sl] > 0.0
    x[ROW_Z, sl] = 0.0
    rc = state.refc[sl]
    rc[rc > 0] -= 1
    free = rc == 0
    th, vr, a, k = par[V_TH], par[V_RESET], par[DECAY], par[GAIN]
    subtract = par[SUBTRACT] > 0.0
    delayed = par[DELAYED] > 0.0
    v = x[ROW_MEM, sl].copy()
    v = np.where(delayed & z & ~subtract, vr, v)
    _, g, ge = channel_inputs_numpy(model, state, sl)
    v1 = a * v + (1.0 - a) * par[V_LEAK] + k * pending + k * (model.drive[row, sl] + ge - g * v)
    for c in np.flatnonzero(model.chan[:, CHAN_KIND] == SYN_CURRENT):
        v1 = v1 + model.chan_coef[c, sl] * state.syn[c, sl]
    v1 = np.where(delayed & z & subtract, v1 - (th - vr), v1)
    fired = free & np.where(par[STRICT] > 0.0, v1 > th, v1 >= th)
    interp = fired & ~delayed & (par[INTERP] > 0.0)
    plain = fired & ~delayed & ~interp
    crossed = _crossing_reset_numpy(v, v1, th, vr, subtract, a != 1.0, par[TAU_M], model.dt)
    v1 = np.where(interp, crossed, v1)
    v1 = np.where(plain, np.where(subtract, v1 - (th - vr), vr), v1)
    x[ROW_Z, sl] = np.where(fired & delayed, 1.0, 0.0)
    rc[fired] = par[REF_STEPS, fired].astype(np.int32)
    x[ROW_MEM, sl] = np.where(free, v1, x[ROW_MEM, sl])
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size
