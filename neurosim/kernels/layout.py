"""Names of every slot of the arrays the builder makes and the kernels and NumPy twins read.

A built network (:mod:`neurosim.builder.model`) is one :class:`Model` record of frozen arrays;
a simulator makes a :class:`State` record and a :class:`Recorders` record. Kernels take these
records, never long positional lists. Every population is a contiguous range of global neuron
indices ``[start, end)``; a neuron model names its own parameter slots and state rows in its
module (:mod:`neurosim.neurons`), and the builder sizes ``par`` and ``x`` for the models in use.

``Model`` (read-only during a run):

- ``dt`` (float, ms): the step.
- ``pop`` int64 ``(P, N_POP_COLS)``: columns ``POP_*``.
- ``par`` float64 ``(n_slots, N)``: per-neuron model parameters, slot ``k`` of neuron ``i`` in
  ``par[k, i]`` (slot names in each neuron module's ``SLOTS``).
- ``chan`` float64 ``(C, N_CHAN_COLS)``: one row per synaptic channel, columns ``CHAN_*``;
  ``CHAN_KIND`` holds a ``SYN_*`` code.
- ``chan_coef`` float64 ``(C, N)``: how much one unit of channel ``c`` moves neuron ``i``'s
  ``v`` over one step (exact integrals of linear models; 0 where the model reads the channel
  itself).
- ``drive`` float64 ``(T, N)`` or ``(1, N)``: external drive at each step, row
  ``min(step, T - 1)`` (one row if constant; a stepped drive holds its last row).
- ``proj`` int64 ``(Q, N_PROJ_COLS)``: one row per projection, columns ``PROJ_*``; ``PROJ_KIND``
  holds a ``KIND_*`` code.
- ``indptr``, ``indices``, ``weights``, ``kof``, ``delays``: fan-out tables of every
  projection, concatenated (``PROJ_PTR``, ``PROJ_ENTRY``, ``PROJ_WEIGHT`` and ``PROJ_AUX``
  give each one's offsets).
  Dense: row ``i`` of the ``(n_pre, n_post)`` weight matrix is the fan-out of source ``i``.
  CSR: ``indptr`` rows, ``indices`` targets (population-local), ``weights`` (one per synapse,
  or, when ``PROJ_SHARED`` is 1, one for the whole projection: a model file's constant
  weight, 8 bytes instead of 8 per synapse). Conv: for input
  position ``pos`` entries ``indptr[pos] .. indptr[pos+1]`` give the target position's first
  neuron (``indices``) and the kernel tap (``kof``); weights ``Wk[c, u, v, o]``. Pool: one row
  per source neuron, ``indices`` the targets, one weight ``1 / (kh kw)`` per projection.
  CSR with delays (``KIND_CSR_DELAYS``): as CSR, plus one delay per synapse in steps
  (``delays[PROJ_AUX + e]``, uint8, or uint16 when some delay exceeds 255 steps);
  ``PROJ_DELAY`` holds the longest. ``kof`` only reaches as far as the last convolution's
  entries (nothing else reads it), so other projections cost no tap offsets.

Kernels walk a row through ``tables = (lo, hi, indices, weights, kof, delays)``: row ``r``'s
entries are ``lo[r] <= e < hi[r]`` (``lo = indptr[:-1]``, ``hi = indptr[1:]``; a thread of
the multi-threaded loop passes the part of each row that reaches its own targets, see
:mod:`neurosim.kernels.partition`).

- ``bg`` float64 ``(2, C, N)``: Poisson background drive, ``bg[0, c, i]`` the expected
  number of events per step into channel ``c`` of neuron ``i`` (0: none), ``bg[1, c, i]`` the
  weight of one event; ``bg_key`` uint64 ``(C,)`` the counter-based stream of each channel
  (:mod:`neurosim.kernels.random`). ``(2, 0, 0)`` and ``(0,)`` when there is no background.
- ``ev_ptr`` int64 ``(N + 1,)``, ``ev_steps`` int64: the spike steps of spike-generator
  neurons, neuron ``i``'s in ``ev_steps[ev_ptr[i]:ev_ptr[i + 1]]`` (ascending); ``(1,)``
  and ``(0,)`` when there is none.

``State`` (changed in place): ``x`` ``(n_rows, N)`` neuron state (row ``ROW_V`` is the
membrane potential), ``syn`` ``(C, N)`` synaptic channels, ``refc`` int32 ``(N,)`` refractory
countdown in steps, ``ring`` ``(L, C, N)`` delayed input (slot ``step % L``), ``counters``
int64 (synaptic operations per projection, updates and spikes per population), ``gate``
int64 ``(E + N,)`` the state of max-pooling projections: entry ``e`` of the fan-out tables
(``E`` entries in ``indices``) counts the spikes its source has sent through it, and
``gate[E + j]`` the spikes passed to pooling neuron ``j`` (the running maximum of its
window's counts; :func:`neurosim.kernels.propagate.deliver_maxpool`).

``Recorders``: ``spike_mask`` uint8 ``(N,)``, ``spike_i``/``spike_t`` int32 buffers with
``spike_count[0]`` entries used, ``probe_index``/``probe_row``/``probe_out`` (state probes: row
``< n_rows`` is a row of ``x``, ``n_rows + c`` channel ``c``), ``pop_counts`` int32
``(P, n_steps)`` spikes per population and step (no columns: not recorded).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

__all__ = ["Model", "State", "Recorders", "Threads", "ROW_V",
           "POP_START", "POP_END", "POP_MODEL", "POP_UPDATES", "POP_SPIKES", "POP_FLAGS",
           "N_POP_COLS", "FLAG_CONDUCTANCE", "FLAG_UNIFORM",
           "CHAN_KIND", "CHAN_DECAY", "CHAN_EREV", "CHAN_TAU", "N_CHAN_COLS",
           "SYN_DELTA", "SYN_CURRENT", "SYN_CONDUCTANCE",
           "PROJ_KIND", "PROJ_PRE_START", "PROJ_PRE_END", "PROJ_POST_START", "PROJ_POST_END",
           "PROJ_CHANNEL", "PROJ_DELAY", "PROJ_PTR", "PROJ_ENTRY", "PROJ_WEIGHT",
           "PROJ_COUNTER", "PROJ_C_IN", "PROJ_C_OUT", "PROJ_TAPS", "N_PROJ_COLS",
           "PROJ_AUX", "PROJ_SHARED", "KIND_DENSE", "KIND_CSR", "KIND_CONV", "KIND_POOL",
           "KIND_CSR_DELAYS", "KIND_MAXPOOL", "KIND_NAMES"]

Model = namedtuple("Model", ["dt", "pop", "par", "chan", "chan_coef", "drive", "proj",
                             "indptr", "indices", "weights", "kof", "delays", "bg", "bg_key",
                             "ev_ptr", "ev_steps"],
                   defaults=(np.zeros((2, 0, 0)), np.zeros(0, np.uint64),
                             np.zeros(1, np.int64), np.zeros(0, np.int64)))
#: ``gate`` defaults to empty: a network without max pooling never reads it.
State = namedtuple("State", ["x", "syn", "refc", "ring", "counters", "gate"],
                   defaults=(np.zeros(0, np.int64),))
#: The multi-threaded loop's work arrays (:mod:`neurosim.kernels.partition`): ``parts``
#: ``(T, P, N_POP_COLS)`` each thread's population slices, ``bounds`` ``(T + 1, R)`` each
#: thread's part of every row, ``spk`` ``(T, N)`` and ``n_out`` ``(T, P)`` each thread's
#: spikes of the step, ``ops`` ``(T, Q + 1)`` its synaptic operations per projection and its
#: background events (last column).
Threads = namedtuple("Threads", ["parts", "bounds", "spk", "n_out", "ops"])
Recorders = namedtuple("Recorders", ["spike_mask", "spike_i", "spike_t", "spike_count",
                                     "probe_index", "probe_row", "probe_out", "pop_counts"])

#: Row of ``State.x`` that holds every model's membrane potential.
ROW_V = 0

# Population table columns.
POP_START, POP_END, POP_MODEL, POP_UPDATES, POP_SPIKES, POP_FLAGS = range(6)
N_POP_COLS = 6
#: ``POP_FLAGS`` bits: some channel into the population is a conductance; every neuron of the
#: population has the same parameters (kernels may then read them once).
FLAG_CONDUCTANCE, FLAG_UNIFORM = 1, 2

# Channel table columns and synapse codes.
CHAN_KIND, CHAN_DECAY, CHAN_EREV, CHAN_TAU = range(4)
N_CHAN_COLS = 4
SYN_DELTA, SYN_CURRENT, SYN_CONDUCTANCE = 0, 1, 2

# Projection table columns. Offsets: PROJ_PTR into indptr, PROJ_ENTRY into indices/kof,
# PROJ_WEIGHT into weights; PROJ_COUNTER: its slot in State.counters. Conv geometry:
# PROJ_C_IN, PROJ_C_OUT, PROJ_TAPS (kh * kw). PROJ_AUX: offset into delays (CSR with delays).
# PROJ_SHARED: 1 when a CSR projection's synapses share one weight, weights[PROJ_WEIGHT].
(PROJ_KIND, PROJ_PRE_START, PROJ_PRE_END, PROJ_POST_START, PROJ_POST_END, PROJ_CHANNEL,
 PROJ_DELAY, PROJ_PTR, PROJ_ENTRY, PROJ_WEIGHT, PROJ_COUNTER, PROJ_C_IN, PROJ_C_OUT,
 PROJ_TAPS, PROJ_AUX, PROJ_SHARED) = range(16)
N_PROJ_COLS = 16
KIND_DENSE, KIND_CSR, KIND_CONV, KIND_POOL, KIND_CSR_DELAYS, KIND_MAXPOOL = range(6)
KIND_NAMES = ("dense", "csr", "conv", "pool", "csr_delays", "maxpool")
