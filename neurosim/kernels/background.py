"""Poisson background drive: NEST's ``poisson_generator`` into many neurons, with no synapses.

A generator connected to a neuron gives it an independent Poisson train; ``K`` generators of
rate ``r`` into one channel with one weight ``w`` add up to one train of rate ``K r``. So a
background drive is two numbers per neuron and channel (``Model.bg``: events expected per
step ``lam = K r dt / 1000`` and the weight ``w``), not ``K`` stored synapses: at every step
neuron ``i`` (its global index) receives ``k`` events, ``k`` the Poisson(``lam``) count of
the counter-based uniform of ``(key, i, step)`` (:mod:`neurosim.kernels.random`), adding
``k w`` to its channel (to ``v`` for a delta channel). It is added at the end of the step, as
a spike through a projection of delay 1 would be: for a stationary Poisson train the delay
changes nothing.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import INLINE
from .layout import CHAN_KIND, ROW_V, SYN_DELTA
from .random import counter_uniform, counter_uniform_numpy, poisson_count, poisson_count_numpy

__all__ = ["add_background", "add_background_part", "add_background_numpy"]


@numba.njit(**INLINE)
def add_background(chan, bg, bg_key, syn, x, step):
    """Add step ``step``'s background events to ``syn`` (and ``x[ROW_V]``); takes arrays,
    not records: it runs every step. Returns the number of events (synaptic operations)."""
    return add_background_part(chan, bg, bg_key, syn, x, step, 0, bg.shape[2])


@numba.njit(**INLINE)
def add_background_part(chan, bg, bg_key, syn, x, step, lo, hi):
    """:func:`add_background` for neurons ``lo <= i < hi`` only (a thread's share; the draws
    are keyed by the global index ``i``, so they do not depend on the split)."""
    events = 0
    st = np.uint64(step)
    for c in range(bg.shape[1]):
        key = bg_key[c]
        lam = bg[0, c]
        w = bg[1, c]
        target = x[ROW_V] if chan[c, CHAN_KIND] == SYN_DELTA else syn[c]
        for i in range(lo, hi):
            if lam[i] > 0.0:
                k = poisson_count(counter_uniform(key, np.uint64(i), st), lam[i])
                if k > 0:
                    target[i] += k * w[i]
                    events += k
    return events


def add_background_numpy(chan, bg, bg_key, syn, x, step):
    """Twin of :func:`add_background`."""
    events = 0
    for c in range(bg.shape[1]):
        live = np.flatnonzero(bg[0, c] > 0.0)
        if live.size == 0:
            continue
        k = poisson_count_numpy(counter_uniform_numpy(bg_key[c], live, step), bg[0, c, live])
        target = x[ROW_V] if chan[c, CHAN_KIND] == SYN_DELTA else syn[c]
        target[live] += k * bg[1, c, live]
        events += int(k.sum())
    return events
