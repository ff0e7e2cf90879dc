"""Slow, obviously-correct NumPy twin of the compiled time loop (:mod:`neurosim.kernels.dispatch`).

Same records, same in-place effects, same counters: it is the definition the compiled loop is
tested against. Neuron updates use each model's own NumPy twin (``step_numpy``, written with
whole-array operations in its module); spikes are delivered with ``np.add.at`` over the
projection tables, projection by projection, instead of the kernels' row walks.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..kernels import layout as L
from ..kernels.background import add_background_numpy

__all__ = ["run_network_for", "deliver", "drain_ring"]


def deliver(model, state, q, fired, step):
    """Twin of the ``deliver_*`` kernels of :mod:`neurosim.kernels.propagate` for projection
    ``q`` and the global indices ``fired`` that spiked in step ``step``."""
    pj = [int(v) for v in model.proj[q]]
    kind, d, c = pj[L.PROJ_KIND], pj[L.PROJ_DELAY], pj[L.PROJ_CHANNEL]
    pre0, pre1, post0 = pj[L.PROJ_PRE_START], pj[L.PROJ_PRE_END], pj[L.PROJ_POST_START]
    ptr0, eo, wo = pj[L.PROJ_PTR], pj[L.PROJ_ENTRY], pj[L.PROJ_WEIGHT]
    src = np.asarray(fired, np.int64)
    src = src[(src >= pre0) & (src < pre1)] - pre0
    if d >= 2:
        target = state.ring[(step + d - 1) % state.ring.shape[0], c]
    elif model.chan[c, L.CHAN_KIND] == L.SYN_DELTA:
        target = state.x[L.ROW_V]
    else:
        target = state.syn[c]
    ops = 0
    ip = model.indptr
    if kind == L.KIND_DENSE:
        n_post = pj[L.PROJ_POST_END] - post0
        w = model.weights[wo:wo + (pre1 - pre0) * n_post].reshape(pre1 - pre0, n_post)
        for i in src:  # row by row, in spike order: the kernel's order of additions
            target[post0:post0 + n_post] += w[i]
        ops = src.size * n_post
    elif kind == L.KIND_CSR_DELAYS:
        slots = state.ring[:, c]
        for i in src:  # each synapse into the ring slot of its own delay
            e = np.arange(ip[ptr0 + i], ip[ptr0 + i + 1])
            d = model.delays[pj[L.PROJ_AUX] + e].astype(np.int64)
            w = model.weights[wo] if pj[L.PROJ_SHARED] else model.weights[wo + e]
            np.add.at(slots, ((step + d - 1) % slots.shape[0], model.indices[eo + e]), w)
            ops += e.size
    elif kind == L.KIND_CSR:
        for i in src:
            e0, e1 = ip[ptr0 + i], ip[ptr0 + i + 1]
            w = model.weights[wo] if pj[L.PROJ_SHARED] else model.weights[wo + e0:wo + e1]
            np.add.at(target, model.indices[eo + e0:eo + e1], w)
            ops += e1 - e0
    elif kind == L.KIND_CONV:
        c_in, c_out, taps = pj[L.PROJ_C_IN], pj[L.PROJ_C_OUT], pj[L.PROJ_TAPS]
        for i in src:
            pos, ch = divmod(int(i), c_in)
            e = np.arange(ip[ptr0 + pos], ip[ptr0 + pos + 1]) + eo
            base = wo + ch * taps * c_out + model.kof[e]
            cols = np.arange(c_out)
            np.add.at(target, (model.indices[e][:, None] + cols).ravel(),
                      model.weights[(base[:, None] + cols).ravel()])
            ops += e.size * c_out
    elif kind == L.KIND_MAXPOOL:
        n_ent = model.indices.size
        passed = state.gate[n_ent:]
        for i in src:  # spike by spike: each one's count decides where it passes
            e = np.arange(ip[ptr0 + i], ip[ptr0 + i + 1]) + eo
            state.gate[e] += 1
            tgt = model.indices[e].astype(np.int64)
            lead = state.gate[e] > passed[tgt]
            passed[tgt[lead]] = state.gate[e[lead]]
            target[tgt[lead]] += model.weights[wo]
            ops += e.size
    else:
        for i in src:
            e0, e1 = ip[ptr0 + i], ip[ptr0 + i + 1]
            np.add.at(target, model.indices[eo + e0:eo + e1], model.weights[wo])
            ops += e1 - e0
    state.counters[pj[L.PROJ_COUNTER]] += ops


def drain_ring(model, state, step):
    """Twin of :func:`neurosim.kernels.propagate.drain_ring`."""
    if state.ring.shape[0] <= 1:
        return
    slot = step % state.ring.shape[0]
    delta = model.chan[:, L.CHAN_KIND] == L.SYN_DELTA
    state.x[L.ROW_V] += state.ring[slot, delta].sum(axis=0)
    state.syn[~delta] += state.ring[slot, ~delta]
    state.ring[slot] = 0.0


def run_network_for(steps):
    """The twin of the generated ``run_network`` for the model step functions ``steps``
    (``(module, function)`` pairs in the order of the model codes)."""
    twins = [getattr(importlib.import_module(mod), fn + "_numpy") for mod, fn in steps]

    def run_network(step0, n_steps, model, state, rec, spikes):
        n = state.x.shape[1]
        n_rows = state.x.shape[0]
        pop = model.pop
        for s in range(n_steps):
            if rec.spike_count[0] + n > rec.spike_i.shape[0]:
                return s
            step = step0 + s
            for r in range(rec.probe_index.shape[0]):
                row, i = rec.probe_row[r], rec.probe_index[r]
                rec.probe_out[r, s] = (state.x[row, i] if row < n_rows
                                       else state.syn[row - n_rows, i])
            row = min(step, model.drive.shape[0] - 1)
            n_spk = 0
            for p in range(pop.shape[0]):
                first = n_spk
                code = int(pop[p, L.POP_MODEL])
                if code < 0:  # an input source: fires where its drive is non-zero
                    sl = slice(int(pop[p, L.POP_START]), int(pop[p, L.POP_END]))
                    idx = np.flatnonzero(model.drive[row, sl]) + sl.start
                    spikes[n_spk:n_spk + idx.size] = idx
                    n_spk += idx.size
                else:
                    n_spk = twins[code](p, model, state, row, spikes, n_spk)
                    state.counters[pop[p, L.POP_UPDATES]] += (pop[p, L.POP_END]
                                                              - pop[p, L.POP_START])
                    state.counters[pop[p, L.POP_SPIKES]] += n_spk - first
                if n_spk > first:
                    for q in np.flatnonzero(model.proj[:, L.PROJ_DELAY] == 0):
                        deliver(model, state, q, spikes[first:n_spk], step)
            fired = spikes[:n_spk]
            keep = fired[rec.spike_mask[fired] != 0]
            m = int(rec.spike_count[0])
            rec.spike_i[m:m + keep.size] = keep
            rec.spike_t[m:m + keep.size] = step
            rec.spike_count[0] = m + keep.size
            if rec.pop_counts.shape[1] > 0 and n_spk:
                np.add.at(rec.pop_counts[:, s],
                          np.searchsorted(pop[:, L.POP_END], fired, side="right"), 1)
            if n_spk:
                for q in np.flatnonzero(model.proj[:, L.PROJ_DELAY] >= 1):
                    deliver(model, state, q, fired, step)
            if model.bg.shape[1] > 0:
                state.counters[-1] += add_background_numpy(model.chan, model.bg, model.bg_key,
                                                           state.syn, state.x, step)
            drain_ring(model, state, step)
        return n_steps

    return run_network
