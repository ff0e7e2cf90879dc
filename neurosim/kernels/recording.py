"""Recorders of the compiled time loop: state probes, spike lists, population counts."""

from __future__ import annotations

import numba

from .config import INLINE
from .layout import POP_END, POP_START

__all__ = ["record_probes", "record_spikes", "source_spikes"]


@numba.njit(**INLINE)
def record_probes(state, rec, s):
    """``probe_out[:, s]``: the probed rows of ``x`` (or of the channels, rows ``>= n_rows``)
    at the start of step ``s`` of this call."""
    n_rows = state.x.shape[0]
    for r in range(rec.probe_index.shape[0]):
        row = rec.probe_row[r]
        i = rec.probe_index[r]
        rec.probe_out[r, s] = state.x[row, i] if row < n_rows else state.syn[row - n_rows, i]


@numba.njit(**INLINE)
def record_spikes(model, rec, spikes, n_spk, step, s):
    """Append the spikes of neurons with ``spike_mask`` set to ``spike_i``/``spike_t`` and
    count the step's spikes per population into ``pop_counts[:, s]`` (when it has columns)."""
    m = rec.spike_count[0]
    for k in range(n_spk):
        i = spikes[k]
        if rec.spike_mask[i]:
            rec.spike_i[m] = i
            rec.spike_t[m] = step
            m += 1
    rec.spike_count[0] = m
    if rec.pop_counts.shape[1] > 0:
        p = 0
        for k in range(n_spk):
            while spikes[k] >= model.pop[p, POP_END]:
                p += 1
            rec.pop_counts[p, s] += 1


@numba.njit(**INLINE)
def source_spikes(p, model, row, spikes, n_spk):
    """An input source population ``p`` fires where its drive of this step is non-zero (an
    encoded spike train written into ``Model.drive``); appends the global indices."""
    d = model.drive[row]
    for i in range(model.pop[p, POP_START], model.pop[p, POP_END]):
        if d[i] != 0.0:
            spikes[n_spk] = i
            n_spk += 1
    return n_spk
