"""Numba kernels of the population engine: neuron step, event propagation, whole time loop.

Data layout (built by :mod:`neurosim.builder.populations`; every population is a contiguous
range of global neuron indices ``[start, end)``):

- ``X`` float64 ``(5, N)``: neuron state rows ``V, A, M, H, N`` (membrane potential; the
  adaptation/recovery variable ``w`` or ``u``; Hodgkin-Huxley gates). McCulloch-Pitts units
  keep their accumulated input in row ``V`` and the last summed input in row ``A``.
- ``S`` float64 ``(C, N)``: one row per synaptic channel (exponential current or
  conductance); delta channels have a row that stays zero (their events go to ``X[V]``).
- ``refc`` int32 ``(N,)``: refractory countdown in steps (for HH: 1 while above threshold).
- ``pop_info`` int64 ``(P, 5)``: ``start, end, model, counter index of neuron updates,
  counter index of spikes``; ``pop_par`` float64 ``(P, NPAR)`` model parameters (layouts
  below); ``pop_chan`` float64 ``(P, C)``: how much one unit of channel ``c`` moves ``v`` over
  a step (exact integrals, see :mod:`neurosim.builder.populations`).
- ``chan_kind`` int64 ``(C,)`` (0 delta, 1 current, 2 conductance), ``chan_decay``
  ``exp(-dt / tau)``, ``chan_erev`` reversal potentials.
- ``i_ext`` float64 ``(T, N)``: external drive; row ``step`` (or row 0 when ``T == 1``).
- projections: ``proj_info`` int64 ``(Q, 8)``: ``pre_start, pre_end, post_start, channel,
  delay steps, row offset into indptr, dense flag, counter index of SOPs``; ``indptr`` int64,
  ``indices`` int32 (global target index; unused by dense rows, whose targets are
  ``post_start + k``), ``weights`` float64. A spike of neuron ``i`` reads only its own row:
  event-driven propagation.
- ``ring`` float64 ``(L, C, N)``: delayed input, slot ``step % L``; ``L = 1`` without delays.

Every kernel changes state in place and adds counts to ``counters`` (int64).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import literally, types
from numba.extending import overload

from .config import JIT

__all__ = ["neuron_step", "propagate", "run_network", "run_network_lif", "MODEL_IF",
           "MODEL_LIF", "MODEL_ALIF", "MODEL_IZH", "MODEL_ADEX", "MODEL_HH", "MODEL_MP", "NPAR",
           "ROW_V", "ROW_A",
           "ROW_M", "ROW_H", "ROW_N", "N_ROWS"]

MODEL_IF, MODEL_LIF, MODEL_ALIF, MODEL_IZH, MODEL_ADEX, MODEL_HH, MODEL_MP = range(7)
ROW_V, ROW_A, ROW_M, ROW_H, ROW_N = range(5)
N_ROWS = 5
#: Parameter slots per population. Layouts (index: meaning):
#: IF: 0 c_m, 1 v_th, 2 v_reset, 3 subtract?, 4 ref steps.
#: LIF/ALIF: 0 tau_m, 1 r_m, 2 v_rest, 3 v_th, 4 v_reset, 5 subtract?, 6 ref steps,
#:   7 exp(-dt/tau_m), 8 exp(-dt/tau_w), 9 b, 10 w->v coupling over a step, 11 conductances?
#: Izhikevich: 0 a, 1 b, 2 c, 3 d, 4 v_peak, 5 ref steps.
#: AdEx: 0 c_m, 1 g_l, 2 e_l, 3 v_t, 4 delta_t, 5 a, 6 tau_w, 7 b, 8 v_reset, 9 v_peak,
#:   10 ref steps.
#: HH: 0 c_m, 1 g_na, 2 g_k, 3 g_l, 4 e_na, 5 e_k, 6 e_l, 7 v_th, 8 phi, 9 rk4?.
#: McCulloch-Pitts: 0 theta.
NPAR = 12


@numba.njit(**JIT)
def _hh_rates(v):
    """HH opening/closing rates (1/ms) at 6.3 C; ``x / expm1(x)`` is finite at x = 0."""
    xm = -(v + 40.0) / 10.0
    am = 1.0 if abs(xm) < 1e-9 else xm / math.expm1(xm)
    xn = -(v + 55.0) / 10.0
    an = 0.1 if abs(xn) < 1e-9 else 0.1 * xn / math.expm1(xn)
    bm = 4.0 * math.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * math.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + math.exp(-(v + 35.0) / 10.0))
    bn = 0.125 * math.exp(-(v + 65.0) / 80.0)
    return am, bm, ah, bh, an, bn


@numba.njit(**JIT)
def _hh_deriv(v, m, h, n, par, i_tot, g_syn, ge_syn):
    am, bm, ah, bh, an, bn = _hh_rates(v)
    phi = par[8]
    gna = par[1] * m * m * m * h
    gk = par[2] * n * n * n * n
    dv = (-gna * (v - par[4]) - gk * (v - par[5]) - par[3] * (v - par[6])
          + i_tot + ge_syn - g_syn * v) / par[0]
    return (dv, phi * (am * (1.0 - m) - bm * m), phi * (ah * (1.0 - h) - bh * h),
            phi * (an * (1.0 - n) - bn * n))


@numba.njit(inline="always", **JIT)
def _step_lif(p, start, end, alif, dt, X, S, refc, par, pop_chan, chan_kind, chan_decay,
              chan_erev, i_ext, row, spikes, n_spk):
    """LIF and adaptive LIF. Without conductances the update is split, as Brian2's generated
    code is, into branch-free loops the compiler vectorises (refractory count and exact
    relaxation; one loop per current channel) and a threshold scan. The loops run over
    slices from 0: LLVM vectorises those, not loops over ``range(start, end)``."""
    r_m = par[1]
    v_rest = par[2]
    v_th = par[3]
    subtract = par[5] > 0.0
    jump = par[3] - par[4]
    v_reset = par[4]
    ref_steps = np.int32(par[6])
    decay = par[7]
    w_decay = par[8]
    b = par[9]
    w_coef = r_m * par[10]
    xv = X[ROW_V, start:end]
    xa = X[ROW_A, start:end]
    rc = refc[start:end]
    drive = i_ext[row, start:end]
    m = end - start
    n_chan = S.shape[0]
    fused = False
    scan = True
    c0 = 0
    c1 = 0
    if par[11] > 0.0:
        # Conductances held over the step: exponential Euler, one exp per neuron.
        for j in range(m):
            r = rc[j]
            if r > 0:
                r -= 1
                rc[j] = r
            if r > 0:
                continue
            i = start + j
            w = xa[j] if alif else 0.0
            cur = 0.0
            gsum = 0.0
            gesum = 0.0
            for c in range(n_chan):
                k = chan_kind[c]
                if k == 1:
                    cur += S[c, i]
                elif k == 2:
                    gsum += S[c, i]
                    gesum += S[c, i] * chan_erev[c]
            g_tot = 1.0 + r_m * gsum
            v_inf = (v_rest + r_m * (drive[j] - w + cur + gesum)) / g_tot
            xv[j] = v_inf + (xv[j] - v_inf) * math.exp(-dt * g_tot / par[0])
    else:
        # Current channels feeding this population (coefficient r_m * A_c != 0).
        n_cur = 0
        for c in range(n_chan):
            if chan_kind[c] == 1 and pop_chan[p, c] != 0.0:
                if n_cur == 0:
                    c0 = c
                elif n_cur == 1:
                    c1 = c
                n_cur += 1
        fused = n_cur == 2 and not alif
    if par[11] <= 0.0 and fused:
        # The common case (E and I currents, as CUBA): one vectorised pass that relaxes v,
        # adds both channels and decays them.
        k0 = r_m * pop_chan[p, c0]
        k1 = r_m * pop_chan[p, c1]
        d0 = chan_decay[c0]
        d1 = chan_decay[c1]
        s0 = S[c0, start:end]
        s1 = S[c1, start:end]
        crossed = 0
        for j in range(m):
            r = rc[j]
            r = r - 1 if r > 0 else r
            rc[j] = r
            v = xv[j]
            v_inf = v_rest + r_m * drive[j]
            vn = v_inf + (v - v_inf) * decay + k0 * s0[j] + k1 * s1[j]
            xv[j] = v if r > 0 else vn
            crossed += 1 if vn > v_th and r == 0 else 0
            s0[j] *= d0
            s1[j] *= d1
        scan = crossed > 0  # most steps nobody of the population fires: skip the scan
        for c in range(n_chan):
            if chan_kind[c] != 0 and c != c0 and c != c1:
                sc = S[c, start:end]
                d = chan_decay[c]
                for j in range(m):
                    sc[j] *= d
    elif par[11] <= 0.0:
        if alif:
            for j in range(m):
                r = rc[j]
                r = r - 1 if r > 0 else r
                rc[j] = r
                v = xv[j]
                v_inf = v_rest + r_m * drive[j]
                vn = v_inf + (v - v_inf) * decay - w_coef * xa[j]
                xv[j] = v if r > 0 else vn
        else:
            for j in range(m):
                r = rc[j]
                r = r - 1 if r > 0 else r
                rc[j] = r
                v = xv[j]
                v_inf = v_rest + r_m * drive[j]
                vn = v_inf + (v - v_inf) * decay
                xv[j] = v if r > 0 else vn
        for c in range(n_chan):
            k = r_m * pop_chan[p, c]
            if chan_kind[c] == 1 and k != 0.0:
                sc = S[c, start:end]
                for j in range(m):
                    xv[j] += k * sc[j] if rc[j] == 0 else 0.0
    if par[11] > 0.0 or not fused:
        for c in range(n_chan):
            if chan_kind[c] != 0:
                sc = S[c, start:end]
                d = chan_decay[c]
                for j in range(m):
                    sc[j] *= d
    if alif:
        for j in range(m):
            xa[j] *= w_decay
    for j in range(m if scan else 0):
        if xv[j] > v_th and rc[j] == 0:
            xv[j] = xv[j] - jump if subtract else v_reset
            if alif:
                xa[j] += b
            rc[j] = ref_steps
            spikes[n_spk] = start + j
            n_spk += 1
    return n_spk


@numba.njit(**JIT)
def _step_other(p, start, end, model, dt, X, S, refc, par, pop_chan, chan_kind, chan_decay,
                chan_erev, i_ext, row, spikes, n_spk):
    n_chan = S.shape[0]
    for i in range(start, end):
        cur = 0.0
        gsum = 0.0
        gesum = 0.0
        for c in range(n_chan):
            k = chan_kind[c]
            if k == 1:
                cur += S[c, i]
            elif k == 2:
                gsum += S[c, i]
                gesum += S[c, i] * chan_erev[c]
        drive = i_ext[row, i]
        ref = False
        if model != MODEL_HH and refc[i] > 0:
            refc[i] -= 1
            ref = refc[i] > 0
        v = X[ROW_V, i]
        spiked = False
        if model == MODEL_IF:
            if not ref:
                syn = 0.0
                for c in range(n_chan):
                    if chan_kind[c] == 1:
                        syn += pop_chan[p, c] * S[c, i]
                v += (drive * dt + syn + dt * (gesum - gsum * v)) / par[0]
                if v > par[1]:
                    spiked = True
                    v = v - (par[1] - par[2]) if par[3] > 0.0 else par[2]
                    refc[i] = int(par[4])
        elif model == MODEL_IZH:
            u = X[ROW_A, i]
            i_tot = drive + cur + gesum - gsum * v
            u_new = u + dt * par[0] * (par[1] * v - u)
            if not ref:
                v = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + i_tot)
                if v >= par[4]:
                    spiked = True
                    v = par[2]
                    u_new += par[3]
                    refc[i] = int(par[5])
            X[ROW_A, i] = u_new
        elif model == MODEL_ADEX:
            w = X[ROW_A, i]
            i_tot = drive + cur + gesum - gsum * v
            w_new = w + dt * (par[5] * (v - par[2]) - w) / par[6]
            if not ref:
                v = v + dt * (-par[1] * (v - par[2])
                              + par[1] * par[4] * math.exp((v - par[3]) / par[4])
                              - w + i_tot) / par[0]
                if v > par[9]:
                    spiked = True
                    v = par[8]
                    w_new += par[7]
                    refc[i] = int(par[10])
            X[ROW_A, i] = w_new
        elif model == MODEL_HH:
            if v <= par[7]:
                refc[i] = 0  # below threshold again: the next crossing is a spike
            m = X[ROW_M, i]
            h = X[ROW_H, i]
            n = X[ROW_N, i]
            i_tot = drive + cur
            if par[9] > 0.0:
                # Classical RK4 as a loop over its four stages: one call site keeps the
                # compiled code (and the compile time) small.
                v_new, m_new, h_new, n_new = v, m, h, n
                yv, ym, yh, yn = v, m, h, n
                for stage in range(4):
                    dv, dm, dh, dn = _hh_deriv(yv, ym, yh, yn, par, i_tot, gsum, gesum)
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
                am, bm, ah, bh, an, bn = _hh_rates(v)
                phi = par[8]
                gna = par[1] * m * m * m * h
                gk = par[2] * n * n * n * n
                a_v = -(gna + gk + par[3] + gsum) / par[0]
                b_v = (gna * par[4] + gk * par[5] + par[3] * par[6] + gesum + i_tot) / par[0]
                v_new = -b_v / a_v + (v + b_v / a_v) * math.exp(a_v * dt)
                m_new = am / (am + bm) + (m - am / (am + bm)) * math.exp(-phi * (am + bm) * dt)
                h_new = ah / (ah + bh) + (h - ah / (ah + bh)) * math.exp(-phi * (ah + bh) * dt)
                n_new = an / (an + bn) + (n - an / (an + bn)) * math.exp(-phi * (an + bn) * dt)
            v = v_new
            X[ROW_M, i] = m_new
            X[ROW_H, i] = h_new
            X[ROW_N, i] = n_new
            if v > par[7] and refc[i] == 0:
                spiked = True
                refc[i] = 1
        else:  # McCulloch-Pitts
            total = v + drive + cur
            X[ROW_A, i] = total
            v = 0.0
            spiked = total >= par[0]
        X[ROW_V, i] = v
        if spiked:
            spikes[n_spk] = i
            n_spk += 1
    for c in range(n_chan):
        if chan_kind[c] != 0:
            d = chan_decay[c]
            sc = S[c, start:end]
            for j in range(end - start):
                sc[j] *= d
    return n_spk


def _step_models(p, start, end, model, dt, X, S, refc, par, pop_chan, chan_kind, chan_decay,
                 chan_erev, i_ext, row, spikes, n_spk, general):
    """Models other than LIF; compiled only when ``general`` is literally ``True``. (This
    Python body runs only with ``NUMBA_DISABLE_JIT=1``; compiled code uses the overload.)"""
    if not general:
        if model != MODEL_LIF:
            raise ValueError("run_network_lif runs LIF populations only; use run_network")
        return n_spk
    return _step_other(p, start, end, model, dt, X, S, refc, par, pop_chan, chan_kind,
                       chan_decay, chan_erev, i_ext, row, spikes, n_spk)


@overload(_step_models, prefer_literal=True)
def _step_models_impl(p, start, end, model, dt, X, S, refc, par, pop_chan, chan_kind,
                      chan_decay, chan_erev, i_ext, row, spikes, n_spk, general):
    if isinstance(general, types.BooleanLiteral) and not general.literal_value:
        def lif_only(p, start, end, model, dt, X, S, refc, par, pop_chan, chan_kind,
                     chan_decay, chan_erev, i_ext, row, spikes, n_spk, general):
            if model != MODEL_LIF:
                raise ValueError("run_network_lif runs LIF populations only; use run_network")
            return n_spk
        return lif_only

    def every_model(p, start, end, model, dt, X, S, refc, par, pop_chan, chan_kind,
                    chan_decay, chan_erev, i_ext, row, spikes, n_spk, general):
        return _step_other(p, start, end, model, dt, X, S, refc, par, pop_chan, chan_kind,
                           chan_decay, chan_erev, i_ext, row, spikes, n_spk)
    return every_model


@numba.njit(**JIT)
def _neuron_step(step, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind, chan_decay,
                 chan_erev, i_ext, spikes, counters, general):
    """Advance every neuron by one step of ``dt`` (ms); write spiking indices to ``spikes``.

    Integrates each population with its model's rule (exact for IF/LIF/ALIF with current
    synapses, exponential Euler with conductances, Euler for Izhikevich/AdEx, exponential
    Euler or RK4 for HH), applies threshold, reset and refractoriness, then decays the
    synaptic channels by ``exp(-dt / tau)``. Returns the number of spikes (indices ascending).

    ``general`` (a compile-time constant): ``False`` when every population is LIF or adaptive
    LIF, so that the other models' code is not compiled at all (compile time of the CUBA/COBA
    path); a population of another model then raises ``ValueError``. The public
    :func:`neuron_step` is the general one.
    """
    literally(general)
    row = step if i_ext.shape[0] > 1 else 0
    n_spk = 0
    for p in range(pop_info.shape[0]):
        start = pop_info[p, 0]
        end = pop_info[p, 1]
        model = pop_info[p, 2]
        first = n_spk
        if model == MODEL_LIF or model == MODEL_ALIF:
            n_spk = _step_lif(p, start, end, model == MODEL_ALIF, dt, X, S, refc, pop_par[p],
                              pop_chan, chan_kind, chan_decay, chan_erev, i_ext, row, spikes,
                              n_spk)
        else:
            n_spk = _step_models(p, start, end, model, dt, X, S, refc, pop_par[p], pop_chan,
                                 chan_kind, chan_decay, chan_erev, i_ext, row, spikes, n_spk,
                                 general)
        counters[pop_info[p, 3]] += end - start
        counters[pop_info[p, 4]] += n_spk - first
    return n_spk


@numba.njit(**JIT)
def neuron_step(step, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind, chan_decay,
                chan_erev, i_ext, spikes, counters):
    """Advance every neuron by one step of ``dt`` (ms), any model; see :func:`_neuron_step`.
    Returns the number of spikes, whose indices (ascending) are in ``spikes``."""
    return _neuron_step(step, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                        chan_decay, chan_erev, i_ext, spikes, counters, True)


@numba.njit(**JIT)
def propagate(step, spikes, n_spk, X, S, ring, proj_info, indptr, indices, weights, chan_kind,
              counters):
    """Deliver this step's spikes through every projection, then the delayed input due now.

    Event-driven: a spike of neuron ``i`` walks only row ``i`` of each projection whose
    presynaptic range holds ``i`` (CSR row or dense row), adding its weights to the targets'
    channel (to ``v`` for delta synapses) now, or to ring slot ``(step + delay) % L``. Adds the
    row lengths (synaptic operations) to ``counters``.
    """
    n_slots = ring.shape[0]
    for q in range(proj_info.shape[0]):
        pre_start = proj_info[q, 0]
        pre_end = proj_info[q, 1]
        post_start = proj_info[q, 2]
        c = proj_info[q, 3]
        delay = proj_info[q, 4]
        off = proj_info[q, 5]
        dense = proj_info[q, 6] != 0
        delta = chan_kind[c] == 0
        slot = (step + delay) % n_slots
        ops = 0
        for s in range(n_spk):
            i = spikes[s]
            if i < pre_start or i >= pre_end:
                continue
            r = off + i - pre_start
            a = indptr[r]
            b = indptr[r + 1]
            ops += b - a
            if delay > 0:
                for k in range(a, b):
                    t = post_start + (k - a) if dense else indices[k]
                    ring[slot, c, t] += weights[k]
            elif delta:
                for k in range(a, b):
                    t = post_start + (k - a) if dense else indices[k]
                    X[ROW_V, t] += weights[k]
            elif dense:
                for k in range(a, b):
                    S[c, post_start + (k - a)] += weights[k]
            else:
                sc = S[c]
                tg = indices[a:b]
                wt = weights[a:b]
                for k in range(tg.size):
                    sc[tg[k]] += wt[k]
        counters[proj_info[q, 7]] += ops
    if n_slots > 1:
        slot = step % n_slots
        for c in range(S.shape[0]):
            for t in range(S.shape[1]):
                x = ring[slot, c, t]
                if x != 0.0:
                    if chan_kind[c] == 0:
                        X[ROW_V, t] += x
                    else:
                        S[c, t] += x
                    ring[slot, c, t] = 0.0


@numba.njit(**JIT)
def run_network(step0, n_steps, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                chan_decay, chan_erev, i_ext, proj_info, indptr, indices, weights, ring,
                counters, spikes, spk_mask, spk_i, spk_t, spk_count, rec_idx, rec_row, rec_out,
                pop_counts):
    """The whole time loop: ``n_steps`` steps from global step ``step0``, in one call.

    Per step: record the chosen state (``rec_out[:, s] = X[rec_row, rec_idx]``, or
    ``S[rec_row - 5, rec_idx]`` for synaptic rows, the value at the start of the step), update
    the neurons, append spikes of neurons with ``spk_mask`` set to the preallocated buffers
    ``spk_i``/``spk_t`` (``spk_count[0]`` entries used), count spikes per population in
    ``pop_counts[:, s]`` (when it has columns), propagate. Stops early, returning the number of
    steps done, when the spike buffers might overflow in the next step; the caller grows them
    and calls again.
    """
    n = X.shape[1]
    cap = spk_i.shape[0]
    for s in range(n_steps):
        if spk_count[0] + n > cap:
            return s
        step = step0 + s
        for r in range(rec_idx.shape[0]):
            row = rec_row[r]
            rec_out[r, s] = X[row, rec_idx[r]] if row < 5 else S[row - 5, rec_idx[r]]
        n_spk = _neuron_step(step, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                             chan_decay, chan_erev, i_ext, spikes, counters, True)
        if n_spk > 0:
            m = spk_count[0]
            for k in range(n_spk):
                i = spikes[k]
                if spk_mask[i]:
                    spk_i[m] = i
                    spk_t[m] = step
                    m += 1
            spk_count[0] = m
            if pop_counts.shape[1] > 0:
                p = 0
                for k in range(n_spk):
                    while spikes[k] >= pop_info[p, 1]:
                        p += 1
                    pop_counts[p, s] += 1
            propagate(step, spikes, n_spk, X, S, ring, proj_info, indptr, indices, weights,
                      chan_kind, counters)
        elif ring.shape[0] > 1:
            propagate(step, spikes, 0, X, S, ring, proj_info, indptr, indices, weights,
                      chan_kind, counters)
    return n_steps


# The same loop written out a second time rather than shared through a helper: every level
# of compiled calls re-optimises everything beneath it, and this copy, which leaves out the
# models other than LIF, is what makes the first compilation of CUBA/COBA short.
@numba.njit(**JIT)
def run_network_lif(step0, n_steps, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                    chan_decay, chan_erev, i_ext, proj_info, indptr, indices, weights, ring,
                    counters, spikes, spk_mask, spk_i, spk_t, spk_count, rec_idx, rec_row,
                    rec_out, pop_counts):
    """:func:`run_network` for networks of LIF / adaptive LIF populations only (raises
    ``ValueError`` otherwise)."""
    n = X.shape[1]
    cap = spk_i.shape[0]
    for s in range(n_steps):
        if spk_count[0] + n > cap:
            return s
        step = step0 + s
        for r in range(rec_idx.shape[0]):
            row = rec_row[r]
            rec_out[r, s] = X[row, rec_idx[r]] if row < 5 else S[row - 5, rec_idx[r]]
        n_spk = _neuron_step(step, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                             chan_decay, chan_erev, i_ext, spikes, counters, False)
        if n_spk > 0:
            m = spk_count[0]
            for k in range(n_spk):
                i = spikes[k]
                if spk_mask[i]:
                    spk_i[m] = i
                    spk_t[m] = step
                    m += 1
            spk_count[0] = m
            if pop_counts.shape[1] > 0:
                p = 0
                for k in range(n_spk):
                    while spikes[k] >= pop_info[p, 1]:
                        p += 1
                    pop_counts[p, s] += 1
            propagate(step, spikes, n_spk, X, S, ring, proj_info, indptr, indices, weights,
                      chan_kind, counters)
        elif ring.shape[0] > 1:
            propagate(step, spikes, 0, X, S, ring, proj_info, indptr, indices, weights,
                      chan_kind, counters)
    return n_steps


#: dtypes of every array argument of :func:`run_network`, in order (the wrappers coerce to
#: these so that one compiled signature serves every call).
RUN_DTYPES = {
    "X": np.float64, "S": np.float64, "refc": np.int32, "pop_info": np.int64,
    "pop_par": np.float64, "pop_chan": np.float64, "chan_kind": np.int64,
    "chan_decay": np.float64, "chan_erev": np.float64, "i_ext": np.float64,
    "proj_info": np.int64, "indptr": np.int64, "indices": np.int32, "weights": np.float64,
    "ring": np.float64, "counters": np.int64, "spikes": np.int32, "spk_mask": np.uint8,
    "spk_i": np.int32, "spk_t": np.int32, "spk_count": np.int64, "rec_idx": np.int64,
    "rec_row": np.int64, "rec_out": np.float64, "pop_counts": np.int32,
}
