"""Hodgkin-Huxley neurons: the squid giant axon (1952), or Traub and Miles' (1991) rates.

Units: per unit area (uF/cm^2, mS/cm^2, uA/cm^2, mV, ms) as in the 1952 paper, or the same
equations in the package's absolute units (nF, uS, nA: ``uS * mV = nA``, ``nA / nF =
mV/ms``), as the COBAHH benchmark (Brette et al. 2007, benchmark 3) writes them.

``c_m dv/dt = -g_na m^3 h (v - e_na) - g_k n^4 (v - e_k) - g_l (v - e_l) + I``,
``dx/dt = phi (alpha_x(v) (1 - x) - beta_x(v) x)`` for ``x in (m, h, n)``, with the rates of
:func:`hh_rates` (modern convention, rest near -65 mV; ``rates = "traub"``:
:func:`traub_rates`, the rates of NEST's ``hh_cond_exp_traub`` and Brian2's COBAHH example,
shifted by ``v_t``) and the temperature factor
``phi = 3 ** ((temperature - 6.3) / 10)`` (6.3 C: ``phi = 1``). The drive ``I`` is the
external input plus the current channels (read by the step itself, in uA/cm^2) plus
``g (E_rev - v)`` for every conductance (``g`` in mS/cm^2).

Integrators (``method``): ``exponential_euler`` (each variable advanced exactly with the others
held at their start-of-step values, Brian2's ``exponential_euler``; ``dt <= 0.1 ms``) or
``rk4`` (classical Runge-Kutta, explicit; ``dt <= 0.05 ms``). There is no reset: a spike is an
upward crossing, ``v >= v_th`` at the end of a step in which the neuron was not already above
threshold. ``State.refc`` holds that flag: 1 once the neuron has spiked, back to 0 at the start
of the first step that begins below ``v_th``. Recordable: ``v``, the gates ``m``, ``h``, ``n``
(state rows) and the ionic currents ``i_na``, ``i_k``, ``i_l`` (uA/cm^2, outward positive),
which are not state rows: a recorder computes them with :meth:`HodgkinHuxley.currents` from the
recorded ``v``, ``m``, ``h``, ``n``. The initial gates are at their steady state for ``v0``.
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
    CHAN_EREV,
    CHAN_KIND,
    POP_END,
    POP_START,
    ROW_V,
    SYN_CONDUCTANCE,
    SYN_CURRENT,
)
from ..kernels.vecmath import exp_v, x_over_expm1_v
from .base import NeuronModel, non_negative, positive, register

__all__ = ["HodgkinHuxley", "HH_INTEGRATORS", "HH_RATES", "hh_rates", "traub_rates", "step",
           "step_rk4_traub", "step_numpy", "step_rk4_traub_numpy"]

HH_INTEGRATORS = ("exponential_euler", "rk4")
HH_RATES = ("hodgkin_huxley", "traub")

SLOTS = ("c_m", "g_na", "g_k", "g_l", "e_na", "e_k", "e_l", "v_th", "phi", "rk4", "traub",
         "v_t")
C_M, G_NA, G_K, G_L, E_NA, E_K, E_L, V_TH, PHI, RK4, TRAUB, V_T = range(len(SLOTS))
ROWS = ("v", "m", "h", "n")
ROW_M, ROW_H, ROW_N = 1, 2, 3


def hh_rates(v):
    """``(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n)`` in 1/ms at 6.3 C, ``v`` in mV.

    ``alpha_m = 0.1 (v + 40) / (1 - exp(-(v + 40) / 10))``, ``beta_m = 4 exp(-(v + 65) / 18)``,
    ``alpha_h = 0.07 exp(-(v + 65) / 20)``, ``beta_h = 1 / (1 + exp(-(v + 35) / 10))``,
    ``alpha_n = 0.01 (v + 55) / (1 - exp(-(v + 55) / 10))``,
    ``beta_n = 0.125 exp(-(v + 65) / 80)``.

    The one definition of the rates: NumPy code calls it on arrays (or floats), the compiled
    steps on floats through ``numba.njit(hh_rates)``. ``alpha_m`` and ``alpha_n`` are written
    as ``x / expm1(x)``, which tends to 1 at ``x = 0`` (``v = -40`` and ``-55 mV``); where
    ``|x| < 1e-9`` the limit is taken through a 0/1 mask rather than a branch, so that the
    same text runs on both: elsewhere the mask adds and multiplies exact zeros and ones.
    """
    xm = -(v + 40.0) / 10.0
    xn = -(v + 55.0) / 10.0
    at_m = (np.abs(xm) < 1e-9) * 1.0
    at_n = (np.abs(xn) < 1e-9) * 1.0
    xm = xm + at_m  # 1 instead of ~0 where the limit is taken: no division by zero
    xn = xn + at_n
    am = (1.0 - at_m) * (xm / np.expm1(xm)) + at_m
    an = (1.0 - at_n) * (0.1 * xn / np.expm1(xn)) + 0.1 * at_n
    bm = 4.0 * np.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * np.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + np.exp(-(v + 35.0) / 10.0))
    bn = 0.125 * np.exp(-(v + 65.0) / 80.0)
    return am, bm, ah, bh, an, bn


def traub_rates(v, v_t):
    """Traub and Miles' rates (1/ms), ``u = v - v_t`` (mV):
    ``alpha_m = 0.32 (13 - u) / (exp((13 - u) / 4) - 1)``,
    ``beta_m = 0.28 (u - 40) / (exp((u - 40) / 5) - 1)``, ``alpha_h = 0.128 exp((17 - u) / 18)``,
    ``beta_h = 4 / (1 + exp((40 - u) / 5))``,
    ``alpha_n = 0.032 (15 - u) / (exp((15 - u) / 5) - 1)``, ``beta_n = 0.5 exp((10 - u) / 40)``.
    The ``x / expm1(x)`` limits are taken as in :func:`hh_rates`."""
    u = v - v_t
    xs = ((13.0 - u) / 4.0, (u - 40.0) / 5.0, (15.0 - u) / 5.0)
    out = []
    for x, scale in zip(xs, (1.28, 1.4, 0.16)):
        at = (np.abs(x) < 1e-9) * 1.0
        x = x + at
        out.append(scale * ((1.0 - at) * (x / np.expm1(x)) + at))
    am, bm, an = out
    ah = 0.128 * np.exp((17.0 - u) / 18.0)
    bh = 4.0 / (1.0 + np.exp((40.0 - u) / 5.0))
    bn = 0.5 * np.exp((10.0 - u) / 40.0)
    return am, bm, ah, bh, an, bn


_hh_rates = numba.njit(**INLINE)(hh_rates)


@numba.njit(**INLINE)
def _traub_rates(v, v_t):
    """:func:`traub_rates` compiled, through the exponentials of
    :mod:`neurosim.kernels.vecmath` (arithmetic only: a loop of it becomes SIMD code; within
    a few ulp of the C library's, the ``x / expm1(x)`` limits included)."""
    u = v - v_t
    am = 1.28 * x_over_expm1_v((13.0 - u) / 4.0)
    bm = 1.4 * x_over_expm1_v((u - 40.0) / 5.0)
    an = 0.16 * x_over_expm1_v((15.0 - u) / 5.0)
    ah = 0.128 * exp_v((17.0 - u) / 18.0)
    bh = 4.0 / (1.0 + exp_v((40.0 - u) / 5.0))
    bn = 0.5 * exp_v((10.0 - u) / 40.0)
    return am, bm, ah, bh, an, bn


@numba.njit(**INLINE)
def _rates(v, par, i):
    """The rates of neuron ``i`` (its ``rates`` option)."""
    if par[TRAUB, i] > 0.0:
        return _traub_rates(v, par[V_T, i])
    return _hh_rates(v)


def _rates_numpy(v, par):
    """Twin of :func:`_rates` over a slice (``par`` columns of its neurons)."""
    traub = par[TRAUB] > 0.0
    if not traub.any():
        return hh_rates(v)
    tr = traub_rates(v, par[V_T])
    if traub.all():
        return tr
    return tuple(np.where(traub, a, b) for a, b in zip(tr, hh_rates(v)))


@register
@dataclass(frozen=True, kw_only=True)
class HodgkinHuxley(NeuronModel):
    """Hodgkin-Huxley neuron (equations in :mod:`neurosim.neurons.hh`)."""

    kind: ClassVar[str] = "hh"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "m", "h", "n", "i_na", "i_k", "i_l")
    ROWS: ClassVar[tuple[str, ...]] = ROWS
    SLOTS: ClassVar[tuple[str, ...]] = SLOTS
    c_m: float = 1.0
    g_na: float = 120.0
    g_k: float = 36.0
    g_l: float = 0.3
    e_na: float = 50.0
    e_k: float = -77.0
    e_l: float = -54.387
    v_th: float = -20.0
    v_init: float = -65.0
    temperature: float = 6.3
    method: str = "exponential_euler"
    rates: str = "hodgkin_huxley"
    v_t: float = -63.0

    def __post_init__(self):
        super().__post_init__()
        positive(self, "c_m")
        non_negative(self, "g_na", "g_k", "g_l")
        if self.rates not in HH_RATES:
            raise ValueError(f"rates: must be one of {', '.join(HH_RATES)}, got {self.rates!r}")
        if self.method not in HH_INTEGRATORS:
            raise ValueError(f"method: must be one of {', '.join(HH_INTEGRATORS)}, "
                             f"got {self.method!r}")

    @property
    def integrator(self) -> str:  # type: ignore[override]
        return self.method

    @property
    def max_dt(self) -> float:  # type: ignore[override]
        return 0.1 if self.method == "exponential_euler" else 0.05

    @property
    def phi(self) -> float:
        return 3.0 ** ((self.temperature - 6.3) / 10.0)

    @property
    def v_initial(self) -> float:
        return self.v_init

    def rate_functions(self, v):
        """``(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n)`` in 1/ms at 6.3 C
        (:func:`hh_rates` or :func:`traub_rates`)."""
        v = np.asarray(v, dtype=np.float64)
        return traub_rates(v, self.v_t) if self.rates == "traub" else hh_rates(v)

    def steady_gates(self, v):
        """Steady-state ``(m, h, n)`` at potential ``v`` (the initial gates)."""
        am, bm, ah, bh, an, bn = self.rate_functions(v)
        return am / (am + bm), ah / (ah + bh), an / (an + bn)

    def currents(self, v, m, h, n):
        """Ionic currents ``(i_na, i_k, i_l)`` in uA/cm^2, outward positive."""
        v = np.asarray(v, dtype=np.float64)
        return (self.g_na * m ** 3 * h * (v - self.e_na), self.g_k * n ** 4 * (v - self.e_k),
                self.g_l * (v - self.e_l))

    def param_values(self, dt):
        return {"c_m": self.c_m, "g_na": self.g_na, "g_k": self.g_k, "g_l": self.g_l,
                "e_na": self.e_na, "e_k": self.e_k, "e_l": self.e_l, "v_th": self.v_th,
                "phi": self.phi, "rk4": float(self.method == "rk4"),
                "traub": float(self.rates == "traub"), "v_t": self.v_t}

    def initial_state(self, v0):
        v0 = np.asarray(v0, dtype=np.float64)
        m, h, n = self.steady_gates(v0)
        return {"v": v0, "m": m, "h": h, "n": n}

    def step_for(self, flags: int) -> str:
        # string parameters are one per population: every neuron takes the same scheme
        return "step_rk4_traub" if self.method == "rk4" and self.rates == "traub" else "step"


# -- compiled step ------------------------------------------------------------------------------

@numba.njit(**INLINE)
def _deriv(y, par, i, i_tot, g, ge):
    """Time derivatives ``(dv, dm, dh, dn)`` of neuron ``i`` (per ms) at ``y = (v, m, h, n)``."""
    v, m, h, n = y
    am, bm, ah, bh, an, bn = _rates(v, par, i)
    phi = par[PHI, i]
    gna = par[G_NA, i] * m * m * m * h
    gk = par[G_K, i] * n * n * n * n
    dv = (-gna * (v - par[E_NA, i]) - gk * (v - par[E_K, i]) - par[G_L, i] * (v - par[E_L, i])
          + i_tot + ge - g * v) / par[C_M, i]
    return (dv, phi * (am * (1.0 - m) - bm * m), phi * (ah * (1.0 - h) - bh * h),
            phi * (an * (1.0 - n) - bn * n))


@numba.njit(**INLINE)
def step(p, model, state, row, spikes, n_spk):
    """One step of Hodgkin-Huxley population ``p`` (see :mod:`neurosim.neurons.base`)."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    par = model.par
    x = state.x
    rc = state.refc
    dt = model.dt
    for i in range(start, end):
        v = x[ROW_V, i]
        v_th = par[V_TH, i]
        if v < v_th:
            rc[i] = 0  # below threshold again: the next crossing is a spike
        m = x[ROW_M, i]
        h = x[ROW_H, i]
        n = x[ROW_N, i]
        cur, g, ge = channel_inputs(model, state, i)
        i_tot = model.drive[row, i] + cur
        if par[RK4, i] > 0.0:
            # Classical RK4 as a loop over its four stages: one call site keeps the compiled
            # code (and the compile time) small.
            v_new, m_new, h_new, n_new = v, m, h, n
            yv, ym, yh, yn = v, m, h, n
            for stage in range(4):
                dv, dm, dh, dn = _deriv((yv, ym, yh, yn), par, i, i_tot, g, ge)
                wgt = dt / 6.0 if stage == 0 or stage == 3 else dt / 3.0
                v_new += wgt * dv
                m_new += wgt * dm
                h_new += wgt * dh
                n_new += wgt * dn
                step_to = dt if stage == 2 else 0.5 * dt
                yv = v + step_to * dv
                ym = m + step_to * dm
                yh = h + step_to * dh
                yn = n + step_to * dn
        else:
            am, bm, ah, bh, an, bn = _rates(v, par, i)
            phi = par[PHI, i]
            c_m = par[C_M, i]
            g_l = par[G_L, i]
            gna = par[G_NA, i] * m * m * m * h
            gk = par[G_K, i] * n * n * n * n
            a_v = -(gna + gk + g_l + g) / c_m
            b_v = (gna * par[E_NA, i] + gk * par[E_K, i] + g_l * par[E_L, i] + ge + i_tot) / c_m
            v_new = -b_v / a_v + (v + b_v / a_v) * math.exp(a_v * dt)
            m_new = am / (am + bm) + (m - am / (am + bm)) * math.exp(-phi * (am + bm) * dt)
            h_new = ah / (ah + bh) + (h - ah / (ah + bh)) * math.exp(-phi * (ah + bh) * dt)
            n_new = an / (an + bn) + (n - an / (an + bn)) * math.exp(-phi * (an + bn) * dt)
        x[ROW_V, i] = v_new
        x[ROW_M, i] = m_new
        x[ROW_H, i] = h_new
        x[ROW_N, i] = n_new
        if v_new >= v_th and rc[i] == 0:
            rc[i] = 1
            spikes[n_spk] = i
            n_spk += 1
    decay_channels(model, state, start, end)
    return n_spk


# -- RK4 with Traub's rates, stage by stage over the population (SIMD) ---------------------------

#: Rows of the work array of :func:`step_rk4_traub`: the inputs of each neuron (drive plus
#: current channels, conductance, conductance times reversal potential), the point of the
#: current stage, the running Runge-Kutta sum.
_W_I, _W_G, _W_GE, _W_YV, _W_YM, _W_YH, _W_YN, _W_AV, _W_AM, _W_AH, _W_AN = range(11)


@numba.njit(**INLINE)
def _rates_rows(v, v_t, rates):
    """``rates[:, j]``: the six rates at ``v[j]``. One loop reading two arrays and writing
    rows of a third, which the compiler vectorises (more arrays in one loop need more
    run-time overlap checks than it makes, and it keeps the loop scalar)."""
    for j in range(v.shape[0]):
        am, bm, ah, bh, an, bn = _traub_rates(v[j], v_t[j])
        rates[0, j] = am
        rates[1, j] = bm
        rates[2, j] = ah
        rates[3, j] = bh
        rates[4, j] = an
        rates[5, j] = bn


@numba.njit(**INLINE)
def step_rk4_traub(p, model, state, row, spikes, n_spk):
    """One step of Hodgkin-Huxley population ``p`` whose neurons all integrate by ``rk4``
    with ``rates = "traub"`` (the builder's step for them, :meth:`HodgkinHuxley.step_for`;
    the COBAHH benchmark): the arithmetic of :func:`step`, stage by stage over the
    population, the rates of each stage in one loop that the compiler turns into SIMD code
    (the exponentials of :mod:`neurosim.kernels.vecmath`, within 2 ulp of the C library's;
    the loop that calls it must be compiled with ``error_model="numpy"``, as the time loop
    is, or the division checks keep it scalar)."""
    start = model.pop[p, POP_START]
    end = model.pop[p, POP_END]
    n = end - start
    par = model.par
    x = state.x
    syn = state.syn
    chan = model.chan
    rc = state.refc
    dt = model.dt
    w = np.empty((11, n))
    rates = np.empty((6, n))
    for j in range(n):  # inputs at the start of the step (channel_inputs, neuron by neuron)
        w[_W_I, j] = 0.0
        w[_W_G, j] = 0.0
        w[_W_GE, j] = 0.0
    for c in range(chan.shape[0]):
        kind = chan[c, CHAN_KIND]
        e_rev = chan[c, CHAN_EREV]
        if kind == SYN_CURRENT:
            for j in range(n):
                w[_W_I, j] += syn[c, start + j]
        elif kind == SYN_CONDUCTANCE:
            for j in range(n):
                w[_W_G, j] += syn[c, start + j]
                w[_W_GE, j] += syn[c, start + j] * e_rev
    for j in range(n):
        i = start + j
        w[_W_I, j] = model.drive[row, i] + w[_W_I, j]
        w[_W_YV, j] = w[_W_AV, j] = x[ROW_V, i]
        w[_W_YM, j] = w[_W_AM, j] = x[ROW_M, i]
        w[_W_YH, j] = w[_W_AH, j] = x[ROW_H, i]
        w[_W_YN, j] = w[_W_AN, j] = x[ROW_N, i]
    for i in range(start, end):
        if x[ROW_V, i] < par[V_TH, i]:
            rc[i] = 0  # below threshold again: the next crossing is a spike
    for stage in range(4):
        wgt = dt / 6.0 if stage == 0 or stage == 3 else dt / 3.0
        step_to = dt if stage == 2 else 0.5 * dt
        _rates_rows(w[_W_YV], par[V_T, start:end], rates)
        for j in range(n):  # _deriv at the stage point
            i = start + j
            v = w[_W_YV, j]
            m = w[_W_YM, j]
            h = w[_W_YH, j]
            nn = w[_W_YN, j]
            phi = par[PHI, i]
            gna = par[G_NA, i] * m * m * m * h
            gk = par[G_K, i] * nn * nn * nn * nn
            dv = (-gna * (v - par[E_NA, i]) - gk * (v - par[E_K, i])
                  - par[G_L, i] * (v - par[E_L, i]) + w[_W_I, j] + w[_W_GE, j]
                  - w[_W_G, j] * v) / par[C_M, i]
            dm = phi * (rates[0, j] * (1.0 - m) - rates[1, j] * m)
            dh = phi * (rates[2, j] * (1.0 - h) - rates[3, j] * h)
            dn = phi * (rates[4, j] * (1.0 - nn) - rates[5, j] * nn)
            w[_W_AV, j] += wgt * dv
            w[_W_AM, j] += wgt * dm
            w[_W_AH, j] += wgt * dh
            w[_W_AN, j] += wgt * dn
            w[_W_YV, j] = x[ROW_V, i] + step_to * dv
            w[_W_YM, j] = x[ROW_M, i] + step_to * dm
            w[_W_YH, j] = x[ROW_H, i] + step_to * dh
            w[_W_YN, j] = x[ROW_N, i] + step_to * dn
    for j in range(n):
        i = start + j
        x[ROW_V, i] = w[_W_AV, j]
        x[ROW_M, i] = w[_W_AM, j]
        x[ROW_H, i] = w[_W_AH, j]
        x[ROW_N, i] = w[_W_AN, j]
    for i in range(start, end):
        if x[ROW_V, i] >= par[V_TH, i] and rc[i] == 0:
            rc[i] = 1
            spikes[n_spk] = i
            n_spk += 1
    decay_channels(model, state, start, end)
    return n_spk


# -- NumPy twin ---------------------------------------------------------------------------------

def _deriv_numpy(y, par, i_tot, g, ge):
    """Twin of :func:`_deriv` on whole arrays: ``y = (v, m, h, n)``."""
    v, m, h, n = y
    am, bm, ah, bh, an, bn = _rates_numpy(v, par)
    phi = par[PHI]
    gna = par[G_NA] * m * m * m * h
    gk = par[G_K] * n * n * n * n
    dv = (-gna * (v - par[E_NA]) - gk * (v - par[E_K]) - par[G_L] * (v - par[E_L])
          + i_tot + ge - g * v) / par[C_M]
    return (dv, phi * (am * (1.0 - m) - bm * m), phi * (ah * (1.0 - h) - bh * h),
            phi * (an * (1.0 - n) - bn * n))


def _rk4_numpy(y, par, i_tot, g, ge, dt):
    """Classical Runge-Kutta step of ``y = (v, m, h, n)``."""
    def shifted(k, s):
        return tuple(a + s * b for a, b in zip(y, k))

    k1 = _deriv_numpy(y, par, i_tot, g, ge)
    k2 = _deriv_numpy(shifted(k1, 0.5 * dt), par, i_tot, g, ge)
    k3 = _deriv_numpy(shifted(k2, 0.5 * dt), par, i_tot, g, ge)
    k4 = _deriv_numpy(shifted(k3, dt), par, i_tot, g, ge)
    return tuple(a + dt / 6.0 * b1 + dt / 3.0 * b2 + dt / 3.0 * b3 + dt / 6.0 * b4
                 for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4))


def _exponential_euler_numpy(y, par, i_tot, g, ge, dt):
    """Each of ``y = (v, m, h, n)`` advanced exactly, the others held at their start values."""
    v, m, h, n = y
    am, bm, ah, bh, an, bn = _rates_numpy(v, par)
    c_m, g_l = par[C_M], par[G_L]
    gna = par[G_NA] * m * m * m * h
    gk = par[G_K] * n * n * n * n
    a_v = -(gna + gk + g_l + g) / c_m
    b_v = (gna * par[E_NA] + gk * par[E_K] + g_l * par[E_L] + ge + i_tot) / c_m
    gates = tuple(a / (a + b) + (x - a / (a + b)) * np.exp(-par[PHI] * (a + b) * dt)
                  for x, a, b in ((m, am, bm), (h, ah, bh), (n, an, bn)))
    return (-b_v / a_v + (v + b_v / a_v) * np.exp(a_v * dt), *gates)


def step_numpy(p, model, state, row, spikes, n_spk):
    """Twin of :func:`step`, whole-array NumPy over the population."""
    sl = slice(int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
    par = model.par[:, sl]
    x = state.x
    rc = state.refc[sl]
    y = tuple(x[r, sl].copy() for r in (ROW_V, ROW_M, ROW_H, ROW_N))
    rc[y[0] < par[V_TH]] = 0
    cur, g, ge = channel_inputs_numpy(model, state, sl)
    i_tot = model.drive[row, sl] + cur
    rk4 = par[RK4] > 0.0
    new = [np.empty_like(a) for a in y]
    for use, method in ((rk4, _rk4_numpy), (~rk4, _exponential_euler_numpy)):
        if use.any():
            for out, a in zip(new, method(y, par, i_tot, g, ge, model.dt)):
                out[use] = a[use]
    for r, a in zip((ROW_V, ROW_M, ROW_H, ROW_N), new):
        x[r, sl] = a
    fired = (new[0] >= par[V_TH]) & (rc == 0)
    rc[fired] = 1
    decay_channels_numpy(model, state, sl.start, sl.stop)
    idx = np.flatnonzero(fired) + sl.start
    spikes[n_spk:n_spk + idx.size] = idx
    return n_spk + idx.size


#: Twin of :func:`step_rk4_traub`: the general twin computes the same step.
step_rk4_traub_numpy = step_numpy
