"""Recorders of the compiled time loop: state probes, spike lists, population counts.

These run every step, so they take the arrays they touch rather than whole records: an
inlined helper handed a record pays for reference counting every array in it at each call
(measured: about 0.15 us per call, a few percent of a CUBA step).
"""

from __future__ import annotations

import numba

from .config import INLINE
from .layout import POP_END, POP_START

__all__ = ["record_probes", "record_spike_list", "count_pop_spikes", "source_spikes"]


@numba.njit(**INLINE)
def record_probes(x, syn, probe_index, probe_row, probe_out, s):
    """``probe_out[:, s]``: the probed rows of ``x`` (or of the channels ``syn``, rows
    ``>= n_rows``) at the start of step ``s`` of this call."""
    n_rows = x.shape[0]
    for r in range(probe_index.shape[0]):
        row = probe_row[r]
        i = probe_index[r]
        probe_out[r, s] = x[row, i] if row < n_rows else syn[row - n_rows, i]


@numba.njit(**INLINE)
def record_spike_list(spike_mask, spike_i, spike_t, spike_count, spikes, n_spk, step):
    """Append the spikes ``spikes[:n_spk]`` of neurons with ``spike_mask`` set to
    ``spike_i``/``spike_t`` (``spike_count[0]`` entries used)."""
    m = spike_count[0]
    for k in range(n_spk):
        i = spikes[k]
        if spike_mask[i]:
            spike_i[m] = i
            spike_t[m] = step
            m += 1
    spike_count[0] = m


@numba.njit(**INLINE)
def count_pop_spikes(pop, pop_counts, spikes, n_spk, s):
    """Count the step's spikes (ascending global indices) per population into
    ``pop_counts[:, s]`` (when it has columns)."""
    if pop_counts.shape[1] > 0:
        p = 0
        for k in range(n_spk):
            while spikes[k] >= pop[p, POP_END]:
                p += 1
            pop_counts[p, s] += 1


@numba.njit(**INLINE)
def source_spikes(pop, drive_row, p, spikes, n_spk):
    """An input source population ``p`` fires where its drive of this step is non-zero (an
    encoded spike train written into ``Model.drive``); appends the global indices."""
    for i in range(pop[p, POP_START], pop[p, POP_END]):
        if drive_row[i] != 0.0:
            spikes[n_spk] = i
            n_spk += 1
    return n_spk
