"""Leaky integrate-and-fire neurons (LIF) and LIF with spike-triggered adaptation (ALIF).

One model, used everywhere: population networks (CUBA, COBA), LIF layers of a layered network
(the spiking twin of the LIF rate curve, see :data:`LIF_LAYER`) and the STDP demo.

``tau_m dv/dt = -(v - v_rest) + r_m (I - w)`` (ms, mV, MOhm, nA), ``w = 0`` for LIF. Between
steps the input is constant, so ``v`` is integrated exactly:
``v(t + dt) = v_inf + (v - v_inf) exp(-dt / tau_m)``, ``v_inf = v_rest + r_m I``. Exponential
current synapses are integrated exactly too (the coupled linear system, as Brian2's ``exact``
method): a channel of value ``s`` at the start of the step adds ``r_m s A`` with
``A = tau_s / (tau_s - tau_m) (exp(-dt / tau_s) - exp(-dt / tau_m))``. Conductances are held
over the step (Brian2's ``exponential_euler``). Spike when ``v >= v_th``; reset to ``v_reset``
or by subtraction of ``v_th - v_reset``; refractory for ``t_ref``. While refractory ``v`` is
held; input arriving then (a delta synapse's jump) is kept and acts afterwards
(``refractory_input = true``, Brian2's ``v += w`` on a refractory neuron) or dropped
(``false``: ``v`` is clamped at ``v_reset``, NEST's ``iaf_psc_delta`` default).

Refractoriness, two schemes:

- ``interpolate = false`` (default): counted in whole steps from the spike step (Brian2's
  schedule), so spike times agree with Brian2's to the step.
- ``interpolate = true``: the threshold crossing is located inside the step and the
  refractory period starts there (Nengo's ``LIF.step``): under constant drive the spike count
  in ``T`` steps is that of the continuous neuron at any ``dt``, so the simulated rate is
  :meth:`LIF.rate` within one spike per ``T dt``. LIF layers use it.

Rate under constant ``I`` (Hz): zero if ``v_inf < v_th``, else ``1000 / T`` with
``T = t_ref + tau_m ln((v_inf - v_reset) / (v_inf - v_th))``.

ALIF adds ``tau_w dw/dt = -w`` and ``w <- w + b`` on a spike (``w`` in nA); it enters ``v`` as
an exponentially decaying current (exact, like a synapse of time constant ``tau_w``).
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
)
from ..kernels.config import INLINE
from ..kernels.layout import (
    CHAN_DECAY,
    CHAN_KIND,
    FLAG_CONDUCTANCE,
    FLAG_UNIFORM,
    POP_END,
    POP_FLAGS,
    POP_START,
    ROW_V,
    SYN_CURRENT,
    SYN_DELTA,
    Model,
)
from .base import NeuronModel, check_reset, non_negative, positive, ref_steps, register

__all__ = ["LIF", "AdaptiveLIF", "LIF_LAYER", "exact_current_coefficient", "step", "step_numpy",
           "step_current", "step_conductance", "step_interpolated",
           "layer_step", "layer_step_numpy", "layer_potential", "layer_potential_numpy"]

# Parameter slots (``Model.par`` rows) and state rows of LIF and ALIF.
SLOTS = ("tau_m", "r_m", "v_rest", "v_th", "v_reset", "subtract", "ref_steps", "decay",
         "w_decay", "b", "w_coef", "interpolate", "t_ref", "clamp")
(TAU_M, R_M, V_REST, V_TH, V_RESET, SUBTRACT, REF_STEPS, DECAY, W_DECAY, B, W_COEF, INTERP,
 T_REF, CLAMP) = range(len(SLOTS))
ROWS = ("v", "w", "t_left")
ROW_W, ROW_T_LEFT = 1, 2


def exact_current_coefficient(tau_m: float, tau_s: float, dt: float) -> float:
    """``A``: the LIF potential change per unit of ``r_m s`` over one step (module doc)."""
    if abs(tau_s - tau_m) < 1e-12 * tau_m:
        return dt / tau_m * math.exp(-dt / tau_m)
    return tau_s / (tau_s - tau_m) * (math.exp(-dt / tau_s) - math.exp(-dt / tau_m))


@register
@dataclass(frozen=True, kw_only=True)
class LIF(NeuronModel):
    """Leaky integrate-and-fire neuron (equations in :mod:`neurosim.neurons.lif`)."""

    kind: ClassVar[str] = "lif"
    integrator: ClassVar[str] = "exact"
    ROWS: ClassVar[tuple[str, ...]] = ROWS
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    tau_m: float = 10.0
    r_m: float = 10.0
    v_rest: float = -65.0
    v_th: float = -50.0
    v_reset: float = -65.0
    reset: str = "potential"
    t_ref: float = 2.0
    interpolate: bool = False
    refractory_input: bool = True

    def __post_init__(self):
        super().__post_init__()
        positive(self, "tau_m", "r_m")
        if not self.refractory_input and (self.reset != "potential" or self.interpolate):
            raise ValueError("refractory_input: false (input dropped while refractory) needs "
                             "reset = \"potential\" and step-counted refractoriness")
        non_negative(self, "t_ref")
        check_reset(self, self.v_th, self.v_reset)

    def dt_bound(self):
        """``dt <= tau_m``: the exact update holds the drive constant over a step and stamps a
        spike on its step; a step longer than the membrane's time constant forgets the whole
        potential within one step (the model degenerates to a threshold unit)."""
        return self.tau_m, "at most the membrane time constant tau_m"

    def isi(self, current):
        """Interspike interval (ms) under constant ``current`` (nA); ``inf`` when silent."""
        i = np.asarray(current, dtype=np.float64)
        v_inf = self.v_rest + self.r_m * i
        above = v_inf > self.v_th
        safe = np.where(above, v_inf, self.v_th + 1.0)
        # ln((v_inf - v_reset) / (v_inf - v_th)) as log1p, accurate just above threshold
        t = self.t_ref + self.tau_m * np.log1p((self.v_th - self.v_reset) / (safe - self.v_th))
        return np.where(above, t, np.inf)

    def rate(self, current, dt=None):
        return 1000.0 / self.isi(current)

    def param_values(self, dt):
        return {"tau_m": self.tau_m, "r_m": self.r_m, "v_rest": self.v_rest,
                "v_th": self.v_th, "v_reset": self.v_reset,
                "subtract": float(self.reset == "subtract"),
                "ref_steps": ref_steps(self.t_ref, dt), "decay": math.exp(-dt / self.tau_m),
                "w_decay": 1.0, "b": 0.0, "w_coef": 0.0,
                "interpolate": float(self.interpolate), "t_ref": self.t_ref,
                "clamp": float(not self.refractory_input)}

    def current_coefficient(self, tau_s, dt):
        return self.r_m * exact_current_coefficient(self.tau_m, tau_s, dt)

    def step_for(self, flags: int) -> str:
        if self.interpolate:
            return "step_interpolated"
        return "step_conductance" if flags & FLAG_CONDUCTANCE else "step_current"


@register
@dataclass(frozen=True, kw_only=True)
class AdaptiveLIF(LIF):
    """LIF with a spike-triggered adaptation current ``w`` (nA): ``tau_w dw/dt = -w``, on a
    spike ``w <- w + b``. No closed-form rate (it depends on the adaptation history); the rate
    after adaptation is below :meth:`LIF.rate`."""

    kind: ClassVar[str] = "alif"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "w")
    tau_w: float = 100.0
    b: float = 0.05

    def __post_init__(self):
        super().__post_init__()
        positive(self, "tau_w")
        non_negative(self, "b")

    def dt_bound(self):
        """``dt <= min(tau_m, tau_w)``: see :meth:`LIF.dt_bound`; the adaptation current too
        must not decay away within one step."""
        if self.tau_w < self.tau_m:
            return self.tau_w, "at most the adaptation time constant tau_w"
        return super().dt_bound()

    def rate(self, current, dt=None):
        raise NotImplementedError("alif has no closed-form rate function")

    @property
    def has_rate(self) -> bool:
        return False

    def param_values(self, dt):
        return super().param_values(dt) | {
            "w_decay": math.exp(-dt / self.tau_w), "b": self.b,
            "w_coef": self.r_m * exact_current_coefficient(self.tau_m, self.tau_w, dt)}


#: The LIF of LIF layers (Nengo's normalisation: threshold 1, reset 0, ``r_m = 1``,
#: ``tau_m = 20 ms``, ``t_ref = 2 ms``, interpolated refractoriness): its rate curve in Hz is
#: the classic ``lif`` activation, ``1 / (t_ref + tau_m ln(1 + 1 / (J - 1)))`` for ``J > 1``.
LIF_LAYER = LIF(tau_m=20.0, r_m=1.0, v_rest=0.0, v_th=1.0, v_reset=0.0, t_ref=2.0,
                interpolate=True)


# -- compiled step ------------------------------------------------------------------------------

@numba.njit(**INLINE)
def _step_uniform(p, model, state, row, spikes, n_spk, c0, c1):
    """Homogeneous population, current channels ``c0``, ``c1`` only (E and I currents, as
    CUBA): one branch-free pass that relaxes ``v``, adds both channels and decays them, which
    LLVM vectorises; then a threshold scan, skipped when nobody crossed. The loops run over
    slices from 0: LLVM vectorises those, not loops over ``range(start, end)``."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    r_m = par[R_M, start]
    v_rest = par[V_REST, start]
    v_th = par[V_TH, start]
    subtract = par[SUBTRACT, start] > 0.0
    jump = v_th - par[V_RESET, start]
    v_reset = par[V_RESET, start]
    n_ref = np.int32(par[REF_STEPS, start])
    decay = par[DECAY, start]
    clamp = par[CLAMP, start] > 0.0
    xv = state.x[ROW_V, start:end]
    rc = state.refc[start:end]
    drive = model.drive[row, start:end]
    k0 = model.chan_coef[c0, start]
    k1 = model.chan_coef[c1, start]
    d0 = model.chan[c0, CHAN_DECAY]
    d1 = model.chan[c1, CHAN_DECAY]
    s0 = state.syn[c0, start:end]
    s1 = state.syn[c1, start:end]
    m = end - start
    crossed = 0
    for j in range(m):
        r = rc[j]
        r = r - 1 if r > 0 else r
        rc[j] = r
        v = xv[j]
        v_inf = v_rest + r_m * drive[j]
        vn = v_inf + (v - v_inf) * decay + k0 * s0[j] + k1 * s1[j]
        xv[j] = (v_reset if clamp else v) if r > 0 else vn
        crossed += 1 if vn >= v_th and r == 0 else 0
        s0[j] *= d0
        s1[j] *= d1
    chan = model.chan
    for c in range(chan.shape[0]):
        if chan[c, CHAN_KIND] != SYN_DELTA and c != c0 and c != c1:
            sc = state.syn[c, start:end]
            d = chan[c, CHAN_DECAY]
            for j in range(m):
                sc[j] *= d
    for j in range(m if crossed > 0 else 0):
        if xv[j] >= v_th and rc[j] == 0:
            xv[j] = xv[j] - jump if subtract else v_reset
            rc[j] = n_ref
            spikes[n_spk] = start + j
            n_spk += 1
    return n_spk


@numba.njit(**INLINE)
def _step_uniform_conductance(p, model, state, row, spikes, n_spk):
    """Homogeneous population with conductances held over the step (exponential Euler, one
    exp per neuron, as COBA): parameters read once; channel decay and the threshold scan in
    loops of their own."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    tau_m = par[TAU_M, start]
    r_m = par[R_M, start]
    v_rest = par[V_REST, start]
    v_th = par[V_TH, start]
    subtract = par[SUBTRACT, start] > 0.0
    v_reset = par[V_RESET, start]
    n_ref = np.int32(par[REF_STEPS, start])
    w_decay = par[W_DECAY, start]
    b = par[B, start]
    alif = b != 0.0 or w_decay != 1.0
    dt = model.dt
    xv = state.x[ROW_V, start:end]
    xw = state.x[ROW_W, start:end]
    rc = state.refc[start:end]
    drive = model.drive[row, start:end]
    for j in range(end - start):
        r = rc[j]
        if r > 0:
            r -= 1
            rc[j] = r
        if r > 0:
            if par[CLAMP, start] > 0.0:
                xv[j] = v_reset
            continue
        cur, g, ge = channel_inputs(model, state, start + j)
        g_tot = 1.0 + r_m * g
        v_inf = (v_rest + r_m * (drive[j] - xw[j] + cur + ge)) / g_tot
        xv[j] = v_inf + (xv[j] - v_inf) * math.exp(-dt * g_tot / tau_m)
    decay_channels(model, state, start, end)
    if alif:
        for j in range(end - start):
            xw[j] *= w_decay
    for j in range(end - start):
        if xv[j] >= v_th and rc[j] == 0:
            xv[j] = xv[j] - (v_th - v_reset) if subtract else v_reset
            xw[j] += b
            rc[j] = n_ref
            spikes[n_spk] = start + j
            n_spk += 1
    return n_spk


@numba.njit(**INLINE)
def _step_interpolated(p, model, state, row, spikes, n_spk):
    """Nengo's scheme, neuron by neuron: integrate exactly over the non-refractory part of the
    step (refractory time left in state row ``t_left``, ms), locate the threshold crossing
    inside the step and start the refractory period there."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    x = state.x
    dt = model.dt
    for i in range(start, end):
        v_th = par[V_TH, i]
        w = x[ROW_W, i]
        v = x[ROW_V, i]
        cur, g, ge = channel_inputs(model, state, i)
        tau = par[TAU_M, i]
        j_in = par[V_REST, i] + par[R_M, i] * (model.drive[row, i] - w + cur)
        left = x[ROW_T_LEFT, i] - dt
        if left <= -dt:
            v = j_in + (v - j_in) * par[DECAY, i]
        elif left < 0.0:
            v = j_in + (v - j_in) * math.exp(left / tau)
        t_left = max(left, 0.0)
        if v >= v_th:
            t_c = dt
            if j_in > v_th:
                # crossing time inside the step; 0 when v was above threshold already at its
                # start (a delta input or an initial potential above threshold)
                frac = -(v - v_th) / (j_in - v_th)
                t_c = dt + tau * math.log1p(frac) if frac > -1.0 else 0.0
            v = v - (v_th - par[V_RESET, i]) if par[SUBTRACT, i] > 0.0 else par[V_RESET, i]
            t_left = par[T_REF, i] + t_c - dt
            w += par[B, i]
            spikes[n_spk] = i
            n_spk += 1
        x[ROW_T_LEFT, i] = t_left
        x[ROW_V, i] = v
        x[ROW_W, i] = w * par[W_DECAY, i]
    decay_channels(model, state, start, end)
    return n_spk


@numba.njit(**INLINE)
def _step_general(p, model, state, row, spikes, n_spk, cond):
    """Any step-counted LIF/ALIF population, neuron by neuron: per-neuron parameters,
    adaptation, exact current channels or (``cond``) conductances held over the step."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    x = state.x
    rc = state.refc
    chan = model.chan
    dt = model.dt
    n_chan = chan.shape[0]
    for i in range(start, end):
        r_m = par[R_M, i]
        v_rest = par[V_REST, i]
        v_th = par[V_TH, i]
        w = x[ROW_W, i]
        v = x[ROW_V, i]
        drive = model.drive[row, i]
        r = rc[i]
        if r > 0:
            r -= 1
            rc[i] = r
        if r == 0:
            if cond:
                cur, g, ge = channel_inputs(model, state, i)
                g_tot = 1.0 + r_m * g
                v_inf = (v_rest + r_m * (drive - w + cur + ge)) / g_tot
                v = v_inf + (v - v_inf) * math.exp(-dt * g_tot / par[TAU_M, i])
            else:
                v_inf = v_rest + r_m * drive
                v = v_inf + (v - v_inf) * par[DECAY, i] - par[W_COEF, i] * w
                for c in range(n_chan):
                    k = model.chan_coef[c, i]
                    if chan[c, CHAN_KIND] == SYN_CURRENT and k != 0.0:
                        v += k * state.syn[c, i]
        elif par[CLAMP, i] > 0.0:
            v = par[V_RESET, i]
        w *= par[W_DECAY, i]
        if v >= v_th and r == 0:
            v = v - (v_th - par[V_RESET, i]) if par[SUBTRACT, i] > 0.0 else par[V_RESET, i]
            w += par[B, i]
            rc[i] = np.int32(par[REF_STEPS, i])
            spikes[n_spk] = i
            n_spk += 1
        x[ROW_V, i] = v
        x[ROW_W, i] = w
    decay_channels(model, state, start, end)
    return n_spk


# The builder picks one of three steps per population (NeuronModel.step_for), so that a
# network compiles only the code its populations use (CUBA: the current step alone).

@numba.njit(**INLINE)
def step_current(p, model, state, row, spikes, n_spk):
    """Step-counted LIF/ALIF with current (or delta) channels only."""
    start = model.pop[p, POP_START]
    par = model.par
    if (model.pop[p, POP_FLAGS] & FLAG_UNIFORM) != 0 and par[B, start] == 0.0:
        n_cur = 0
        c0 = 0
        c1 = 0
        for c in range(model.chan.shape[0]):
            if model.chan[c, CHAN_KIND] == SYN_CURRENT and model.chan_coef[c, start] != 0.0:
                if n_cur == 0:
                    c0 = c
                elif n_cur == 1:
                    c1 = c
                n_cur += 1
        if n_cur == 2:
            return _step_uniform(p, model, state, row, spikes, n_spk, c0, c1)
    return _step_general(p, model, state, row, spikes, n_spk, False)


@numba.njit(**INLINE)
def step_conductance(p, model, state, row, spikes, n_spk):
    """Step-counted LIF/ALIF with conductance channels (exponential Euler)."""
    if (model.pop[p, POP_FLAGS] & FLAG_UNIFORM) != 0:
        return _step_uniform_conductance(p, model, state, row, spikes, n_spk)
    return _step_general(p, model, state, row, spikes, n_spk, True)


@numba.njit(**INLINE)
def step_interpolated(p, model, state, row, spikes, n_spk):
    """LIF/ALIF with interpolated refractoriness (``interpolate = true``)."""
    return _step_interpolated(p, model, state, row, spikes, n_spk)


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One step of LIF/ALIF population ``p`` (see :mod:`neurosim.neurons.base`) in any
    configuration, neurons with and without interpolated refractoriness mixed: the three
    steps above in one (what a record built by hand may need; the builder picks one of the
    three)."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    n_interp = 0
    for i in range(start, end):
        n_interp += 1 if model.par[INTERP, i] > 0.0 else 0
    if n_interp == 0:
        if (model.pop[p, POP_FLAGS] & FLAG_CONDUCTANCE) != 0:
            return step_conductance(p, model, state, row, spikes, n_spk)
        return step_current(p, model, state, row, spikes, n_spk)
    if n_interp == end - start:
        return _step_interpolated(p, model, state, row, spikes, n_spk)
    # mixed: each neuron by its own scheme, spikes in ascending order
    cond = (model.pop[p, POP_FLAGS] & FLAG_CONDUCTANCE) != 0
    syn = state.syn
    for i in range(start, end):
        single = model.pop.copy()
        single[p, POP_START] = i
        single[p, POP_END] = i + 1
        one = Model(model.dt, single, model.par, model.chan, model.chan_coef, model.drive,
                    model.proj, model.indptr, model.indices, model.weights, model.kof,
                    model.delays, model.bg, model.bg_key, model.ev_ptr, model.ev_steps)
        # channels are decayed once below, for the whole population
        saved = syn[:, i].copy()
        if model.par[INTERP, i] > 0.0:
            n_spk = _step_interpolated(p, one, state, row, spikes, n_spk)
        else:
            n_spk = _step_general(p, one, state, row, spikes, n_spk, cond)
        syn[:, i] = saved
    decay_channels(model, state, start, end)
    return n_spk


# -- NumPy twin ---------------------------------------------------------------------------------

def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`, whole-array NumPy over the population (one code path)."""
    sl = slice(int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
    par = model.par[:, sl]
    x = state.x
    dt = model.dt
    cond = (model.pop[p, POP_FLAGS] & FLAG_CONDUCTANCE) != 0
    r_m, v_rest, v_th, v_reset = par[R_M], par[V_REST], par[V_TH], par[V_RESET]
    v = x[ROW_V, sl].copy()
    w = x[ROW_W, sl].copy()
    drive = model.drive[row, sl]
    cur, g, ge = channel_inputs_numpy(model, state, sl)
    interp = par[INTERP] > 0
    fired = np.zeros(v.size, dtype=bool)
    # interpolated (Nengo) neurons
    if interp.any():
        k = interp
        j_in = v_rest + r_m * (drive - w + cur)
        left = x[ROW_T_LEFT, sl] - dt
        delta = np.clip(-left, 0.0, dt)  # time of the step out of refractoriness
        vi = np.where(delta > 0, j_in + (v - j_in) * np.exp(-delta / par[TAU_M]), v)
        t_left = np.maximum(left, 0.0)
        f = k & (vi >= v_th)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = -(vi - v_th) / (j_in - v_th)
            t_c = np.where(j_in > v_th, np.where(
                frac > -1.0, dt + par[TAU_M] * np.log1p(np.where(frac > -1.0, frac, 0.0)), 0.0),
                dt)
        vi = np.where(f, np.where(par[SUBTRACT] > 0, vi - (v_th - v_reset), v_reset), vi)
        t_left = np.where(f, par[T_REF] + t_c - dt, t_left)
        x[ROW_T_LEFT, sl] = np.where(k, t_left, x[ROW_T_LEFT, sl])
        v = np.where(k, vi, v)
        w = np.where(f, w + par[B], w)
        fired |= f
    # step-counted refractoriness
    rc = state.refc[sl]
    k = ~interp
    rc[k & (rc > 0)] -= 1
    free = k & (rc == 0)
    if cond:
        g_tot = 1.0 + r_m * g
        v_inf = (v_rest + r_m * (drive - w + cur + ge)) / g_tot
        vn = v_inf + (v - v_inf) * np.exp(-dt * g_tot / par[TAU_M])
    else:
        v_inf = v_rest + r_m * drive
        vn = v_inf + (v - v_inf) * par[DECAY] - par[W_COEF] * w
        for c in np.flatnonzero(model.chan[:, CHAN_KIND] == SYN_CURRENT):
            coef = model.chan_coef[c, sl]
            vn = vn + np.where(coef != 0.0, coef * state.syn[c, sl], 0.0)
    v = np.where(free, vn, np.where(k & (par[CLAMP] > 0.0), v_reset, v))
    f = free & (v >= v_th)
    v = np.where(f, np.where(par[SUBTRACT] > 0, v - (v_th - v_reset), v_reset), v)
    w = np.where(k, np.where(f, w * par[W_DECAY] + par[B], w * par[W_DECAY]), w * par[W_DECAY])
    rc[f] = par[REF_STEPS, f].astype(np.int32)
    fired |= f
    x[ROW_V, sl] = v
    x[ROW_W, sl] = w
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size


#: The NumPy twin covers every configuration, so it is the twin of each of the three steps.
step_current_numpy = step_conductance_numpy = step_interpolated_numpy = step_numpy


# -- batched layer step (the layered fast path, float32 state) ----------------------------------

#: Entries of the parameter vector of :func:`layer_step`.
LAYER_THR, LAYER_TAU_M, LAYER_T_REF, LAYER_DT = range(4)


@numba.njit(**INLINE)
def layer_step(v, ref, current, bias, prm, spikes):
    """One step of a LIF layer of the layered fast path (:mod:`neurosim.kernels.layers`): the
    model above with ``interpolate = true``, ``r_m = 1``, ``v_rest = v_reset = 0``; input
    ``J = current + bias`` constant over the step; ``prm = (v_th, tau_m, t_ref, dt)`` (ms).

    Over the part ``delta = clip(dt - ref, 0, dt)`` of the step in which the neuron is not
    refractory (``ref``: refractory time left at the start of the step, ms)
    ``v <- J + (v - J) exp(-delta / tau_m)``; where ``v >= v_th`` it spikes, ``v`` is reset
    to 0 and the refractory period starts at the interpolated crossing time
    ``t_c = dt + tau_m ln(1 - (v - v_th) / (J - v_th))``, leaving ``t_ref + t_c - dt``. At most
    one spike per step. Arithmetic is float64, state float32. ``current`` is cleared.
    """
    thr = prm[LAYER_THR]
    tau = prm[LAYER_TAU_M]
    t_ref = prm[LAYER_T_REF]
    dt = prm[LAYER_DT]
    nv = v.shape[0]
    vv = v[:nv]
    rr = ref[:nv]
    cc = current[:nv]
    bb = bias[:nv]
    decay = np.exp(-dt / tau)
    th = np.float64(thr)
    n = 0
    for k in range(nv):
        j = np.float64(cc[k]) + np.float64(bb[k])
        cc[k] = 0.0
        left = np.float64(rr[k]) - dt  # refractory time left at the end of this step
        vk = np.float64(vv[k])
        if left <= -dt:
            vk = j + (vk - j) * decay  # not refractory: the common case, one multiply-add
        elif left < 0.0:
            vk = j + (vk - j) * np.exp(left / tau)  # refractory ends -left before the end
        rk = max(left, 0.0)
        if vk >= th:
            t_c = dt
            if j > th:
                # crossing time inside the step; 0 when v was above threshold already at its
                # start (a delta input or an initial potential above threshold)
                frac = -(vk - th) / (j - th)
                t_c = dt + tau * np.log1p(frac) if frac > -1.0 else 0.0
            vk = 0.0
            rk = t_ref + t_c - dt
            spikes[n] = k
            n += 1
        vv[k] = vk
        rr[k] = rk
    return n


def layer_step_numpy(v, ref, current, bias, prm, spikes):
    """Twin of :func:`layer_step`, whole-array steps."""
    thr, tau, t_ref, dt = (float(prm[k]) for k in (LAYER_THR, LAYER_TAU_M, LAYER_T_REF,
                                                   LAYER_DT))
    j = current.astype(np.float64) + bias.astype(np.float64)
    current[:] = 0.0
    vk = v.astype(np.float64)
    delta = np.clip(dt - ref.astype(np.float64), 0.0, dt)
    vk = np.where(delta > 0, j + (vk - j) * np.exp(-delta / tau), vk)
    rk = np.maximum(ref.astype(np.float64) - dt, 0.0)
    fired = vk >= thr
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = -(vk - thr) / (j - thr)
        t_c = np.where(j > thr, np.where(frac > -1.0,
                                         dt + tau * np.log1p(np.where(frac > -1.0, frac, 0.0)),
                                         0.0), dt)
    vk[fired] = 0.0
    rk[fired] = t_ref + t_c[fired] - dt
    v[:] = vk.astype(np.float32)
    ref[:] = rk.astype(np.float32)
    idx = np.flatnonzero(fired)
    spikes[:idx.size] = idx
    return idx.size


@numba.njit(**INLINE)
def layer_potential(v, ref, current, bias, prm, u, gain):
    """What :func:`layer_step` computes before its threshold test, for backpropagation: the
    potential ``u`` and the factor ``a`` of ``u = a v + (1 - a) J`` (``exp(-dt / tau_m)``
    outside the refractory period, ``exp(left / tau_m)`` in the step it ends in, 1 while
    refractory: then ``u = v`` and the input is ignored). Same arithmetic as
    :func:`layer_step` (float64, stored float32); changes nothing else."""
    tau = prm[LAYER_TAU_M]
    dt = prm[LAYER_DT]
    decay = np.exp(-dt / tau)
    for k in range(v.shape[0]):
        j = np.float64(current[k]) + np.float64(bias[k])
        left = np.float64(ref[k]) - dt
        vk = np.float64(v[k])
        a = 1.0
        if left <= -dt:
            a = decay
            vk = j + (vk - j) * decay
        elif left < 0.0:
            a = np.exp(left / tau)
            vk = j + (vk - j) * a
        u[k] = vk
        gain[k] = a


def layer_potential_numpy(v, ref, current, bias, prm, u, gain):
    """Twin of :func:`layer_potential`."""
    tau, dt = float(prm[LAYER_TAU_M]), float(prm[LAYER_DT])
    j = current.astype(np.float64) + bias.astype(np.float64)
    left = ref.astype(np.float64) - dt
    a = np.where(left <= -dt, np.exp(-dt / tau), np.where(left < 0.0, np.exp(left / tau), 1.0))
    u[:] = np.where(a < 1.0, j + (v.astype(np.float64) - j) * a, v.astype(np.float64))
    gain[:] = a
