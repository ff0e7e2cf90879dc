"""Synaptic channel helpers shared by the neuron models' compiled steps.

A channel is one row of ``State.syn`` (see :mod:`neurosim.kernels.layout`): exponential
currents and conductances decay by ``exp(-dt / tau)`` at the end of every step; delta channels
stay zero (their events go straight to ``v``).
"""

from __future__ import annotations

import numba
import numpy as np

from .config import INLINE
from .layout import CHAN_DECAY, CHAN_EREV, CHAN_KIND, SYN_CONDUCTANCE, SYN_CURRENT, SYN_DELTA

__all__ = ["decay_channels", "channel_inputs", "refractory", "decay_channels_numpy",
           "channel_inputs_numpy"]


@numba.njit(**INLINE)
def decay_channels(model, state, start, end):
    """``syn[c, start:end] *= exp(-dt / tau_c)`` for every non-delta channel."""
    chan = model.chan
    for c in range(chan.shape[0]):
        if chan[c, CHAN_KIND] != SYN_DELTA:
            d = chan[c, CHAN_DECAY]
            sc = state.syn[c, start:end]
            for j in range(end - start):
                sc[j] *= d


@numba.njit(**INLINE)
def channel_inputs(model, state, i):
    """``(cur, g, ge)`` of neuron ``i``: the sum of its current channels, of its conductances
    and of conductance times reversal potential, at the start of the step."""
    chan = model.chan
    cur = 0.0
    g = 0.0
    ge = 0.0
    for c in range(chan.shape[0]):
        k = chan[c, CHAN_KIND]
        if k == SYN_CURRENT:
            cur += state.syn[c, i]
        elif k == SYN_CONDUCTANCE:
            g += state.syn[c, i]
            ge += state.syn[c, i] * chan[c, CHAN_EREV]
    return cur, g, ge


@numba.njit(**INLINE)
def refractory(refc, i):
    """Count neuron ``i``'s refractory period down by one step; whether it is still
    refractory in this step (``round(t_ref / dt) - 1`` held steps after the spike step)."""
    if refc[i] > 0:
        refc[i] -= 1
        return refc[i] > 0
    return False


def decay_channels_numpy(model, state, start, end):
    """Twin of :func:`decay_channels`."""
    live = model.chan[:, CHAN_KIND] != SYN_DELTA
    state.syn[live, start:end] *= model.chan[live, CHAN_DECAY, None]


def channel_inputs_numpy(model, state, sl):
    """Twin of :func:`channel_inputs` over a slice of neurons: arrays ``(cur, g, ge)``."""
    kind = model.chan[:, CHAN_KIND]
    s = state.syn[:, sl]
    cond = kind == SYN_CONDUCTANCE
    return (s[kind == SYN_CURRENT].sum(axis=0), s[cond].sum(axis=0),
            (s[cond] * model.chan[cond, CHAN_EREV, None]).sum(axis=0)) if s.size else \
        (np.zeros(sl.stop - sl.start),) * 3
