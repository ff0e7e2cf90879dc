"""Slow, obviously-correct NumPy twins of :mod:`neurosim.kernels.network`.

Same signatures, same in-place effects, same counters: they are the definition the compiled
kernels are tested against. Written population by population with whole-array NumPy
operations (the kernels loop neuron by neuron), so the two share no code.
"""

from __future__ import annotations

import numpy as np

from ..kernels.network import (
    MODEL_ADEX,
    MODEL_ALIF,
    MODEL_HH,
    MODEL_IF,
    MODEL_IZH,
    MODEL_LIF,
    ROW_A,
    ROW_H,
    ROW_M,
    ROW_N,
    ROW_V,
)

__all__ = ["neuron_step", "propagate", "run_network", "run_network_lif"]


def _hh_rates(v):
    xm = -(v + 40.0) / 10.0
    xn = -(v + 55.0) / 10.0
    with np.errstate(invalid="ignore", divide="ignore"):
        am = np.where(np.abs(xm) < 1e-9, 1.0, xm / np.expm1(xm))
        an = np.where(np.abs(xn) < 1e-9, 0.1, 0.1 * xn / np.expm1(xn))
    return (am, 4.0 * np.exp(-(v + 65.0) / 18.0), 0.07 * np.exp(-(v + 65.0) / 20.0),
            1.0 / (1.0 + np.exp(-(v + 35.0) / 10.0)), an, 0.125 * np.exp(-(v + 65.0) / 80.0))


def _hh_f(y, par, i_tot, gsum, gesum):
    v, m, h, n = y
    am, bm, ah, bh, an, bn = _hh_rates(v)
    i_ion = (par[1] * m ** 3 * h * (v - par[4]) + par[2] * n ** 4 * (v - par[5])
             + par[3] * (v - par[6]))
    return np.stack([(-i_ion + i_tot + gesum - gsum * v) / par[0],
                     par[8] * (am * (1 - m) - bm * m), par[8] * (ah * (1 - h) - bh * h),
                     par[8] * (an * (1 - n) - bn * n)])


def neuron_step(step, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind, chan_decay,
                chan_erev, i_ext, spikes, counters):
    """Twin of :func:`neurosim.kernels.network.neuron_step`."""
    row = step if i_ext.shape[0] > 1 else 0
    cur_ch = chan_kind == 1
    cond_ch = chan_kind == 2
    out = []
    for p in range(pop_info.shape[0]):
        sl = slice(int(pop_info[p, 0]), int(pop_info[p, 1]))
        model = int(pop_info[p, 2])
        par = pop_par[p]
        s = S[:, sl]
        cur = s[cur_ch].sum(axis=0)
        gsum = s[cond_ch].sum(axis=0)
        gesum = (s[cond_ch] * chan_erev[cond_ch, None]).sum(axis=0)
        drive = i_ext[row, sl]
        v = X[ROW_V, sl].copy()
        rc = refc[sl]
        if model != MODEL_HH:
            counting = rc > 0
            rc[counting] -= 1
            ref = rc > 0
        spiked = np.zeros(v.size, dtype=bool)
        if model in (MODEL_LIF, MODEL_ALIF):
            w = X[ROW_A, sl].copy() if model == MODEL_ALIF else np.zeros(v.size)
            tau_m, r_m, v_rest, v_th, v_reset = par[:5]
            if par[11] > 0:
                g_tot = 1 + r_m * gsum
                v_inf = (v_rest + r_m * (drive - w + cur + gesum)) / g_tot
                v_new = v_inf + (v - v_inf) * np.exp(-dt * g_tot / tau_m)
            else:
                v_inf = v_rest + r_m * drive
                v_new = v_inf + (v - v_inf) * par[7]
                if model == MODEL_ALIF:
                    v_new = v_new - (r_m * par[10]) * w
                # Channel by channel, in order: the same rounding as the kernel.
                for c in np.flatnonzero(cur_ch):
                    if r_m * pop_chan[p, c] != 0.0:
                        v_new = v_new + (r_m * pop_chan[p, c]) * s[c]
            v = np.where(ref, v, v_new)
            w = w * par[8]
            spiked = ~ref & (v > v_th)
            v = np.where(spiked, v - (v_th - v_reset) if par[5] > 0 else v_reset, v)
            w = np.where(spiked, w + par[9], w)
            rc[spiked] = int(par[6])
            if model == MODEL_ALIF:
                X[ROW_A, sl] = w
        elif model == MODEL_IF:
            syn = (pop_chan[p, cur_ch, None] * s[cur_ch]).sum(axis=0)
            v_new = v + (drive * dt + syn + dt * (gesum - gsum * v)) / par[0]
            v = np.where(ref, v, v_new)
            spiked = ~ref & (v > par[1])
            v = np.where(spiked, v - (par[1] - par[2]) if par[3] > 0 else par[2], v)
            rc[spiked] = int(par[4])
        elif model == MODEL_IZH:
            u = X[ROW_A, sl]
            i_tot = drive + cur + gesum - gsum * v
            u_new = u + dt * par[0] * (par[1] * v - u)
            v = np.where(ref, v, v + dt * (0.04 * v ** 2 + 5 * v + 140 - u + i_tot))
            spiked = ~ref & (v >= par[4])
            v = np.where(spiked, par[2], v)
            X[ROW_A, sl] = np.where(spiked, u_new + par[3], u_new)
            rc[spiked] = int(par[5])
        elif model == MODEL_ADEX:
            w = X[ROW_A, sl]
            i_tot = drive + cur + gesum - gsum * v
            c_m, g_l, e_l, v_t, d_t, a, tau_w, b, v_reset, v_peak = par[:10]
            w_new = w + dt * (a * (v - e_l) - w) / tau_w
            dv = (-g_l * (v - e_l) + g_l * d_t * np.exp((v - v_t) / d_t) - w + i_tot) / c_m
            v = np.where(ref, v, v + dt * dv)
            spiked = ~ref & (v > v_peak)
            v = np.where(spiked, v_reset, v)
            X[ROW_A, sl] = np.where(spiked, w_new + b, w_new)
            rc[spiked] = int(par[10])
        elif model == MODEL_HH:
            rc[v <= par[7]] = 0
            y = np.stack([v, X[ROW_M, sl], X[ROW_H, sl], X[ROW_N, sl]])
            i_tot = drive + cur
            if par[9] > 0:
                k1 = _hh_f(y, par, i_tot, gsum, gesum)
                k2 = _hh_f(y + dt / 2 * k1, par, i_tot, gsum, gesum)
                k3 = _hh_f(y + dt / 2 * k2, par, i_tot, gsum, gesum)
                k4 = _hh_f(y + dt * k3, par, i_tot, gsum, gesum)
                y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            else:
                v0, m, h, n = y
                am, bm, ah, bh, an, bn = _hh_rates(v0)
                gna = par[1] * m ** 3 * h
                gk = par[2] * n ** 4
                a_v = -(gna + gk + par[3] + gsum) / par[0]
                b_v = (gna * par[4] + gk * par[5] + par[3] * par[6] + gesum + i_tot) / par[0]
                y = np.stack([
                    -b_v / a_v + (v0 + b_v / a_v) * np.exp(a_v * dt),
                    *[x_inf + (x - x_inf) * np.exp(-par[8] * tot * dt)
                      for x, x_inf, tot in ((m, am / (am + bm), am + bm),
                                            (h, ah / (ah + bh), ah + bh),
                                            (n, an / (an + bn), an + bn))]])
            v = y[0]
            X[ROW_M, sl], X[ROW_H, sl], X[ROW_N, sl] = y[1], y[2], y[3]
            spiked = (v > par[7]) & (rc == 0)
            rc[spiked] = 1
        else:  # McCulloch-Pitts
            total = v + drive + cur
            X[ROW_A, sl] = total
            v = np.zeros(v.size)
            spiked = total >= par[0]
        X[ROW_V, sl] = v
        idx = np.flatnonzero(spiked) + sl.start
        out.append(idx)
        counters[pop_info[p, 3]] += sl.stop - sl.start
        counters[pop_info[p, 4]] += idx.size
    S[chan_kind != 0] *= chan_decay[chan_kind != 0, None]
    allspk = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    spikes[:allspk.size] = allspk
    return int(allspk.size)


def propagate(step, spikes, n_spk, X, S, ring, proj_info, indptr, indices, weights, chan_kind,
              counters):
    """Twin of :func:`neurosim.kernels.network.propagate`."""
    n_slots = ring.shape[0]
    fired = np.asarray(spikes[:n_spk], dtype=np.int64)
    for q in range(proj_info.shape[0]):
        pre_start, pre_end, post_start, c, delay, off, dense, cidx = (int(x) for x in
                                                                      proj_info[q])
        src = fired[(fired >= pre_start) & (fired < pre_end)]
        tgts, ws = [], []
        for i in src:
            a, b = int(indptr[off + i - pre_start]), int(indptr[off + i - pre_start + 1])
            tgts.append(post_start + np.arange(b - a) if dense else indices[a:b])
            ws.append(weights[a:b])
            counters[cidx] += b - a
        if not tgts:
            continue
        t = np.concatenate(tgts).astype(np.int64)
        w = np.concatenate(ws)
        if delay > 0:
            np.add.at(ring[(step + delay) % n_slots, c], t, w)
        elif chan_kind[c] == 0:
            np.add.at(X[ROW_V], t, w)
        else:
            np.add.at(S[c], t, w)
    if n_slots > 1:
        slot = step % n_slots
        delta = chan_kind == 0
        X[ROW_V] += ring[slot, delta].sum(axis=0)
        S[~delta] += ring[slot, ~delta]
        ring[slot] = 0.0


def run_network(step0, n_steps, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                chan_decay, chan_erev, i_ext, proj_info, indptr, indices, weights, ring,
                counters, spikes, spk_mask, spk_i, spk_t, spk_count, rec_idx, rec_row, rec_out,
                pop_counts):
    """Twin of :func:`neurosim.kernels.network.run_network`."""
    n = X.shape[1]
    for s in range(n_steps):
        if spk_count[0] + n > spk_i.shape[0]:
            return s
        step = step0 + s
        for r in range(rec_idx.shape[0]):
            row = rec_row[r]
            rec_out[r, s] = X[row, rec_idx[r]] if row < 5 else S[row - 5, rec_idx[r]]
        n_spk = neuron_step(step, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                            chan_decay, chan_erev, i_ext, spikes, counters)
        fired = spikes[:n_spk]
        keep = fired[spk_mask[fired] != 0]
        m = int(spk_count[0])
        spk_i[m:m + keep.size] = keep
        spk_t[m:m + keep.size] = step
        spk_count[0] = m + keep.size
        if pop_counts.shape[1] > 0 and n_spk:
            pops = np.searchsorted(pop_info[:, 1], fired, side="right")
            np.add.at(pop_counts[:, s], pops, 1)
        propagate(step, spikes, n_spk, X, S, ring, proj_info, indptr, indices, weights,
                  chan_kind, counters)
    return n_steps


def run_network_lif(step0, n_steps, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                    chan_decay, chan_erev, i_ext, proj_info, indptr, indices, weights, ring,
                    counters, spikes, spk_mask, spk_i, spk_t, spk_count, rec_idx, rec_row,
                    rec_out, pop_counts):
    """Twin of :func:`neurosim.kernels.network.run_network_lif`: LIF populations only."""
    if not np.all((pop_info[:, 2] == MODEL_LIF) | (pop_info[:, 2] == MODEL_ALIF)):
        raise ValueError("run_network_lif runs LIF populations only; use run_network")
    return run_network(step0, n_steps, dt, X, S, refc, pop_info, pop_par, pop_chan, chan_kind,
                       chan_decay, chan_erev, i_ext, proj_info, indptr, indices, weights, ring,
                       counters, spikes, spk_mask, spk_i, spk_t, spk_count, rec_idx, rec_row,
                       rec_out, pop_counts)
