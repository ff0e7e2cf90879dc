"""Slow, obviously-correct NumPy twins of :mod:`neurosim.kernels.layers`.

Each function has the same signature as its kernel and the same effect on its arguments, but
computes it independently of the fan-out tables where it can: dense propagation is a
vector-matrix product, convolution a direct sliding-window sum over a zero-padded image, and
synaptic operations are counted by convolving the event map with a kernel of ones. They are
the definition the compiled kernels are tested against.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..kernels import layers as K

__all__ = ["if_update", "lif_update", "synapse_filter", "dense_scatter", "conv_scatter",
           "pool_scatter", "propagate",
           "simulate_sample", "simulate_layered", "simulate_layered_parallel"]


def if_update(v, current, bias, thr, spiking, spikes):
    """Twin of :func:`neurosim.kernels.layers.if_update`."""
    vk = (v + (current + bias)).astype(np.float32)  # same order as the kernel
    current[:] = 0.0
    fired = (vk >= thr) if spiking else np.zeros(v.shape, bool)
    vk[fired] -= np.float32(thr)
    v[:] = vk
    idx = np.flatnonzero(fired)
    spikes[:idx.size] = idx
    return idx.size


def lif_update(v, ref, current, bias, thr, tau_rc, tau_ref, dt, spikes):
    """Twin of :func:`neurosim.kernels.layers.lif_update`, written as whole-array steps:
    the non-refractory part of the step ``delta = clip(dt - ref, 0, dt)``, exact decay
    ``v <- J + (v - J) exp(-delta / tau_rc)``, threshold crossing time by inverting the same
    solution, reset to 0 and refractory time ``tau_ref + t_c - dt`` left for the next step."""
    j = current.astype(np.float64) + bias.astype(np.float64)
    current[:] = 0.0
    vk = v.astype(np.float64)
    delta = np.clip(dt - ref.astype(np.float64), 0.0, dt)
    vk = np.where(delta > 0, j + (vk - j) * np.exp(-delta / tau_rc), vk)
    rk = np.maximum(ref.astype(np.float64) - dt, 0.0)
    fired = vk > float(thr)
    th = float(thr)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_c = np.where(j > th, dt + tau_rc * np.log1p(-(vk - th) / (j - th)), dt)
    vk[fired] = 0.0
    rk[fired] = tau_ref + t_c[fired] - dt
    v[:] = vk.astype(np.float32)
    ref[:] = rk.astype(np.float32)
    idx = np.flatnonzero(fired)
    spikes[:idx.size] = idx
    return idx.size


def synapse_filter(current, syn, decay):
    """Twin of :func:`neurosim.kernels.layers.synapse_filter`: ``s <- decay s + (1 - decay) I``
    in float32, and the current replaced by ``s``."""
    s = np.float32(decay) * syn + np.float32(1.0 - decay) * current
    syn[:] = s
    current[:] = s


def _event_vector(idx, n, vals, weighted, size):
    a = np.zeros(size, np.float64)
    np.add.at(a, idx[:n], vals[:n] if weighted else 1.0)
    return a


def dense_scatter(idx, n, vals, weighted, geom_row, wt, current, counter, slot):
    """Twin of :func:`neurosim.kernels.layers.dense_scatter`: ``current += a @ WT``."""
    n_in, n_out = int(geom_row[K.G_NIN]), int(geom_row[K.G_NOUT])
    a = _event_vector(idx, n, vals, weighted, n_in)
    current[:n_out] += (a @ wt[:n_in * n_out].reshape(n_in, n_out)).astype(np.float32)
    counter[slot] += n * n_out


def _window_sum(image, kernel, geom_row):
    """Direct cross-correlation of a channels-last image ``(H, W, C_in)`` with a kernel
    ``(C_in, kh, kw, C_out)``: ``out[i, j, o] = sum x_pad[i*sh+u, j*sw+v, c] k[c, u, v, o]``."""
    kh, kw = int(geom_row[K.G_KH]), int(geom_row[K.G_KW])
    sh, sw = int(geom_row[K.G_SH]), int(geom_row[K.G_SW])
    ph, pw = int(geom_row[K.G_PH]), int(geom_row[K.G_PW])
    h_out, w_out = int(geom_row[K.G_HOUT]), int(geom_row[K.G_WOUT])
    padded = np.pad(image, ((ph, ph), (pw, pw), (0, 0)))
    win = sliding_window_view(padded, (kh, kw), axis=(0, 1))  # (H', W', C, kh, kw)
    win = win[: (h_out - 1) * sh + 1: sh, : (w_out - 1) * sw + 1: sw]
    return np.einsum("ijcuv,cuvo->ijo", win, kernel)


def conv_scatter(idx, n, vals, weighted, geom_row, wk, ptr, tgt, kof, current, counter, slot):
    """Twin of :func:`neurosim.kernels.layers.conv_scatter` (ignores the fan-out tables)."""
    c_in, h_in, w_in = (int(geom_row[x]) for x in (K.G_CIN, K.G_HIN, K.G_WIN))
    c_out, kh, kw = (int(geom_row[x]) for x in (K.G_COUT, K.G_KH, K.G_KW))
    a = _event_vector(idx, n, vals, weighted, c_in * h_in * w_in).reshape(h_in, w_in, c_in)
    kernel = wk[: c_in * kh * kw * c_out].reshape(c_in, kh, kw, c_out).astype(np.float64)
    out = _window_sum(a, kernel, geom_row)
    current[: out.size] += out.ravel().astype(np.float32)
    events = _event_vector(idx, n, vals, False, c_in * h_in * w_in).reshape(h_in, w_in, c_in)
    reached = _window_sum(events, np.ones((c_in, kh, kw, 1)), geom_row)
    counter[slot] += int(round(reached.sum())) * c_out


def pool_scatter(idx, n, vals, weighted, geom_row, w, ptr, tgt, current, counter, slot):
    """Twin of :func:`neurosim.kernels.layers.pool_scatter`: a depthwise window sum times ``w``."""
    c, h_in, w_in = (int(geom_row[x]) for x in (K.G_CIN, K.G_HIN, K.G_WIN))
    kh, kw = int(geom_row[K.G_KH]), int(geom_row[K.G_KW])
    a = _event_vector(idx, n, vals, weighted, c * h_in * w_in).reshape(h_in, w_in, c)
    events = _event_vector(idx, n, vals, False, c * h_in * w_in).reshape(h_in, w_in, c)
    out = np.zeros((int(geom_row[K.G_HOUT]), int(geom_row[K.G_WOUT]), c))
    reached = 0.0
    for ch in range(c):  # depthwise: each channel alone, one input channel, one output
        ones = np.ones((1, kh, kw, 1))
        out[..., ch] = _window_sum(a[..., ch:ch + 1], ones, geom_row)[..., 0] * w
        reached += _window_sum(events[..., ch:ch + 1], ones, geom_row).sum()
    current[: out.size] += out.ravel().astype(np.float32)
    counter[slot] += int(round(reached))


def propagate(idx, n, vals, weighted, geom_row, poolw, w_all, ptr_all, tgt_all, kof_all,
              current, counter, slot):
    """Twin of :func:`neurosim.kernels.layers.propagate`."""
    kind, woff = int(geom_row[K.G_KIND]), int(geom_row[K.G_WOFF])
    if kind == K.KIND_DENSE:
        dense_scatter(idx, n, vals, weighted, geom_row, w_all[woff:], current, counter, slot)
    elif kind == K.KIND_CONV:
        conv_scatter(idx, n, vals, weighted, geom_row, w_all[woff:], None, None, None, current,
                     counter, slot)
    else:
        pool_scatter(idx, n, vals, weighted, geom_row, poolw, None, None, current, counter,
                     slot)


def simulate_sample(s, geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all, kof_all,
                    x_analog, x_spikes, spike_input, checkpoints, v_init, out_counts, out_v,
                    sops, spikes, input_macs, neuron_counts, raster, raster_sample):
    """Twin of :func:`neurosim.kernels.layers.simulate_sample`, built from the twins above."""
    n_layers = geom.shape[0]
    n_out = int(geom[-1, K.G_NOUT])
    n0 = int(geom[0, K.G_NOUT])
    offs = [int(g[K.G_NOFF]) for g in geom]
    sizes = [int(g[K.G_NOUT]) for g in geom]
    v = [np.full(sizes[li], v_init * thr[li], np.float32) for li in range(n_layers)]
    cur = [np.zeros(sizes[li], np.float32) for li in range(n_layers)]
    ref = [np.zeros(sizes[li], np.float32) for li in range(n_layers)]
    syn = [np.zeros(sizes[li], np.float32) for li in range(n_layers)]
    tot_sops = np.zeros(n_layers, np.int64)
    tot_spikes = np.zeros(n_layers, np.int64)
    counts = np.zeros(n_out, np.float32)
    bias0 = b_all[:n0].copy()
    if spike_input == 0:
        nz = np.flatnonzero(x_analog[s])
        mac = np.zeros(1, np.int64)
        propagate(nz, nz.size, x_analog[s, nz], True, geom[0], poolw[0], w_all, ptr_all,
                  tgt_all, kof_all, bias0, mac, 0)
        input_macs[s] = mac[0]
    k_ck = 0
    for t in range(int(checkpoints[-1])):
        for li in range(n_layers):
            if li == 0 and spike_input == 1:
                on = np.flatnonzero(x_spikes[s, t])
                propagate(on, on.size, None, False, geom[0], poolw[0], w_all, ptr_all,
                          tgt_all, kof_all, cur[0], tot_sops, 0)
            bias = bias0 if li == 0 else b_all[offs[li]:offs[li] + sizes[li]]
            spk = np.zeros(sizes[li], np.int64)
            if geom[li, K.G_NEURON] == K.NEURON_LIF and geom[li, K.G_SPIKING] != 0:
                if tau[li, 2] > 0.0:
                    synapse_filter(cur[li], syn[li], np.exp(-dt / tau[li, 2]))
                ns = lif_update(v[li], ref[li], cur[li], bias, thr[li], tau[li, 0], tau[li, 1],
                                dt, spk)
            else:
                ns = if_update(v[li], cur[li], bias, thr[li], geom[li, K.G_SPIKING] != 0, spk)
            tot_spikes[li] += ns
            if neuron_counts.shape[0] > 0:
                neuron_counts[s, offs[li] + spk[:ns]] += 1
            if s == raster_sample:
                raster[t, offs[li] + spk[:ns]] = 1
            if li == n_layers - 1:
                counts[spk[:ns]] += 1
            elif ns > 0:
                propagate(spk, ns, None, False, geom[li + 1], poolw[li + 1], w_all, ptr_all,
                          tgt_all, kof_all, cur[li + 1], tot_sops, li + 1)
        if t + 1 == checkpoints[k_ck]:
            out_counts[s, k_ck] = counts
            out_v[s, k_ck] = v[-1]
            sops[s, k_ck] = tot_sops
            spikes[s, k_ck] = tot_spikes
            k_ck += 1


def simulate_layered(geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all, kof_all,
                     x_analog, x_spikes, spike_input, checkpoints, v_init, out_counts, out_v,
                     sops, spikes, input_macs, neuron_counts, raster, raster_sample):
    """Twin of :func:`neurosim.kernels.layers.simulate_layered`: every sample in turn."""
    for s in range(out_counts.shape[0]):
        simulate_sample(s, geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all,
                        kof_all, x_analog, x_spikes, spike_input, checkpoints, v_init,
                        out_counts, out_v, sops, spikes, input_macs, neuron_counts, raster,
                        raster_sample)


#: Twin of :func:`neurosim.kernels.layers.simulate_layered_parallel` (same results: samples are
#: independent, so the order in which they run does not matter).
simulate_layered_parallel = simulate_layered
