"""Spec -> arrays for the population engine (:mod:`neurosim.kernels.network` layouts).

This is the only code that turns neuron, synapse and population specs into kernel arrays:
per-population parameter rows, per-channel decay factors, exact per-step integrals, CSR
fan-out tables, initial state.

Exact integrals used by the kernels (one step of ``dt`` with the channel value ``s`` at the
start of the step, ``s(t) = s exp(-t / tau_s)``):

- LIF, ``tau_m dv/dt = -(v - v_rest) + r_m (I + s)``: the ``s`` part of ``v(t + dt)`` is
  ``r_m s A``, ``A = tau_s / (tau_s - tau_m) (exp(-dt / tau_s) - exp(-dt / tau_m))``
  (``A = dt / tau_m exp(-dt / tau_m)`` when ``tau_s = tau_m``). The adaptation current of
  the adaptive LIF enters the same way with ``tau_w``.
- IF, ``c_m dv/dt = I + s``: ``v`` gains ``s tau_s (1 - exp(-dt / tau_s)) / c_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..kernels.network import (
    MODEL_ADEX,
    MODEL_ALIF,
    MODEL_HH,
    MODEL_IF,
    MODEL_IZH,
    MODEL_LIF,
    MODEL_MP,
    N_ROWS,
    NPAR,
    ROW_A,
    ROW_H,
    ROW_M,
    ROW_N,
    ROW_V,
)
from ..specs.neurons import (
    IF,
    LIF,
    AdaptiveLIF,
    AdEx,
    HodgkinHuxley,
    Izhikevich,
    McCullochPitts,
    NeuronModel,
)
from ..specs.populations import PopulationNetwork
from .connectivity import (
    Connectivity,
    all_to_all,
    fixed_indegree,
    one_to_one,
    random_connectivity,
)

__all__ = ["EngineArrays", "build_population_network", "build_neurons", "neuron_params",
           "exact_current_coefficient", "STATE_ROWS"]

#: Where each recordable neuron variable lives in the state array ``X``.
STATE_ROWS = {"v": ROW_V, "u": ROW_A, "w": ROW_A, "m": ROW_M, "h": ROW_H, "n": ROW_N}
_MODEL_CODES = {IF: MODEL_IF, LIF: MODEL_LIF, AdaptiveLIF: MODEL_ALIF, Izhikevich: MODEL_IZH,
                AdEx: MODEL_ADEX, HodgkinHuxley: MODEL_HH, McCullochPitts: MODEL_MP}


def exact_current_coefficient(tau_m: float, tau_s: float, dt: float) -> float:
    """``A``: the LIF potential change per unit of ``r_m s`` over one step (see module doc)."""
    if abs(tau_s - tau_m) < 1e-12 * tau_m:
        return dt / tau_m * math.exp(-dt / tau_m)
    return tau_s / (tau_s - tau_m) * (math.exp(-dt / tau_s) - math.exp(-dt / tau_m))


def _steps(t: float, dt: float) -> int:
    return int(round(t / dt))


def neuron_params(neuron: NeuronModel, dt: float, has_conductance: bool = False) -> np.ndarray:
    """The ``NPAR`` parameter row of one population (layouts in :mod:`kernels.network`)."""
    par = np.zeros(NPAR)
    if isinstance(neuron, LIF):  # LIF and AdaptiveLIF
        tau_w = getattr(neuron, "tau_w", 1.0)
        b = getattr(neuron, "b", 0.0)
        par[:12] = [neuron.tau_m, neuron.r_m, neuron.v_rest, neuron.v_th, neuron.v_reset,
                    float(neuron.reset == "subtract"), _steps(neuron.t_ref, dt),
                    math.exp(-dt / neuron.tau_m), math.exp(-dt / tau_w), b,
                    exact_current_coefficient(neuron.tau_m, tau_w, dt), float(has_conductance)]
    elif isinstance(neuron, IF):
        par[:5] = [neuron.c_m, neuron.v_th, neuron.v_reset, float(neuron.reset == "subtract"),
                   _steps(neuron.t_ref, dt)]
    elif isinstance(neuron, Izhikevich):
        par[:6] = [neuron.a, neuron.b, neuron.c, neuron.d, neuron.v_peak,
                   _steps(neuron.t_ref, dt)]
    elif isinstance(neuron, AdEx):
        par[:11] = [neuron.c_m, neuron.g_l, neuron.e_l, neuron.v_t, neuron.delta_t, neuron.a,
                    neuron.tau_w, neuron.b, neuron.v_reset, neuron.v_peak,
                    _steps(neuron.t_ref, dt)]
    elif isinstance(neuron, HodgkinHuxley):
        par[:10] = [neuron.c_m, neuron.g_na, neuron.g_k, neuron.g_l, neuron.e_na, neuron.e_k,
                    neuron.e_l, neuron.v_th, neuron.phi, float(neuron.method == "rk4")]
    elif isinstance(neuron, McCullochPitts):
        par[0] = neuron.theta
    else:
        raise TypeError(f"no engine for neuron model {type(neuron).__name__}")
    return par


def initial_state(neuron: NeuronModel, v0: np.ndarray) -> np.ndarray:
    """State rows ``(N_ROWS, n)`` for potentials ``v0``: Izhikevich ``u = b v``, HH gates at
    their steady state, everything else zero."""
    x = np.zeros((N_ROWS, v0.size))
    x[ROW_V] = v0
    if isinstance(neuron, Izhikevich):
        x[ROW_A] = neuron.b * v0
    elif isinstance(neuron, HodgkinHuxley):
        x[ROW_M], x[ROW_H], x[ROW_N] = neuron.steady_gates(v0)
    return x


@dataclass
class EngineArrays:
    """Everything :func:`neurosim.kernels.network.run_network` needs, plus names.

    Counter layout: ``[0, Q)`` synaptic operations per projection, ``[Q, Q + P)`` neuron
    updates per population, ``[Q + P, Q + 2P)`` spikes per population.
    """

    dt: float
    X: np.ndarray
    S: np.ndarray
    refc: np.ndarray
    pop_info: np.ndarray
    pop_par: np.ndarray
    pop_chan: np.ndarray
    chan_kind: np.ndarray
    chan_decay: np.ndarray
    chan_erev: np.ndarray
    i_ext: np.ndarray
    proj_info: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    ring: np.ndarray
    counters: np.ndarray
    pop_names: tuple[str, ...] = ()
    pop_models: tuple[NeuronModel, ...] = ()
    proj_names: tuple[str, ...] = ()
    #: ``(population, target)`` -> channel row of ``S``.
    channels: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.X.shape[1]

    def pop_slice(self, name: str) -> slice:
        p = self.pop_names.index(name)
        return slice(int(self.pop_info[p, 0]), int(self.pop_info[p, 1]))

    @property
    def n_proj(self) -> int:
        return self.proj_info.shape[0]


def build_neurons(groups, dt: float, *, channels=(), i_ext=None) -> EngineArrays:
    """Arrays for populations without projections (or before adding them).

    ``groups``: sequence of ``(name, neuron, v0 array)``; ``channels``: sequence of
    ``(kind_code, tau, e_rev)``; ``i_ext``: ``(T, N)`` drive (default zeros ``(1, N)``).
    """
    sizes = [len(v0) for _, _, v0 in groups]
    n = int(sum(sizes))
    n_pop = len(groups)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    X = np.concatenate([initial_state(nrn, np.asarray(v0, float)) for _, nrn, v0 in groups],
                       axis=1) if groups else np.zeros((N_ROWS, 0))
    n_chan = len(channels)
    chan_kind = np.array([c[0] for c in channels], dtype=np.int64)
    chan_tau = np.array([c[1] for c in channels], dtype=np.float64)
    with np.errstate(divide="ignore"):
        chan_decay = np.where(chan_kind > 0, np.exp(-dt / np.where(chan_tau > 0, chan_tau, 1)),
                              0.0)
    chan_erev = np.array([c[2] for c in channels], dtype=np.float64)
    pop_info = np.zeros((n_pop, 5), dtype=np.int64)
    pop_par = np.zeros((n_pop, NPAR))
    pop_chan = np.zeros((n_pop, n_chan))
    for p, (_, nrn, _) in enumerate(groups):
        pop_info[p] = [starts[p], starts[p + 1], _MODEL_CODES[type(nrn)], p, n_pop + p]
        pop_par[p] = neuron_params(nrn, dt)
        for c in range(n_chan):
            if chan_kind[c] != 1:
                continue
            if isinstance(nrn, LIF):
                pop_chan[p, c] = exact_current_coefficient(nrn.tau_m, chan_tau[c], dt)
            elif isinstance(nrn, IF):
                pop_chan[p, c] = chan_tau[c] * (1.0 - math.exp(-dt / chan_tau[c]))
    if i_ext is None:
        i_ext = np.zeros((1, n))
    return EngineArrays(
        dt=dt, X=X, S=np.zeros((n_chan, n)), refc=np.zeros(n, dtype=np.int32),
        pop_info=pop_info, pop_par=pop_par, pop_chan=pop_chan, chan_kind=chan_kind,
        chan_decay=chan_decay, chan_erev=chan_erev,
        i_ext=np.ascontiguousarray(i_ext, dtype=np.float64),
        proj_info=np.zeros((0, 8), dtype=np.int64), indptr=np.zeros(1, dtype=np.int64),
        indices=np.zeros(0, dtype=np.int32), weights=np.zeros(0),
        ring=np.zeros((1, n_chan, n)), counters=np.zeros(2 * n_pop, dtype=np.int64),
        pop_names=tuple(g[0] for g in groups), pop_models=tuple(g[1] for g in groups))


def _v0(pop, rng: np.random.Generator) -> np.ndarray:
    vi = pop.v_init
    if vi.dist == "rest":
        return np.full(pop.size, pop.neuron.v_initial)
    if vi.dist == "constant":
        return np.full(pop.size, vi.value)
    if vi.dist == "uniform":
        return vi.low + rng.random(pop.size) * (vi.high - vi.low)
    return rng.normal(vi.mean, vi.std, size=pop.size)


def _connect(proj, n_pre: int, n_post: int, rng) -> Connectivity:
    autapses = proj.autapses or proj.pre != proj.post
    if proj.connectivity == "all_to_all":
        if not autapses:
            pre, post = np.nonzero(~np.eye(n_pre, dtype=bool))
            from .connectivity import connectivity_from_pairs
            return connectivity_from_pairs(n_pre, n_post, pre, post)
        return all_to_all(n_pre, n_post)
    if proj.connectivity == "one_to_one":
        return one_to_one(n_pre)
    if proj.connectivity == "random":
        return random_connectivity(n_pre, n_post, proj.p, rng, autapses=autapses)
    return fixed_indegree(n_pre, n_post, proj.indegree, rng, autapses=autapses)


_SYN_CODES = {"delta": 0, "exp_current": 1, "exp_conductance": 2}


def build_population_network(spec: PopulationNetwork, *, seed: int | None = None,
                             connectivity: dict | None = None) -> EngineArrays:
    """Arrays for a :class:`PopulationNetwork`.

    ``seed`` overrides ``spec.simulation.seed``. Initial potentials draw from one generator
    seeded with it; each projection's connectivity from its own ``seed`` or from
    ``SeedSequence(seed).spawn`` (so adding a projection leaves the others unchanged).
    ``connectivity`` may give prebuilt :class:`Connectivity` per projection index.
    """
    sim = spec.simulation
    dt = sim.dt
    seed = sim.seed if seed is None else seed
    ss = np.random.SeedSequence(seed)
    init_seq, *proj_seqs = ss.spawn(1 + len(spec.projections))
    rng = np.random.default_rng(init_seq)
    # Channels: one per distinct (target, synapse) among the projections.
    chan_keys: list[tuple] = []
    channels: dict[tuple[str, str], int] = {}
    for proj in spec.projections:
        key = (proj.target, *proj.synapse.key)
        if key not in chan_keys:
            chan_keys.append(key)
        channels[(proj.post, proj.target)] = chan_keys.index(key)
    chan_tuples = [(_SYN_CODES[k[1]], k[2], k[3]) for k in chan_keys]
    groups = [(p.name, p.neuron, _v0(p, rng)) for p in spec.populations]
    drive = np.concatenate([np.full(p.size, p.current) for p in spec.populations])[None, :]
    arr = build_neurons(groups, dt, channels=chan_tuples, i_ext=drive)
    arr.channels = channels
    for p, pop in enumerate(spec.populations):
        if isinstance(pop.neuron, LIF):
            cond = any(chan_tuples[c][0] == 2 for (post, _), c in channels.items()
                       if post == pop.name)
            arr.pop_par[p, 11] = float(cond)
    n_proj = len(spec.projections)
    n_pop = len(spec.populations)
    arr.pop_info[:, 3] = n_proj + np.arange(n_pop)
    arr.pop_info[:, 4] = n_proj + n_pop + np.arange(n_pop)
    arr.counters = np.zeros(n_proj + 2 * n_pop, dtype=np.int64)
    proj_info = np.zeros((n_proj, 8), dtype=np.int64)
    indptrs, indices, weights = [], [], []
    row_off = 0
    max_delay = 0
    for q, proj in enumerate(spec.projections):
        pre_sl, post_sl = arr.pop_slice(proj.pre), arr.pop_slice(proj.post)
        n_pre, n_post = pre_sl.stop - pre_sl.start, post_sl.stop - post_sl.start
        if connectivity is not None and q in connectivity:
            conn = connectivity[q]
        else:
            conn = _connect(proj, n_pre, n_post, np.random.default_rng(
                proj.seed if proj.seed is not None else proj_seqs[q]))
        if isinstance(proj.weight, tuple):
            wmat = np.asarray(proj.weight, dtype=np.float64)
            pre, post = conn.pairs()
            w = wmat[pre, post]
        else:
            w = np.full(conn.n_synapses, float(proj.weight))
        base = sum(len(x) for x in weights)
        delay = _steps(proj.delay, dt)
        max_delay = max(max_delay, delay)
        proj_info[q] = [pre_sl.start, pre_sl.stop, post_sl.start,
                        channels[(proj.post, proj.target)], delay, row_off, int(conn.dense), q]
        indptrs.append(conn.indptr + base)
        if conn.dense:
            indices.append(np.zeros(conn.n_synapses, dtype=np.int32))
        else:
            indices.append(conn.indices.astype(np.int32) + post_sl.start)
        weights.append(w)
        row_off += n_pre + 1
    arr.proj_info = proj_info
    if n_proj:
        arr.indptr = np.concatenate(indptrs).astype(np.int64)
        arr.indices = np.concatenate(indices).astype(np.int32)
        arr.weights = np.concatenate(weights).astype(np.float64)
    arr.ring = np.zeros((max_delay + 1 if max_delay > 0 else 1, len(chan_tuples), arr.n))
    arr.proj_names = tuple(p.label for p in spec.projections)
    return arr
