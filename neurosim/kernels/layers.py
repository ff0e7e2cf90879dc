"""The layered fast path: a feed-forward graph run sample-parallel, the whole loop compiled.

It runs the arrays of a built graph (:mod:`neurosim.builder.model`, records of
:mod:`neurosim.kernels.layout`) whose populations are an input source followed by layers of
IF or LIF neurons joined by same-step projections (dense, conv, pool): the lowering of a
layered classifier (:func:`neurosim.builder.layered.lower_layered`). Per step, layers are
updated in order and a layer's spikes reach the next layer in the same step (delay 0, as the
general engine delivers them). State is float32 and private to each sample, so samples run on
different threads; weights are the model's, as float32.

Records:

- ``layers`` (:data:`Layers`): ``model`` (the built Model with float32 weights), ``table``
  int64 ``(n_layers, N_LAYER_COLS)`` (columns ``L_*``: population, projection into it, neuron
  kind ``NEURON_IF``/``NEURON_LIF``, spiking flag), ``prm`` float64 ``(n_layers, 4)`` (LIF:
  ``v_th, tau_m, t_ref, dt`` in ms; IF: ``v_th`` first), ``tau_syn`` float64 ``(n_layers,)``
  (ms; > 0: LIF spike input passes a first-order synapse), ``bias`` float32 ``(N,)``.
- ``batch`` (:data:`Batch`): ``x_analog`` ``(n, n_in)`` float32 (constant input current,
  computed once per sample: the MACs a classic first layer would do), ``x_spikes``
  ``(n, T, n_in)`` uint8 (input spikes), ``checkpoints`` int64 (ascending; the last is ``T``).
- ``out`` (:data:`Outputs`): per sample and checkpoint, output spike ``counts`` and membrane
  potentials ``v``, synaptic operations ``sops`` and ``spikes`` per layer; ``input_macs`` per
  sample; optional ``neuron_counts`` ``(n, N)`` and ``raster`` ``(T, N)``.
- ``settings`` (:data:`Settings`): ``spike_input`` (0 analog, 1 spikes), ``v_init`` (fraction
  of the threshold), ``raster_sample`` (-1: none).

Neuron updates are the models' own batched steps (:func:`neurosim.neurons.if_.layer_step`,
:func:`neurosim.neurons.lif.layer_step`); delivery is :mod:`neurosim.kernels.propagate`'s.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from ..neurons.if_ import layer_step as if_layer_step
from ..neurons.lif import layer_step as lif_layer_step
from .config import INLINE, JIT
from .layout import (
    KIND_CONV,
    KIND_DENSE,
    KIND_MAXPOOL,
    POP_END,
    POP_START,
    PROJ_C_IN,
    PROJ_C_OUT,
    PROJ_ENTRY,
    PROJ_KIND,
    PROJ_POST_START,
    PROJ_PTR,
    PROJ_TAPS,
    PROJ_WEIGHT,
    Model,
)
from .propagate import deliver_conv, deliver_dense, deliver_maxpool, deliver_pool

__all__ = ["Layers", "Batch", "Outputs", "Settings", "NEURON_IF", "NEURON_LIF",
           "L_POP", "L_PROJ", "L_NEURON", "L_SPIKING", "N_LAYER_COLS",
           "synapse_filter", "deliver_values", "deliver_events", "deliver_gated_events",
           "initial_potentials", "event_tables",
           "nonzero_values", "nonzero_index", "simulate_sample",
           "simulate_layered", "simulate_layered_parallel"]

Layers = namedtuple("Layers", ["model", "table", "prm", "tau_syn", "bias"])
Batch = namedtuple("Batch", ["x_analog", "x_spikes", "checkpoints"])
Outputs = namedtuple("Outputs", ["counts", "v", "sops", "spikes", "input_macs",
                                 "neuron_counts", "raster"])
Settings = namedtuple("Settings", ["spike_input", "v_init", "raster_sample"])

NEURON_IF, NEURON_LIF = 0, 1
L_POP, L_PROJ, L_NEURON, L_SPIKING = range(4)
N_LAYER_COLS = 4


@numba.njit(**INLINE)
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


@numba.njit(**INLINE)
def deliver_values(q, model, idx, vals, n, target):
    """Analog events: input ``idx[e]`` of projection ``q`` carries value ``vals[e]`` and adds
    ``vals[e]`` times its fan-out of weights to ``target`` (global indices). Returns the
    effective MACs (non-zero inputs times their fan-out)."""
    pj = model.proj[q]
    kind = pj[PROJ_KIND]
    ptr0 = pj[PROJ_PTR]
    eo = pj[PROJ_ENTRY]
    wo = pj[PROJ_WEIGHT]
    ip = model.indptr
    w = model.weights
    ops = 0
    for k in range(n):
        i = idx[k]
        a = vals[k]
        if kind == KIND_DENSE:
            e0 = ip[ptr0 + i]
            e1 = ip[ptr0 + i + 1]
            dst = target[pj[PROJ_POST_START]:pj[PROJ_POST_START] + e1 - e0]
            src = w[wo + e0:wo + e1]
            for o in range(e1 - e0):
                dst[o] += a * src[o]
            ops += e1 - e0
        elif kind == KIND_CONV:
            c_in = pj[PROJ_C_IN]
            c_out = pj[PROJ_C_OUT]
            pos = i // c_in
            base = wo + (i - pos * c_in) * pj[PROJ_TAPS] * c_out
            for e in range(eo + ip[ptr0 + pos], eo + ip[ptr0 + pos + 1]):
                t = model.indices[e]
                dst = target[t:t + c_out]
                src = w[base + model.kof[e]:base + model.kof[e] + c_out]
                for o in range(c_out):
                    dst[o] += a * src[o]
            ops += (ip[ptr0 + pos + 1] - ip[ptr0 + pos]) * c_out
        else:
            aw = a * w[wo]
            for e in range(eo + ip[ptr0 + i], eo + ip[ptr0 + i + 1]):
                target[model.indices[e]] += aw
            ops += ip[ptr0 + i + 1] - ip[ptr0 + i]
    return ops


@numba.njit(**INLINE)
def initial_potentials(pop, table, prm, v_init, v):
    """``v = v_init v_th`` for the neurons of every layer (``v_init`` a fraction of each
    layer's threshold ``prm[l, 0]``)."""
    for li in range(table.shape[0]):
        p = table[li, L_POP]
        for k in range(pop[p, POP_START], pop[p, POP_END]):
            v[k] = v_init * prm[li, 0]


@numba.njit(**INLINE)
def nonzero_values(row, idx, vals):
    """The non-zero entries of ``row``: their indices (ascending) to ``idx``, values to
    ``vals``; returns their number."""
    m = 0
    for i in range(row.shape[0]):
        if row[i] != 0.0:
            idx[m] = i
            vals[m] = row[i]
            m += 1
    return m


@numba.njit(**INLINE)
def nonzero_index(row, idx):
    """The indices (ascending) of the non-zero entries of ``row`` to ``idx``; their number."""
    m = 0
    for i in range(row.shape[0]):
        if row[i] != 0:
            idx[m] = i
            m += 1
    return m


@numba.njit(**INLINE)
def event_tables(model):
    """The fan-out tables the delivery functions of :mod:`.propagate` take, from a Model."""
    return (model.indptr[:-1], model.indptr[1:], model.indices, model.weights, model.kof,
            model.delays)


@numba.njit(**INLINE)
def deliver_events(pj, tables, spikes, n, target):
    """Spikes ``spikes[:n]`` (global indices) through the projection of row ``pj`` of any
    kind without state (dense, conv, pool); the synaptic operations done."""
    kind = pj[PROJ_KIND]
    if kind == KIND_DENSE:
        return deliver_dense(pj, tables, spikes, 0, n, target)
    if kind == KIND_CONV:
        return deliver_conv(pj, tables, spikes, 0, n, target)
    return deliver_pool(pj, tables, spikes, 0, n, target)


@numba.njit(**INLINE)
def deliver_gated_events(pj, tables, spikes, n, target, gate):
    """:func:`deliver_events`, and max pooling, whose gate (the sample's spike counts,
    :func:`neurosim.kernels.propagate.deliver_maxpool`) it reads and updates."""
    if pj[PROJ_KIND] == KIND_MAXPOOL:
        return deliver_maxpool(pj, tables, spikes, 0, n, target, gate)
    return deliver_events(pj, tables, spikes, n, target)


@numba.njit(**JIT)
def simulate_sample(s, layers, batch, out, settings):
    """Simulate sample ``s`` of a batch (see :func:`simulate_layered`); its state is private,
    so different samples may run on different threads. Writes only row ``s`` of the outputs
    (and ``raster`` when ``s == raster_sample``)."""
    model = layers.model
    table = layers.table
    n_layers = table.shape[0]
    n_total = layers.bias.shape[0]
    ck = batch.checkpoints
    n_steps = ck[ck.shape[0] - 1]
    p_out = table[n_layers - 1, L_POP]
    out_start = model.pop[p_out, POP_START]
    n_out = model.pop[p_out, POP_END] - out_start
    n_in = batch.x_analog.shape[1] if settings.spike_input == 0 else batch.x_spikes.shape[2]
    v = np.empty(n_total, dtype=np.float32)
    ref = np.zeros(n_total, dtype=np.float32)  # refractory time left (ms), LIF layers only
    syn = np.zeros(n_total, dtype=np.float32)  # filtered spike current, LIF layers only
    cur = np.zeros(n_total, dtype=np.float32)
    bias = layers.bias.copy()
    spk = np.zeros(n_total, dtype=np.int32)
    # max-pooling counts (per table entry, then per neuron), private to the sample
    gate = np.zeros(model.indices.shape[0] + n_total, dtype=np.int64)
    cnt_out = np.zeros(n_out, dtype=np.float32)
    in_idx = np.zeros(n_in, dtype=np.int32)
    in_val = np.zeros(n_in, dtype=np.float32)
    # counters of this sample: synaptic operations per projection (= per layer)
    sops = np.zeros(model.proj.shape[0], np.int64)
    tables = event_tables(model)
    tot_spikes = np.zeros(n_layers, dtype=np.int64)
    record_counts = out.neuron_counts.shape[0] > 0
    initial_potentials(model.pop, table, layers.prm, settings.v_init, v)
    q0 = table[0, L_PROJ]
    if settings.spike_input == 0:
        # The input is constant: its current is computed once (the MACs a classic first
        # layer would do), then added at every step as part of layer 0's bias.
        m = nonzero_values(batch.x_analog[s], in_idx, in_val)
        out.input_macs[s] = deliver_values(q0, model, in_idx, in_val, m, bias)
    k_ck = 0
    for t in range(n_steps):
        for li in range(n_layers):
            p = table[li, L_POP]
            a = model.pop[p, POP_START]
            b = model.pop[p, POP_END]
            if li == 0 and settings.spike_input == 1:
                m = nonzero_index(batch.x_spikes[s, t], in_idx)
                sops[q0] += deliver_gated_events(model.proj[q0], tables, in_idx, m, cur, gate)
            if table[li, L_NEURON] == NEURON_LIF and table[li, L_SPIKING] != 0:
                if layers.tau_syn[li] > 0.0:
                    synapse_filter(cur[a:b], syn[a:b],
                                   np.exp(-layers.prm[li, 3] / layers.tau_syn[li]))
                ns = lif_layer_step(v[a:b], ref[a:b], cur[a:b], bias[a:b], layers.prm[li],
                                    spk[a:b])
            else:
                ns = if_layer_step(v[a:b], cur[a:b], bias[a:b], np.float32(layers.prm[li, 0]),
                                   table[li, L_SPIKING] != 0, spk[a:b])
            tot_spikes[li] += ns
            if record_counts:
                for e in range(ns):
                    out.neuron_counts[s, a + spk[a + e]] += 1
            if s == settings.raster_sample:
                for e in range(ns):
                    out.raster[t, a + spk[a + e]] = 1
            if li == n_layers - 1:
                for e in range(ns):
                    cnt_out[spk[a + e]] += 1.0
            elif ns > 0:
                for e in range(ns):
                    spk[a + e] += a  # global indices for delivery
                q = table[li + 1, L_PROJ]
                sops[q] += deliver_gated_events(model.proj[q], tables, spk[a:], ns, cur, gate)
        if t + 1 == ck[k_ck]:
            for o in range(n_out):
                out.counts[s, k_ck, o] = cnt_out[o]
                out.v[s, k_ck, o] = v[out_start + o]
            for li in range(n_layers):
                out.sops[s, k_ck, li] = sops[table[li, L_PROJ]]
                out.spikes[s, k_ck, li] = tot_spikes[li]
            k_ck += 1


_DOC = """Simulate every sample of a batch for ``checkpoints[-1]`` steps (module docstring).

    Outputs per sample ``s`` and checkpoint ``k``, cumulated up to step ``checkpoints[k]``:
    ``out.counts[s, k]`` output spike counts, ``out.v[s, k]`` output membrane potentials,
    ``out.sops[s, k, l]`` synaptic operations into layer ``l``, ``out.spikes[s, k, l]`` spikes
    emitted by layer ``l``; ``out.input_macs[s]`` the effective MACs of the analog input's one
    computation. Optional: ``out.neuron_counts[s]`` spikes per neuron (if it has rows),
    ``out.raster[t, j] = 1`` where neuron ``j`` spiked at step ``t`` in sample
    ``settings.raster_sample``.
    """


@numba.njit(**JIT)
def simulate_layered(layers, batch, out, settings):
    for s in range(out.counts.shape[0]):
        simulate_sample(s, layers, batch, out, settings)


@numba.njit(**(JIT | {"parallel": True}))
def simulate_layered_parallel(layers, batch, out, settings):
    # A parallel region takes arrays and scalars, not records of them: take the records
    # apart here and build them again inside the loop body.
    m = layers.model
    dt, pop, par, chan, coef, drive, proj = m.dt, m.pop, m.par, m.chan, m.chan_coef, \
        m.drive, m.proj
    indptr, indices, weights, kof, delays = m.indptr, m.indices, m.weights, m.kof, m.delays
    bg, bg_key, ev_ptr, ev_steps = m.bg, m.bg_key, m.ev_ptr, m.ev_steps
    table, prm, tau_syn, bias = layers.table, layers.prm, layers.tau_syn, layers.bias
    xa, xs, ck = batch.x_analog, batch.x_spikes, batch.checkpoints
    o_counts, o_v, o_sops, o_spikes, o_macs, o_nc, o_raster = out.counts, out.v, out.sops, \
        out.spikes, out.input_macs, out.neuron_counts, out.raster
    spike_input, v_init, raster_sample = settings.spike_input, settings.v_init, \
        settings.raster_sample
    for s in numba.prange(o_counts.shape[0]):
        model = Model(dt, pop, par, chan, coef, drive, proj, indptr, indices, weights, kof,
                      delays, bg, bg_key, ev_ptr, ev_steps)
        simulate_sample(s, Layers(model, table, prm, tau_syn, bias), Batch(xa, xs, ck),
                        Outputs(o_counts, o_v, o_sops, o_spikes, o_macs, o_nc, o_raster),
                        Settings(spike_input, v_init, raster_sample))


simulate_layered.__doc__ = _DOC
simulate_layered_parallel.__doc__ = _DOC + """
    Samples are spread over Numba's threads (``prange``); each sample's state is private.
    """
