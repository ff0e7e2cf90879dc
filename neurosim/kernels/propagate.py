"""Event-driven delivery of spikes through the projections of a built network.

One function per projection kind of :mod:`neurosim.kernels.layout` (dense rows, CSR rows,
convolution windows, pooling windows): a spike of source ``i`` walks only its own fan-out,
adding its weights to the targets' channel (to ``v`` for a delta channel); each returns the
fan-out it walked (synaptic operations), which the caller adds to the projection's counter.

They take the projection's row of ``Model.proj`` (``pj``) and ``tables = (lo, hi, indices,
weights, kof, delays)`` (:func:`row_tables`; row ``r``'s entries are ``lo[r] .. hi[r]``), not
the records: they run for every projection at every step, and an inlined helper handed a
record pays for reference counting each array in it. A thread of the multi-threaded loop
passes its own ``lo``/``hi``: the part of every row that reaches its targets.

When a spike arrives (the projection's ``PROJ_DELAY`` ``d``, in steps):

- ``d = 0``: in the step it was emitted, before the target is updated (the target comes
  later in the update order; a layered network's layers, Rueckauer et al. 2017);
- ``d = 1``: after every population's update of the step it was emitted, so it acts from the
  next step on (Brian2's ``delay = 0``);
- ``d >= 2``: through the ring buffer, slot ``(step + d - 1) % L``, added to the channels at
  the end of step ``step + d - 1``.

A CSR projection with one delay per synapse (``KIND_CSR_DELAYS``) puts every synapse's weight
into the ring slot of its own delay (``d = 1`` is slot ``step % L``, drained at the end of the
same step: the same as delivering to the channel).
"""

from __future__ import annotations

import numba

from .config import INLINE
from .layout import (
    CHAN_KIND,
    PROJ_AUX,
    PROJ_C_IN,
    PROJ_C_OUT,
    PROJ_ENTRY,
    PROJ_POST_END,
    PROJ_POST_START,
    PROJ_PRE_END,
    PROJ_PRE_START,
    PROJ_PTR,
    PROJ_SHARED,
    PROJ_TAPS,
    PROJ_WEIGHT,
    ROW_V,
    SYN_DELTA,
)

__all__ = ["row_tables", "deliver_dense", "deliver_csr", "deliver_conv", "deliver_pool",
           "deliver_csr_delays", "deliver_maxpool", "drain_ring", "drain_ring_part"]


@numba.njit(**INLINE)
def row_tables(model):
    """``(lo, hi, indices, weights, kof, delays)`` of a Model: every row whole."""
    return (model.indptr[:-1], model.indptr[1:], model.indices, model.weights, model.kof,
            model.delays)


@numba.njit(**INLINE)
def deliver_dense(pj, tables, spikes, a, b, target):
    """Dense rows: a spike of source ``i`` adds row ``i`` of ``W (n_pre, n_post)`` to the
    targets ``post_start ..`` (entry ``e`` of row ``i`` reaches target ``e - i n_post``).
    Returns the synaptic operations."""
    pre_start = pj[PROJ_PRE_START]
    pre_end = pj[PROJ_PRE_END]
    ptr0 = pj[PROJ_PTR]
    wo = pj[PROJ_WEIGHT]
    lo, hi, _, weights, _, _ = tables
    ops = 0
    post_start = pj[PROJ_POST_START]
    n_post = pj[PROJ_POST_END] - post_start
    for s in range(a, b):
        i = spikes[s]
        if i < pre_start or i >= pre_end:
            continue
        r = ptr0 + i - pre_start
        e0 = lo[r]
        e1 = hi[r]
        ops += e1 - e0
        t0 = post_start + e0 - (i - pre_start) * n_post
        # Slice views (rather than offset indexing) let LLVM vectorise the row add.
        tg = target[t0:t0 + e1 - e0]
        wt = weights[wo + e0:wo + e1]
        for k in range(e1 - e0):
            tg[k] += wt[k]
    return ops


@numba.njit(**INLINE)
def deliver_csr(pj, tables, spikes, a, b, target):
    """CSR rows: a spike of source ``i`` adds its row's weights (or the projection's one
    shared weight, ``PROJ_SHARED``) to its row's targets."""
    pre_start = pj[PROJ_PRE_START]
    pre_end = pj[PROJ_PRE_END]
    ptr0 = pj[PROJ_PTR]
    eo = pj[PROJ_ENTRY]
    wo = pj[PROJ_WEIGHT]
    shared = pj[PROJ_SHARED] != 0
    lo, hi, indices, weights, _, _ = tables
    w0 = weights[wo] if shared else 0.0
    ops = 0
    for s in range(a, b):
        i = spikes[s]
        if i < pre_start or i >= pre_end:
            continue
        r = ptr0 + i - pre_start
        e0 = lo[r]
        e1 = hi[r]
        ops += e1 - e0
        tg = indices[eo + e0:eo + e1]
        if shared:
            for k in range(e1 - e0):
                target[tg[k]] += w0
        else:
            wt = weights[wo + e0:wo + e1]
            for k in range(e1 - e0):
                target[tg[k]] += wt[k]
    return ops


@numba.njit(**INLINE)
def deliver_csr_delays(pj, tables, spikes, a, b, ring, step):
    """CSR rows with one delay ``d`` (steps) per synapse: a spike of source ``i`` in step
    ``step`` adds each weight of its row (or the shared one, ``PROJ_SHARED``) to its target
    in ring slot ``(step + d - 1) % L`` (``ring``: the channel's ``(L, N)`` slots)."""
    pre_start = pj[PROJ_PRE_START]
    pre_end = pj[PROJ_PRE_END]
    ptr0 = pj[PROJ_PTR]
    eo = pj[PROJ_ENTRY]
    wo = pj[PROJ_WEIGHT]
    do = pj[PROJ_AUX]
    shared = pj[PROJ_SHARED] != 0
    lo, hi, indices, weights, _, delays = tables
    w0 = weights[wo] if shared else 0.0
    n_slots = ring.shape[0]
    # slot of delay d: (step + d - 1) % L = s0 + d, less L if past the end (1 <= d <= L):
    # a compare instead of an integer division per synapse
    s0 = (step - 1 + n_slots) % n_slots
    ops = 0
    for s in range(a, b):
        i = spikes[s]
        if i < pre_start or i >= pre_end:
            continue
        r = ptr0 + i - pre_start
        e0 = lo[r]
        e1 = hi[r]
        ops += e1 - e0
        tg = indices[eo + e0:eo + e1]
        dl = delays[do + e0:do + e1]
        if shared:
            for k in range(e1 - e0):
                j = s0 + dl[k]
                ring[j - n_slots if j >= n_slots else j, tg[k]] += w0
        else:
            wt = weights[wo + e0:wo + e1]
            for k in range(e1 - e0):
                j = s0 + dl[k]
                ring[j - n_slots if j >= n_slots else j, tg[k]] += wt[k]
    return ops


@numba.njit(**INLINE)
def deliver_conv(pj, tables, spikes, a, b, target):
    """Convolution: a spike at input ``(pos, c)`` adds the kernel slice ``Wk[c, u, v, :]`` to the
    ``C_out`` channels of every output position its window reaches (exact fan-out table)."""
    pre_start = pj[PROJ_PRE_START]
    pre_end = pj[PROJ_PRE_END]
    ptr0 = pj[PROJ_PTR]
    eo = pj[PROJ_ENTRY]
    wo = pj[PROJ_WEIGHT]
    lo, hi, indices, weights, kof, _ = tables
    ops = 0
    c_in = pj[PROJ_C_IN]
    c_out = pj[PROJ_C_OUT]
    taps = pj[PROJ_TAPS]
    for s in range(a, b):
        i = spikes[s]
        if i < pre_start or i >= pre_end:
            continue
        r = i - pre_start
        pos = r // c_in
        base = wo + (r - pos * c_in) * taps * c_out
        e0 = lo[ptr0 + pos]
        e1 = hi[ptr0 + pos]
        for e in range(eo + e0, eo + e1):
            t = indices[e]
            w0 = base + kof[e]
            # Slice views let LLVM vectorise the channel loop.
            tg = target[t:t + c_out]
            wt = weights[w0:w0 + c_out]
            for o in range(c_out):
                tg[o] += wt[o]
        ops += (e1 - e0) * c_out
    return ops


@numba.njit(**INLINE)
def deliver_pool(pj, tables, spikes, a, b, target):
    """Pooling: a spike adds the projection's one weight ``1 / (kh kw)`` to each pooling neuron
    whose window holds its source (one row per source neuron)."""
    pre_start = pj[PROJ_PRE_START]
    pre_end = pj[PROJ_PRE_END]
    ptr0 = pj[PROJ_PTR]
    eo = pj[PROJ_ENTRY]
    wo = pj[PROJ_WEIGHT]
    lo, hi, indices, weights, _, _ = tables
    ops = 0
    w = weights[wo]
    for s in range(a, b):
        i = spikes[s]
        if i < pre_start or i >= pre_end:
            continue
        r = ptr0 + i - pre_start
        e0 = lo[r]
        e1 = hi[r]
        for e in range(eo + e0, eo + e1):
            target[indices[e]] += w
        ops += e1 - e0
    return ops


@numba.njit(**INLINE)
def deliver_maxpool(pj, tables, spikes, a, b, target, gate):
    """Max pooling by spike-count gating (after Rueckauer et al., Front. Neurosci. 2017): a
    spike of source ``i`` counts on each entry ``e`` of its row (``gate[e] += 1``: every entry
    of a row counts its source's spikes) and passes, adding the projection's one weight, to
    the pooling neuron ``j = indices[e]`` whose window it now leads strictly,
    ``gate[e] > gate[E + j]``, which sets ``gate[E + j] = gate[e]`` (``E`` = entries).

    Each pass raises ``gate[E + j]`` by exactly one (counts grow by one), so after every step
    the spikes passed to ``j`` equal the largest spike count in its window: with weight 1 and
    an IF pooling neuron of threshold 1 (no bias), the pooled spike count *is* the window's
    largest count, and its rate the largest rate. A tie passes nothing (the leader already
    passed that spike). Counting per entry, not per source, keeps each entry and each target
    to the one thread that owns the target. Returns the fan-out walked (comparisons)."""
    pre_start = pj[PROJ_PRE_START]
    pre_end = pj[PROJ_PRE_END]
    ptr0 = pj[PROJ_PTR]
    eo = pj[PROJ_ENTRY]
    wo = pj[PROJ_WEIGHT]
    lo, hi, indices, weights, _, _ = tables
    n_ent = indices.shape[0]
    ops = 0
    w = weights[wo]
    for s in range(a, b):
        i = spikes[s]
        if i < pre_start or i >= pre_end:
            continue
        r = ptr0 + i - pre_start
        e0 = lo[r]
        e1 = hi[r]
        for e in range(eo + e0, eo + e1):
            gate[e] += 1
            j = indices[e]
            if gate[e] > gate[n_ent + j]:
                gate[n_ent + j] = gate[e]
                target[j] += w
        ops += e1 - e0
    return ops


@numba.njit(**INLINE)
def drain_ring(chan, ring, x, syn, step):
    """Add ring slot ``step % L`` to the channels ``syn`` (to ``v``, row 0 of ``x``, for delta
    channels) and clear it. Takes arrays, not records: it runs every step."""
    drain_ring_part(chan, ring, x, syn, step, 0, ring.shape[2])


@numba.njit(**INLINE)
def drain_ring_part(chan, ring, x, syn, step, lo, hi):
    """:func:`drain_ring` for neurons ``lo <= t < hi`` only (a thread's share).

    Written as selects and unconditional clears, not as a branch around the stores: with a
    branch LLVM vectorised the loop only over a whole row, and the threaded loop, which
    drains its slices population by population, spent 17 to 25% more per step than the
    single-threaded one on the microcircuit (scales 0.25 and 0.5, one thread each); the
    single-threaded loop, which drains whole rows, also got faster (4.2 s against 6.0 s for
    300 ms at scale 0.5). The channels get the values of the branch, bit for bit: a zero slot
    entry leaves the channel as it is (a ``-0.0`` channel too)."""
    if ring.shape[0] <= 1:
        return
    slot = step % ring.shape[0]
    for c in range(ring.shape[1]):
        src = ring[slot, c]
        dst = x[ROW_V] if chan[c, CHAN_KIND] == SYN_DELTA else syn[c]
        for t in range(lo, hi):
            v = src[t]
            d = dst[t]
            dst[t] = d + v if v != 0.0 else d
            src[t] = 0.0
