"""Event-driven spiking layers: integrate-and-fire updates and spike propagation.

A layered network is described to these kernels by flat arrays prepared once by
:mod:`neurosim.builder.layered`:

- ``geom`` (``n_layers x N_GEOM`` int64): one row per spiking layer, columns ``G_*`` below.
- ``w_all`` (float32): every layer's weights, concatenated, each in a layout where one input
  event's fan-out is contiguous: dense ``WT[i, :]`` (``W`` transposed, shape ``(n_in, n_out)``);
  conv ``Wk[c, u, v, :]`` (shape ``(C_in, kh, kw, C_out)``).
- ``b_all`` (float32, one entry per neuron): the bias of each neuron, a constant input current
  added at every step.
- ``ptr_all``, ``tgt_all``, ``kof_all`` (int64): per-layer fan-out tables in CSR form for conv
  and pooling layers. Conv: for input position ``p = y * W_in + x``, entries
  ``ptr[p] .. ptr[p+1]`` list the output positions it reaches (``tgt`` = first state index of
  that position) and the kernel tap (``kof = (u * kw + v) * C_out``). Pooling: one row per
  input neuron, ``tgt`` the state index of each pooling neuron it reaches. Edge positions have
  fewer entries: the tables are the exact per-position fan-out.

Neuron state is channels-last (``index = (y * W + x) * C + c``) so that a spike's targets in
all output channels are contiguous.

Neuron model (integrate-and-fire with reset by subtraction, Rueckauer et al. 2017, eq. 2-3)::

    v[t] = v[t-1] + I[t] + b          (I: synaptic input current of this step)
    if v[t] >= theta:  spike, v[t] -= theta

Its firing rate under a constant drive ``J = I + b`` is ``max(J, 0) / theta`` spikes per step
(clipped at 1), the ReLU. A non-spiking layer (``G_SPIKING = 0``) only integrates; its
membrane potential is the readout.

A layer whose ``G_NEURON`` column is ``NEURON_LIF`` runs leaky integrate-and-fire neurons
instead (:func:`lif_update`: time constant ``tau_rc``, threshold ``theta``, reset to 0,
absolute refractory period ``tau_ref``, step ``dt`` in seconds), the spiking twin of the LIF
rate curve. The neuron kind is chosen once per layer and step, never per neuron, so the IF
path keeps its vectorised loop.

Counters: every propagation adds its synaptic operations (one per target reached) to an
explicit counter array.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import JIT

__all__ = [
    "KIND_DENSE", "KIND_CONV", "KIND_POOL", "N_GEOM",
    "G_KIND", "G_NIN", "G_NOUT", "G_CIN", "G_HIN", "G_WIN", "G_COUT", "G_HOUT", "G_WOUT",
    "G_KH", "G_KW", "G_SH", "G_SW", "G_PH", "G_PW", "G_WOFF", "G_NOFF", "G_TOFF", "G_EOFF",
    "G_SPIKING", "G_NEURON", "NEURON_IF", "NEURON_LIF",
    "if_update", "lif_update", "synapse_filter", "dense_scatter", "conv_scatter",
    "pool_scatter", "propagate",
    "simulate_sample", "simulate_layered", "simulate_layered_parallel",
]

KIND_DENSE, KIND_CONV, KIND_POOL = 0, 1, 2
#: Neuron kinds of a layer (column ``G_NEURON``).
NEURON_IF, NEURON_LIF = 0, 1

# Columns of a ``geom`` row.
(G_KIND, G_NIN, G_NOUT, G_CIN, G_HIN, G_WIN, G_COUT, G_HOUT, G_WOUT, G_KH, G_KW, G_SH, G_SW,
 G_PH, G_PW, G_WOFF, G_NOFF, G_TOFF, G_EOFF, G_SPIKING, G_NEURON) = range(21)
N_GEOM = 21


@numba.njit(**JIT)
def if_update(v, current, bias, thr, spiking, spikes):
    """One step of integrate-and-fire neurons with reset by subtraction.

    ``v += current + bias``; where ``spiking`` and ``v >= thr``: ``v -= thr`` and the neuron's
    index is written to ``spikes``. ``current`` is cleared for the next step. Returns the number
    of spikes (their indices are ``spikes[:n]``, ascending).
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


@numba.njit(**JIT)
def lif_update(v, ref, current, bias, thr, tau_rc, tau_ref, dt, spikes):
    """One step ``dt`` (s) of leaky integrate-and-fire neurons, reset to 0, refractory period.

    The input ``J = current + bias`` (normalised so that the threshold is ``thr``) is constant
    over the step, so the membrane equation ``tau_rc dv/dt = J - v`` is integrated exactly::

        v <- J + (v - J) exp(-delta / tau_rc)

    over the part ``delta = clip(dt - ref, 0, dt)`` of the step in which the neuron is not
    refractory (``ref``: refractory time left at the start of the step, s). Where ``v > thr``
    the neuron spikes (index written to ``spikes``), ``v`` is reset to 0 and the refractory
    period starts at the interpolated crossing time inside the step,
    ``t_c = dt + tau_rc ln(1 - (v - thr) / (J - thr))`` (from ``v(t_c) = thr``), so that
    ``ref <- tau_ref + t_c - dt`` is the time left at the start of the next step. This is
    Nengo's ``LIF.step``: under constant drive the spike times are exact, only reported at the
    end of their step, so the count in ``T`` steps is that of the continuous neuron and the
    rate is :func:`~neurosim.specs.activations.lif_rate` within one spike per ``T dt``.
    At most one spike per step (rates up to ``1 / dt``). Arithmetic is float64, state float32.
    ``current`` is cleared for the next step. Returns the number of spikes.
    """
    nv = v.shape[0]
    vv = v[:nv]
    rr = ref[:nv]
    cc = current[:nv]
    bb = bias[:nv]
    decay = np.exp(-dt / tau_rc)
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
            vk = j + (vk - j) * np.exp((left) / tau_rc)  # refractory ends at -left before end
        rk = max(left, 0.0)
        if vk > th:
            t_c = dt
            if j > th:
                t_c = dt + tau_rc * np.log1p(-(vk - th) / (j - th))
            vk = 0.0
            rk = tau_ref + t_c - dt
            spikes[n] = k
            n += 1
        vv[k] = vk
        rr[k] = rk
    return n


@numba.njit(**JIT)
def synapse_filter(current, syn, decay):
    """First-order synapse ``tau_s ds/dt = I - s`` on the spike current of one step.

    ``current`` holds this step's input ``I`` (spikes times weights; its mean over time is
    the classic pre-activation without bias). Held constant over the step, the exact update is
    ``s <- decay s + (1 - decay) I`` with ``decay = exp(-dt / tau_s)``: the mean of ``s`` is the
    mean of ``I``, its step-to-step fluctuation is smoothed over ``tau_s``. ``current`` is
    replaced by ``s`` (what the neurons integrate this step).
    """
    nv = current.shape[0]
    cc = current[:nv]
    ss = syn[:nv]
    gain = np.float32(1.0 - decay)
    d = np.float32(decay)
    for k in range(nv):
        sk = d * ss[k] + gain * cc[k]
        ss[k] = sk
        cc[k] = sk


@numba.njit(**JIT)
def dense_scatter(idx, n, vals, weighted, geom_row, wt, current, counter, slot):
    """Dense fan-out: each event ``i`` adds row ``wt[i, :]`` (times ``vals[e]`` if
    ``weighted``) to ``current``. Adds ``n * n_out`` synaptic operations to ``counter[slot]``."""
    n_out = geom_row[G_NOUT]
    dst = current[:n_out]
    for e in range(n):
        row = idx[e] * n_out
        # Slice views (rather than offset indexing) let LLVM vectorise the row add.
        src = wt[row:row + n_out]
        if weighted:
            a = vals[e]
            for o in range(n_out):
                dst[o] += a * src[o]
        else:
            for o in range(n_out):
                dst[o] += src[o]
    counter[slot] += n * n_out


@numba.njit(**JIT)
def conv_scatter(idx, n, vals, weighted, geom_row, wk, ptr, tgt, kof, current, counter, slot):
    """Convolution fan-out: an event at input ``(y, x, c)`` adds the kernel slice
    ``Wk[c, u, v, :]`` to the ``C_out`` channels of every output position its window reaches
    (fan-out table ``ptr``/``tgt``/``kof``). Adds the exact count of targets reached."""
    c_in = geom_row[G_CIN]
    c_out = geom_row[G_COUT]
    taps = geom_row[G_KH] * geom_row[G_KW]
    sops = 0
    for e in range(n):
        i = idx[e]
        pos = i // c_in
        c = i - pos * c_in
        wbase = c * taps * c_out
        for q in range(ptr[pos], ptr[pos + 1]):
            t = tgt[q]
            w0 = wbase + kof[q]
            # Slice views let LLVM vectorise the channel loop (about 8x faster than offsets).
            dst = current[t:t + c_out]
            src = wk[w0:w0 + c_out]
            if weighted:
                a = vals[e]
                for o in range(c_out):
                    dst[o] += a * src[o]
            else:
                for o in range(c_out):
                    dst[o] += src[o]
        sops += (ptr[pos + 1] - ptr[pos]) * c_out
    counter[slot] += sops


@numba.njit(**JIT)
def pool_scatter(idx, n, vals, weighted, geom_row, w, ptr, tgt, current, counter, slot):
    """Average-pooling fan-out: an event of input neuron ``i`` adds ``w = 1 / (kh kw)`` to each
    pooling neuron whose window contains it (one for non-overlapping windows, none for cropped
    edges). The table is per input *neuron* (``ptr[i] .. ptr[i+1]``, ``tgt`` = state index of
    the target), which spares an integer division per spike. Adds the count of targets."""
    sops = 0
    for e in range(n):
        i = idx[e]
        a = vals[e] * w if weighted else w
        p0 = ptr[i]
        p1 = ptr[i + 1]
        for q in range(p0, p1):
            current[tgt[q]] += a
        sops += p1 - p0
    counter[slot] += sops


@numba.njit(**JIT)
def propagate(idx, n, vals, weighted, geom_row, poolw, w_all, ptr_all, tgt_all, kof_all,
              current, counter, slot):
    """Send ``n`` events (indices ``idx[:n]``) into the layer described by ``geom_row``."""
    kind = geom_row[G_KIND]
    woff = geom_row[G_WOFF]
    if kind == KIND_DENSE:
        dense_scatter(idx, n, vals, weighted, geom_row, w_all[woff:], current, counter, slot)
    else:
        toff = geom_row[G_TOFF]
        eoff = geom_row[G_EOFF]
        # conv tables are per input position, pooling tables per input neuron
        rows = geom_row[G_HIN] * geom_row[G_WIN] if kind == KIND_CONV else geom_row[G_NIN]
        ptr = ptr_all[toff:toff + rows + 1]
        if kind == KIND_CONV:
            conv_scatter(idx, n, vals, weighted, geom_row, w_all[woff:], ptr, tgt_all[eoff:],
                         kof_all[eoff:], current, counter, slot)
        else:
            pool_scatter(idx, n, vals, weighted, geom_row, poolw, ptr, tgt_all[eoff:],
                         current, counter, slot)


@numba.njit(**JIT)
def simulate_sample(s, geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all, kof_all,
                    x_analog, x_spikes, spike_input, checkpoints, v_init, out_counts, out_v,
                    sops, spikes, input_macs, neuron_counts, raster, raster_sample):
    """Simulate sample ``s`` of a batch (see :func:`simulate_layered`); its state is private,
    so different samples may run on different threads. Writes only row ``s`` of the outputs
    (and ``raster`` when ``s == raster_sample``)."""
    n_layers = geom.shape[0]
    n_total = b_all.shape[0]
    n_steps = checkpoints[checkpoints.shape[0] - 1]
    last = geom[n_layers - 1]
    out_off = last[G_NOFF]
    n_out = last[G_NOUT]
    n0 = geom[0, G_NOUT]
    n_in = geom[0, G_NIN]
    v = np.empty(n_total, dtype=np.float32)
    ref = np.zeros(n_total, dtype=np.float32)  # refractory time left (s), LIF layers only
    syn = np.zeros(n_total, dtype=np.float32)  # filtered spike current, LIF layers only
    cur = np.zeros(n_total, dtype=np.float32)
    spk = np.zeros(n_total, dtype=np.int64)
    cnt_out = np.zeros(n_out, dtype=np.float32)
    bias0 = b_all[:n0].copy()
    in_idx = np.zeros(n_in, dtype=np.int64)
    in_val = np.zeros(n_in, dtype=np.float32)
    tot_sops = np.zeros(n_layers, dtype=np.int64)
    tot_spikes = np.zeros(n_layers, dtype=np.int64)
    mac_counter = np.zeros(1, dtype=np.int64)
    record_counts = neuron_counts.shape[0] > 0
    for li in range(n_layers):
        off = geom[li, G_NOFF]
        for k in range(geom[li, G_NOUT]):
            v[off + k] = v_init * thr[li]
    if spike_input == 0:
        # The input is constant: its current is computed once (the MACs a classic first
        # layer would do), then added at every step as part of layer 0's bias.
        m = 0
        for i in range(n_in):
            if x_analog[s, i] != 0.0:
                in_idx[m] = i
                in_val[m] = x_analog[s, i]
                m += 1
        propagate(in_idx, m, in_val, True, geom[0], poolw[0], w_all, ptr_all, tgt_all,
                  kof_all, bias0, mac_counter, 0)
        input_macs[s] = mac_counter[0]
    k_ck = 0
    for t in range(n_steps):
        for li in range(n_layers):
            g = geom[li]
            off = g[G_NOFF]
            nl = g[G_NOUT]
            if li == 0 and spike_input == 1:
                m = 0
                for i in range(n_in):
                    if x_spikes[s, t, i] != 0:
                        in_idx[m] = i
                        m += 1
                propagate(in_idx, m, in_val, False, g, poolw[0], w_all, ptr_all, tgt_all,
                          kof_all, cur[off:off + nl], tot_sops, 0)
            bias = bias0 if li == 0 else b_all[off:off + nl]
            if g[G_NEURON] == NEURON_LIF and g[G_SPIKING] != 0:
                if tau[li, 2] > 0.0:
                    synapse_filter(cur[off:off + nl], syn[off:off + nl],
                                   np.exp(-dt / tau[li, 2]))
                ns = lif_update(v[off:off + nl], ref[off:off + nl], cur[off:off + nl], bias,
                                thr[li], tau[li, 0], tau[li, 1], dt, spk[off:off + nl])
            else:
                ns = if_update(v[off:off + nl], cur[off:off + nl], bias, thr[li],
                               g[G_SPIKING] != 0, spk[off:off + nl])
            tot_spikes[li] += ns
            if record_counts:
                for e in range(ns):
                    neuron_counts[s, off + spk[off + e]] += 1
            if s == raster_sample:
                for e in range(ns):
                    raster[t, off + spk[off + e]] = 1
            if li == n_layers - 1:
                for e in range(ns):
                    cnt_out[spk[off + e]] += 1.0
            elif ns > 0:
                g2 = geom[li + 1]
                off2 = g2[G_NOFF]
                propagate(spk[off:], ns, in_val, False, g2, poolw[li + 1], w_all, ptr_all,
                          tgt_all, kof_all, cur[off2:off2 + g2[G_NOUT]], tot_sops, li + 1)
        if t + 1 == checkpoints[k_ck]:
            for o in range(n_out):
                out_counts[s, k_ck, o] = cnt_out[o]
                out_v[s, k_ck, o] = v[out_off + o]
            for li in range(n_layers):
                sops[s, k_ck, li] = tot_sops[li]
                spikes[s, k_ck, li] = tot_spikes[li]
            k_ck += 1


_DOC = """Simulate every sample of a batch for ``checkpoints[-1]`` steps, the whole loop compiled.

    Per step, layers are updated in order and a layer's spikes reach the next layer in the same
    step (no synaptic delay). ``thr[l]``: threshold of layer ``l``; ``tau[l] = (tau_rc,
    tau_ref, tau_s)`` (s) of its LIF neurons (unused for IF layers; ``tau_s > 0``: their spike
    input passes a first-order synapse, :func:`synapse_filter`); ``dt``: step (s), used by LIF
    layers only. Input: ``spike_input == 0``: the analog sample ``x_analog[s]`` is a
    constant current into layer 0, computed once per sample (``input_macs[s]`` receives the
    effective MACs of that one computation: non-zero inputs times their fan-out);
    ``spike_input == 1``: ``x_spikes[s, t]`` (0/1) are input spikes, propagated event by event.

    Outputs (per sample ``s``, per checkpoint ``k``, cumulated up to step ``checkpoints[k]``):
    ``out_counts[s, k]`` output spike counts, ``out_v[s, k]`` output membrane potentials,
    ``sops[s, k, l]`` synaptic operations into layer ``l``, ``spikes[s, k, l]`` spikes emitted
    by layer ``l``. Optional: ``neuron_counts[s]`` spikes per neuron (if it has rows);
    ``raster[t, j]`` = 1 where neuron ``j`` spiked at step ``t`` in sample ``raster_sample``.
    """


@numba.njit(**JIT)
def simulate_layered(geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all, kof_all,
                     x_analog, x_spikes, spike_input, checkpoints, v_init, out_counts, out_v,
                     sops, spikes, input_macs, neuron_counts, raster, raster_sample):
    for s in range(out_counts.shape[0]):
        simulate_sample(s, geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all,
                        kof_all, x_analog, x_spikes, spike_input, checkpoints, v_init,
                        out_counts, out_v, sops, spikes, input_macs, neuron_counts, raster,
                        raster_sample)


@numba.njit(**(JIT | {"parallel": True}))
def simulate_layered_parallel(geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all,
                              kof_all, x_analog, x_spikes, spike_input, checkpoints, v_init,
                              out_counts, out_v, sops, spikes, input_macs, neuron_counts, raster,
                              raster_sample):
    for s in numba.prange(out_counts.shape[0]):
        simulate_sample(s, geom, thr, tau, dt, poolw, w_all, b_all, ptr_all, tgt_all,
                        kof_all, x_analog, x_spikes, spike_input, checkpoints, v_init,
                        out_counts, out_v, sops, spikes, input_macs, neuron_counts, raster,
                        raster_sample)


simulate_layered.__doc__ = _DOC
simulate_layered_parallel.__doc__ = _DOC + """
    Samples are spread over Numba's threads (``prange``); each sample's state is private.
    """
