"""The multi-threaded population engine's partition: every thread owns target neurons.

Thread ``t`` of ``T`` owns the slice ``[a + (b - a) t / T, a + (b - a) (t + 1) / T)`` of every
population ``[a, b)`` (:func:`thread_pops`): it updates those neurons, and delivers every
spike of the step to those of them that the spike reaches, each projection row walked only
over the entries that land in its slice (:func:`row_bounds`; rows are sorted by target, so
that part is one run of entries). A thread therefore writes only its own neurons' state,
channels and ring slots: no locks, no atomic additions, no per-thread copies to reduce.

Results do not depend on ``T``, bit for bit: each target receives its additions in the order
the single-threaded loop makes them (projection by projection, spike by spike in ascending
neuron order, entry by entry within a row), the step's spikes are gathered in ascending
order (population by population, thread by thread), and random numbers are never drawn from
a stream shared by threads.

Why by target rather than by source: split by source, two threads add to the same targets,
which needs either atomic additions (slow, and their order depends on scheduling, so the
float sums would change from run to run) or one private copy of every channel and ring per
thread plus a reduction each step (``T`` times the ring's memory and traffic, and sums in
another order than one thread's).
"""

from __future__ import annotations

import numba
import numpy as np

from .config import INLINE, JIT, SPIN_COUNT, set_threads, spin_policy
from .layout import (
    KIND_CSR,
    KIND_CSR_DELAYS,
    KIND_DENSE,
    POP_END,
    POP_MODEL,
    POP_SPIKES,
    POP_START,
    POP_UPDATES,
    PROJ_AUX,
    PROJ_ENTRY,
    PROJ_KIND,
    PROJ_POST_END,
    PROJ_POST_START,
    PROJ_PRE_END,
    PROJ_PRE_START,
    PROJ_PTR,
    PROJ_SHARED,
    PROJ_WEIGHT,
    Threads,
)
from .native import Native

__all__ = ["thread_pops", "row_bounds", "rows_sorted", "sort_rows", "gather_spikes",
           "owned", "new_work", "set_threads", "spin_policy", "SPIN_COUNT", "max_threads",
           "THREAD_KINDS"]

#: Projection kinds the multi-threaded loop delivers (population networks' kinds).
THREAD_KINDS = (KIND_DENSE, KIND_CSR, KIND_CSR_DELAYS)


def thread_pops(pop: np.ndarray, n_threads: int) -> np.ndarray:
    """``(T, P, N_POP_COLS)``: the population table of each thread, every population cut to
    the thread's slice (module docstring)."""
    out = np.repeat(pop[None], n_threads, axis=0)
    a = pop[:, POP_START]
    size = pop[:, POP_END] - a
    for t in range(n_threads):
        out[t, :, POP_START] = a + size * t // n_threads
        out[t, :, POP_END] = a + size * (t + 1) // n_threads
    return out


@numba.njit(**JIT)
def row_bounds(proj, indptr, indices, parts, bounds):
    """Fill ``bounds`` ``(T + 1, R)``, the row bounds: thread ``t``'s entries of row ``r`` are
    ``bounds[t, r] <= e < bounds[t + 1, r]`` (``parts``: :func:`thread_pops`). CSR rows must
    be sorted by target (:func:`rows_sorted`); dense rows cover their targets in order. (It
    fills rather than returns, so that it runs from native code: :func:`new_work`.)"""
    n_threads = parts.shape[0]
    bounds[0] = indptr[:-1]
    bounds[n_threads] = indptr[1:]
    for q in range(proj.shape[0]):
        kind = proj[q, PROJ_KIND]
        post0 = proj[q, PROJ_POST_START]
        post1 = proj[q, PROJ_POST_END]
        # the post population's row of parts: the one whose slices lie in [post0, post1)
        p = 0
        while p < parts.shape[1] and not (parts[0, p, POP_START] == post0
                                          and parts[n_threads - 1, p, POP_END] == post1):
            p += 1
        eo = proj[q, PROJ_ENTRY]
        for r in range(proj[q, PROJ_PTR], proj[q, PROJ_PTR] + proj[q, PROJ_PRE_END]
                       - proj[q, PROJ_PRE_START]):
            e0 = indptr[r]
            e1 = indptr[r + 1]
            for t in range(1, n_threads):
                lo = parts[t, p, POP_START]
                if kind == KIND_DENSE:
                    bounds[t, r] = e0 + lo - post0
                else:  # first entry whose target is >= the thread's first neuron
                    a = e0
                    b = e1
                    while a < b:
                        m = (a + b) // 2
                        if indices[eo + m] < lo:
                            a = m + 1
                        else:
                            b = m
                    bounds[t, r] = a
    return bounds


@numba.njit(**JIT)
def rows_sorted(proj, indptr, indices):
    """Whether every CSR row's targets are in ascending order (ties allowed)."""
    for q in range(proj.shape[0]):
        if proj[q, PROJ_KIND] != KIND_CSR and proj[q, PROJ_KIND] != KIND_CSR_DELAYS:
            continue
        eo = proj[q, PROJ_ENTRY]
        for r in range(proj[q, PROJ_PTR], proj[q, PROJ_PTR] + proj[q, PROJ_PRE_END]
                       - proj[q, PROJ_PRE_START]):
            for e in range(eo + indptr[r] + 1, eo + indptr[r + 1]):
                if indices[e] < indices[e - 1]:
                    return False
    return True


@numba.njit(**JIT)
def sort_rows(proj, indptr, indices, weights, delays):
    """Sort every CSR row by target in place, stably (synapses to one target keep their
    order, so each target's sum is unchanged), carrying weights (unless shared) and
    per-synapse delays."""
    for q in range(proj.shape[0]):
        kind = proj[q, PROJ_KIND]
        if kind != KIND_CSR and kind != KIND_CSR_DELAYS:
            continue
        eo = proj[q, PROJ_ENTRY]
        wo = proj[q, PROJ_WEIGHT]
        do = proj[q, PROJ_AUX]
        for r in range(proj[q, PROJ_PTR], proj[q, PROJ_PTR] + proj[q, PROJ_PRE_END]
                       - proj[q, PROJ_PRE_START]):
            e0 = indptr[r]
            e1 = indptr[r + 1]
            tg = indices[eo + e0:eo + e1]
            order = np.argsort(tg, kind="mergesort")
            indices[eo + e0:eo + e1] = tg[order]
            if proj[q, PROJ_SHARED] == 0:
                w = weights[wo + e0:wo + e1]
                weights[wo + e0:wo + e1] = w[order]
            if kind == KIND_CSR_DELAYS:
                d = delays[do + e0:do + e1]
                delays[do + e0:do + e1] = d[order]


@numba.njit(**JIT)
def gather_spikes(pop, counters, spk, n_out, spikes):
    """The step's spikes of every thread into ``spikes`` in ascending order (population by
    population, thread by thread: ``spk[t, :n_out[t, p]]`` holds thread ``t``'s spikes up to
    population ``p``); counts each population's updates and spikes. Returns their number."""
    n = 0
    for p in range(pop.shape[0]):
        first = n
        for t in range(spk.shape[0]):
            k0 = n_out[t, p - 1] if p > 0 else 0
            for k in range(k0, n_out[t, p]):
                spikes[n] = spk[t, k]
                n += 1
        if pop[p, POP_MODEL] >= 0:
            counters[pop[p, POP_UPDATES]] += pop[p, POP_END] - pop[p, POP_START]
            counters[pop[p, POP_SPIKES]] += n - first
    return n


@numba.njit(**INLINE)
def owned(parts, i):
    """Whether neuron ``i`` lies in one of a thread's population slices ``parts``."""
    for p in range(parts.shape[0]):
        if parts[p, POP_START] <= i < parts[p, POP_END]:
            return True
    return False


#: The two run before every multi-threaded run from native code (:mod:`.native`): the run
#: itself then needs no more of Numba than its loop does. (Sorting is the builder's: rows
#: come sorted, and :func:`sort_rows` runs through Numba on the rare table that is not.)
_ROWS_SORTED = Native(rows_sorted, returns=bool)
_ROW_BOUNDS = Native(row_bounds, returns=None)


def new_work(model, n_threads: int):
    """The :class:`~neurosim.kernels.layout.Threads` record of a run of ``model`` on
    ``n_threads`` threads (sorts CSR rows by target first where they are not)."""
    if not _ROWS_SORTED(model.proj, model.indptr, model.indices):
        sort_rows(model.proj, model.indptr, model.indices, model.weights, model.delays)
    parts = thread_pops(model.pop, n_threads)
    n = model.par.shape[1]
    bounds = np.zeros((n_threads + 1, model.indptr.shape[0] - 1), np.int64)
    _ROW_BOUNDS(model.proj, model.indptr, model.indices, parts, bounds)
    return Threads(parts=parts, bounds=bounds,
                   spk=np.zeros((n_threads, n), np.int32),
                   n_out=np.zeros((n_threads, model.pop.shape[0]), np.int64),
                   ops=np.zeros((n_threads, model.proj.shape[0] + 1), np.int64))


def max_threads() -> int:
    """Threads Numba may use in this process (``NUMBA_NUM_THREADS``, default: the cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)
