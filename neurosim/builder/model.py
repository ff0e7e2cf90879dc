"""Graph -> the frozen arrays every engine runs (:class:`Built`), and the state a run starts from.

This is the one builder: population networks and layered networks alike are lowered to a
:class:`~neurosim.graph.Graph` first (:mod:`neurosim.builder.lower`). Layouts are those of
:mod:`neurosim.kernels.layout`:

- each neuron model fills its parameter slots (``param_values``) for every neuron of its
  populations; per-neuron parameters (``Population.params``) are evaluated once per distinct
  combination of values;
- one synaptic channel per distinct ``(target, synapse)`` among the projections, shared by the
  populations it feeds; ``chan_coef`` holds each model's exact per-step coefficient of every
  current channel;
- every projection's fan-out table is appended to the shared ``indptr``/``indices``/``kof``/
  ``weights`` arrays, targets as global neuron indices;
- background drives (:class:`~neurosim.graph.Background`) fill ``Model.bg``; spike-generator
  times ``Model.ev_ptr``/``ev_steps``; a stepped drive the rows of ``Model.drive`` up to its
  last change (the loop holds the last row from then on);
- ``initial`` values of a population set its state rows and its synaptic channels at the
  start of a run (``Built.syn0``).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpecError
from ..graph import Graph
from ..kernels import layout as L
from ..neurons.base import NeuronModel
from ..specs.synapses import SYNAPSE_KINDS

__all__ = ["Built", "build"]

_KIND_CODES = {name: k for k, name in enumerate(L.KIND_NAMES)}


@dataclass
class Built:
    """A built network: the :class:`~neurosim.kernels.layout.Model` record plus names.

    ``steps``: the ``(module, function)`` of each model code (``POP_MODEL``); ``channels``:
    ``(population, target)`` -> channel row. Counter layout: ``[0, Q)`` synaptic operations
    per projection, ``[Q, Q + P)`` neuron updates and ``[Q + P, Q + 2P)`` spikes per
    population.
    """

    model: L.Model
    graph: Graph
    steps: tuple[tuple[str, str], ...]
    n_rows: int
    x0: np.ndarray
    ring_slots: int
    pop_names: tuple[str, ...]
    pop_models: tuple[NeuronModel | None, ...]
    proj_names: tuple[str, ...]
    channels: dict = field(default_factory=dict)
    syn0: np.ndarray | None = None

    @property
    def kinds(self) -> tuple[int, ...]:
        """Projection kind codes in use (the compiled loop includes only those)."""
        return tuple(sorted({int(k) for k in self.model.proj[:, L.PROJ_KIND]}))

    @property
    def same_step(self) -> bool:
        """Whether some projection delivers in the step its spikes were emitted (delay 0)."""
        return bool(np.any(self.model.proj[:, L.PROJ_DELAY] == 0))

    @property
    def dt(self) -> float:
        return float(self.model.dt)

    @property
    def n(self) -> int:
        return int(self.model.par.shape[1])

    def pop_slice(self, name: str) -> slice:
        p = self.pop_names.index(name)
        return slice(int(self.model.pop[p, L.POP_START]), int(self.model.pop[p, L.POP_END]))

    @property
    def n_synapses(self) -> int:
        """Synapses of the dense and CSR projections (a shared weight counts once per
        synapse it serves), from the row pointers."""
        total = 0
        for row in self.model.proj:
            if int(row[L.PROJ_KIND]) in (L.KIND_DENSE, L.KIND_CSR, L.KIND_CSR_DELAYS):
                ptr0 = int(row[L.PROJ_PTR])
                n_pre = int(row[L.PROJ_PRE_END] - row[L.PROJ_PRE_START])
                total += int(self.model.indptr[ptr0 + n_pre] - self.model.indptr[ptr0])
        return total

    def pairs(self, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(pre, post, weight)`` of every synapse of dense or CSR projection ``q``
        (population-local indices, in row order), read from the Model's tables."""
        m, row = self.model, self.model.proj[q]
        kind = int(row[L.PROJ_KIND])
        n_pre = int(row[L.PROJ_PRE_END] - row[L.PROJ_PRE_START])
        n_post = int(row[L.PROJ_POST_END] - row[L.PROJ_POST_START])
        ptr0, wo = int(row[L.PROJ_PTR]), int(row[L.PROJ_WEIGHT])
        if kind == L.KIND_DENSE:
            w = m.weights[wo:wo + n_pre * n_post].copy()
            return np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre), w
        if kind in (L.KIND_CSR, L.KIND_CSR_DELAYS):
            ip = m.indptr[ptr0:ptr0 + n_pre + 1]
            e0, e1, eo = int(ip[0]), int(ip[-1]), int(row[L.PROJ_ENTRY])
            post = m.indices[eo + e0:eo + e1].astype(np.int64) - int(row[L.PROJ_POST_START])
            w = (np.full(e1 - e0, m.weights[wo]) if row[L.PROJ_SHARED]
                 else m.weights[wo + e0:wo + e1])
            return np.repeat(np.arange(n_pre), np.diff(ip)), post, w
        raise ValueError(f"projection {self.proj_names[q]}: pairs are listed for dense and csr "
                         "only")

    def new_state(self) -> L.State:
        """A fresh :class:`~neurosim.kernels.layout.State` at the initial potentials."""
        n_chan = self.model.chan.shape[0]
        n_pop, n_proj = self.model.pop.shape[0], len(self.proj_names)
        syn = np.zeros((n_chan, self.n)) if self.syn0 is None else self.syn0.copy()
        # counters: per projection, per population (updates, spikes), background events
        return L.State(x=self.x0.copy(), syn=syn, refc=np.zeros(self.n, np.int32),
                       ring=np.zeros((self.ring_slots, n_chan, self.n)),
                       counters=np.zeros(n_proj + 2 * n_pop + 1, np.int64),
                       gate=np.zeros(self.model.indices.size + self.n, np.int64))

    def delays(self, q: int) -> np.ndarray:
        """Delay (steps) of every synapse of dense or CSR projection ``q``, in the order of
        :meth:`pairs`."""
        row = self.model.proj[q]
        n = self.pairs(q)[2].size
        if row[L.PROJ_KIND] != L.KIND_CSR_DELAYS:
            return np.full(n, int(row[L.PROJ_DELAY]), np.int64)
        e0 = int(self.model.indptr[row[L.PROJ_PTR]])
        a = int(row[L.PROJ_AUX]) + e0
        return self.model.delays[a:a + n].astype(np.int64)


def _variants(neuron: NeuronModel, size: int, overrides: dict, dt: float, where: str):
    """``(model, member indices)`` for each distinct combination of per-neuron parameters of
    a population (one pair, every member, when nothing differs)."""
    if not overrides:
        return [(neuron, np.arange(size))]
    names = sorted(overrides)
    known = {f.name for f in dataclasses.fields(neuron)}
    cols = []
    for name in names:
        if name not in known:
            raise SpecError(f"{where}: params: {name}: not a parameter of {neuron.kind} "
                            f"(known: {', '.join(sorted(known))})")
        if isinstance(getattr(neuron, name), (bool, str)):
            raise SpecError(f"{where}: params: {name}: per-neuron values are for numeric "
                            "parameters only; use one population per setting")
        try:
            arr = np.broadcast_to(np.asarray(overrides[name], dtype=np.float64), (size,))
        except ValueError:
            raise SpecError(f"{where}: params: {name}: expected {size} values, got shape "
                            f"{np.shape(overrides[name])}") from None
        if not np.all(np.isfinite(arr)):
            raise SpecError(f"{where}: params: {name}: contains NaN or infinite values")
        cols.append(arr)
    combos, inverse = np.unique(np.stack(cols, axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    out = []
    for k, combo in enumerate(combos):
        try:
            nrn = dataclasses.replace(neuron, **dict(zip(names, map(float, combo))))
            nrn.check_dt(dt)
        except ValueError as err:
            raise SpecError(f"{where}: params: {err}") from None
        out.append((nrn, np.flatnonzero(inverse == k)))
    return out


def _packed_delays(values, n_synapses: int, where: str) -> np.ndarray:
    """Per-synapse delays (whole steps >= 1) as the smallest unsigned integers that hold them:
    one byte per synapse up to 255 steps, two up to 65,535."""
    d = np.asarray(values).ravel()
    if d.size != n_synapses:
        raise SpecError(f"{where}: delays: expected one per synapse ({n_synapses}), got "
                        f"{d.size}")
    whole = np.issubdtype(d.dtype, np.integer) or (
        np.issubdtype(d.dtype, np.floating) and np.all(np.isfinite(d)) and np.all(d % 1 == 0))
    if d.size and (not whole or d.min() < 1 or d.max() > np.iinfo(np.uint16).max):
        raise SpecError(f"{where}: delays: must be whole numbers of steps from 1 to "
                        f"{np.iinfo(np.uint16).max}")
    dtype = np.uint8 if not d.size or d.max() <= np.iinfo(np.uint8).max else np.uint16
    return d.astype(dtype, copy=False)


def shared_weight(pj) -> bool:
    """Whether CSR projection ``pj``'s synapses share one weight: its ``weights`` are one
    value broadcast over them (a stride of 0, as the lowering of a model file's constant
    weight makes them), stored once (``PROJ_SHARED``) rather than once per synapse."""
    w = pj.weights
    return (pj.kind == "csr" and isinstance(w, np.ndarray) and w.ndim == 1 and w.size > 0
            and w.strides == (0,))


class _Tables:
    """The Model's synapse tables, allocated whole before the first projection is copied in
    (untouched pages cost no memory), so that a projection's own arrays can be let go as soon
    as they are copied (``build(..., release=True)``): the peak is then the tables plus one
    projection, not twice the tables."""

    def __init__(self, graph: Graph, starts, index):
        n_ptr = n_ent = n_w = n_del = 0
        top = 1
        for pj in graph.projections:
            n_pre = int(starts[index[pj.pre] + 1] - starts[index[pj.pre]])
            n_post = int(starts[index[pj.post] + 1] - starts[index[pj.post]])
            n_syn = int(np.size(pj.weights))
            n_ptr += n_pre + 1
            n_w += 1 if shared_weight(pj) else n_syn
            if pj.kind == "dense":
                n_ent += n_pre * n_post if pj.delays is not None else 0
            else:
                n_ent += int(np.size(pj.indices))
            if pj.delays is not None:
                n_del += n_syn
                top = max(top, int(np.max(pj.delays)) if n_syn else 1)
        dtype = np.uint16 if top > np.iinfo(np.uint8).max else np.uint8
        self.indptr = np.empty(max(n_ptr, 1), np.int64)
        self.indices = np.empty(max(n_ent, 1), np.int32)
        self.weights = np.empty(max(n_w, 1), np.float64)
        self.delays = np.empty(max(n_del, 1), dtype)
        for arr in (self.indptr, self.indices, self.weights, self.delays):
            arr[-1:] = 0  # the one placeholder entry of an empty table

    def put(self, n_ptr, ip, n_ent, ind, add, n_w, w, n_del, d) -> None:
        self.indptr[n_ptr:n_ptr + ip.size] = ip
        np.add(ind, add, out=self.indices[n_ent:n_ent + ind.size], casting="unsafe")
        self.weights[n_w:n_w + w.size] = w
        if d is not None:
            self.delays[n_del:n_del + d.size] = d


def build(graph: Graph, *, release: bool = False, threads: int = 1) -> Built:
    """The frozen arrays of ``graph`` (see the module docstring). ``release``: the graph was
    made to be built only (:func:`neurosim.spike.population.simulate_network`); its
    projections' synapse tables are let go once copied into the Model, which keeps the peak
    memory near one copy of them (``Built.pairs`` and ``Built.delays`` read the Model).
    ``threads``: the projections' checks and copies into the tables run on that many
    threads (disjoint parts of the tables: the same Model)."""
    dt = float(graph.dt)
    pops, projs = graph.populations, graph.projections
    sizes = [p.size for p in pops]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n, n_pop, n_proj = int(starts[-1]), len(pops), len(projs)
    index = {p.name: k for k, p in enumerate(pops)}
    # neuron model codes: one per distinct step function, in order of first use (a model
    # names the step for a population's flags: see NeuronModel.step_for)
    steps: list[tuple[str, str]] = []
    n_slots = max([len(p.neuron.SLOTS) for p in pops if p.neuron is not None] or [1])
    n_rows = max([len(p.neuron.ROWS) for p in pops if p.neuron is not None] or [1])
    # channels: one per distinct (target, synapse)
    chan_keys: list[tuple] = []
    channels: dict[tuple[str, str], int] = {}
    feeds = [(proj.post, proj.target, proj.synapse) for proj in projs] + [
        (p.name, b.target, b.synapse) for p in pops for b in p.background]
    for post, target, synapse in feeds:
        key = (target, *synapse.key)
        if key not in chan_keys:
            chan_keys.append(key)
        channels[(post, target)] = chan_keys.index(key)
    n_chan = len(chan_keys)
    chan = np.zeros((n_chan, L.N_CHAN_COLS))
    for c, (_, kind, tau, e_rev) in enumerate(chan_keys):
        code = SYNAPSE_KINDS[kind].code  # each synapse class carries its channel kind
        chan[c, L.CHAN_KIND] = code
        chan[c, L.CHAN_DECAY] = np.exp(-dt / tau) if code != L.SYN_DELTA and tau > 0 else 0.0
        chan[c, L.CHAN_EREV] = e_rev
        chan[c, L.CHAN_TAU] = tau
    pop = np.zeros((n_pop, L.N_POP_COLS), np.int64)
    par = np.zeros((n_slots, n))
    chan_coef = np.zeros((n_chan, n))
    x0 = np.zeros((n_rows, n))
    syn0 = np.zeros((n_chan, n))
    last_change = max([int(p.drive_steps[0].max()) for p in pops
                       if p.drive_steps is not None] or [0])
    drive = np.zeros((last_change + 1, n))
    bg = np.zeros((2, n_chan, n)) if any(p.background for p in pops) else np.zeros((2, 0, 0))
    bg_key = np.zeros(bg.shape[1], np.uint64)
    events = [p for p in pops if p.events is not None]
    ev_ptr = np.zeros(n + 1 if events else 1, np.int64)
    ev_steps = []
    for k, p in enumerate(pops):
        a, b = starts[k], starts[k + 1]
        where = f"{graph._where()}population {k} ({p.name})"
        flags = 0
        if p.neuron is not None:
            try:
                p.neuron.check_dt(dt)
            except ValueError as err:
                raise SpecError(f"{where}: neuron: {err}") from None
            v0 = (np.full(p.size, p.neuron.v_initial) if p.v0 is None
                  else np.asarray(p.v0, np.float64))
            if v0.shape != (p.size,) or not np.all(np.isfinite(v0)):
                raise SpecError(f"{where}: v0: must be {p.size} finite potentials")
            uniform = True
            for nrn, members in _variants(p.neuron, p.size, p.params, dt, where):
                idx = a + members
                vals = nrn.param_values(dt)
                par[:len(nrn.SLOTS), idx] = np.array([vals[s] for s in nrn.SLOTS])[:, None]
                for c in range(n_chan):
                    if chan[c, L.CHAN_KIND] == L.SYN_CURRENT:
                        chan_coef[c, idx] = nrn.current_coefficient(chan[c, L.CHAN_TAU], dt)
                for r, values in nrn.initial_state(v0[members]).items():
                    x0[nrn.ROWS.index(r), idx] = values
                uniform = uniform and members.size == p.size
            if "index" in p.neuron.ROWS:  # each neuron's index in its population
                x0[p.neuron.ROWS.index("index"), a:b] = np.arange(p.size)
            for name, values in p.initial.items():
                values = np.broadcast_to(np.asarray(values, np.float64), (p.size,))
                if name.startswith("syn_") and (p.name, name[4:]) in channels:
                    syn0[channels[(p.name, name[4:])], a:b] = values
                elif name in p.neuron.ROWS[1:]:
                    x0[p.neuron.ROWS.index(name), a:b] = values
                else:
                    raise SpecError(f"{where}: initial: {name}: not a state row or a "
                                    "channel of this population")
            flags |= L.FLAG_UNIFORM if uniform else 0
            if not p.spiking:
                if p.neuron.kind not in ("if", "lif"):
                    raise SpecError(f"{where}: spiking: only if and lif populations can "
                                    "integrate without firing (a membrane readout)")
                par[p.neuron.SLOTS.index(p.neuron.SLOT_THRESHOLD), a:b] = np.inf
        if any(chan[c, L.CHAN_KIND] == L.SYN_CONDUCTANCE for (post, _), c in channels.items()
               if post == p.name):
            flags |= L.FLAG_CONDUCTANCE
        drive[:, a:b] = p.drive
        if p.drive_steps is not None:
            for change, values in zip(*p.drive_steps):
                drive[change:, a:b] = values
        for bgd in p.background:
            c = channels[(p.name, bgd.target)]
            lam = np.asarray(bgd.rate, np.float64) * dt / 1000.0
            held = bg[0, c, a:b] > 0
            if np.any(held & (lam > 0) & (bg[1, c, a:b] != bgd.weight)):
                raise SpecError(f"{where}: background: {bgd.name}: generators into one "
                                f"target ({bgd.target}) must share one weight")
            bg[0, c, a:b] += lam
            bg[1, c, a:b] = np.where(lam > 0, bgd.weight, bg[1, c, a:b])
            bg_key[c] = bg_key[c] or np.uint64(bgd.key)
        if p.events is not None:
            ptr, at = p.events
            ev_ptr[a + 1:b + 1] = np.diff(ptr)
            ev_steps.append(np.asarray(at, np.int64))
        code = -1
        if p.neuron is not None:
            key = (type(p.neuron).__module__, p.neuron.step_for(flags))
            if key not in steps:
                steps.append(key)
            code = steps.index(key)
        pop[k] = [a, b, code, n_proj + k, n_proj + n_pop + k, flags]
    proj = np.zeros((n_proj, L.N_PROJ_COLS), np.int64)
    tables = _Tables(graph, starts, index)
    kof = []
    n_ptr = n_ent = n_w = n_del = 0
    kof_end = 0  # entries up to the end of the last convolution's: all that kof must hold
    max_delay = 1
    copies = []  # (where, projection, arguments of _Tables.put), run after the offsets
    for q, pj in enumerate(projs):
        a, b = starts[index[pj.pre]], starts[index[pj.pre] + 1]
        pa, pb = starts[index[pj.post]], starts[index[pj.post] + 1]
        where = f"{graph._where()}projection {q} ({pj.name})"
        kind = _KIND_CODES[pj.kind]
        shared = shared_weight(pj)
        # a shared weight is one value broadcast over the synapses: keep the one value
        w = np.asarray(pj.weights)[:1] if shared else np.asarray(pj.weights).ravel()
        delay = int(pj.delay)
        if pj.kind == "dense":
            ip = np.arange(b - a + 1, dtype=np.int64) * (pb - pa)
            ind = (np.zeros(0, np.int32) if pj.delays is None  # with delays: rows as CSR
                   else np.tile(np.arange(pa, pb, dtype=np.int32), b - a))
            pa_add = 0
        else:
            ip = np.asarray(pj.indptr, np.int64)
            ind = np.asarray(pj.indices)
            pa_add = int(pa)
        d = None
        if pj.delays is not None:
            d = _packed_delays(pj.delays, int(np.size(pj.weights)), where)
            kind = L.KIND_CSR_DELAYS
            delay = int(d.max()) if d.size else 1
        proj[q] = [kind, a, b, pa, pb, channels[(pj.post, pj.target)], delay, n_ptr, n_ent,
                   n_w, q, pj.c_in, pj.c_out, pj.taps, n_del, int(shared)]
        copies.append([where, pj, (n_ptr, ip, n_ent, ind, pa_add, n_w, w, n_del, d)])
        if pj.kind == "conv":
            kof.append(np.zeros(n_ent - kof_end, np.int64))
            kof.append(np.asarray(pj.kof, np.int64))
            kof_end = n_ent + ind.size
        n_ptr += ip.size
        n_ent += ind.size
        n_w += w.size
        n_del += d.size if d is not None else 0
        max_delay = max(max_delay, delay)
        del w, ind, d, ip

    def copy_in(job) -> None:
        where, pj, args = job
        job[2] = None  # the job lets go of the arrays: once copied they can be freed
        if not np.all(np.isfinite(args[6])):
            raise SpecError(f"{where}: weight: contains NaN or infinite values")
        tables.put(*args)
        if release and pj.kind in ("dense", "csr"):  # the Model holds them now
            for name in ("weights", "indices", "indptr", "delays"):
                object.__setattr__(pj, name, None)

    if threads > 1 and len(copies) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(copy_in, copies))
    else:
        for job in copies:
            copy_in(job)
    del copies
    if events:
        np.cumsum(ev_ptr, out=ev_ptr)
        for p in events:  # initial cursor: the neuron's first entry
            a = starts[index[p.name]]
            x0[p.neuron.ROWS.index("cursor"), a:a + p.size] = ev_ptr[a:a + p.size]
    def cat(xs, dtype):
        return np.concatenate(xs).astype(dtype, copy=False) if xs else np.zeros(1, dtype)

    model = L.Model(dt=dt, pop=pop, par=par, chan=chan, chan_coef=chan_coef, drive=drive,
                    proj=proj, indptr=tables.indptr, indices=tables.indices,
                    weights=tables.weights, kof=cat(kof, np.int64),
                    delays=tables.delays, bg=bg, bg_key=bg_key, ev_ptr=ev_ptr,
                    ev_steps=cat(ev_steps, np.int64) if ev_steps else np.zeros(0, np.int64))
    if n_del:  # a synapse of delay 1 goes through slot step % L too: at least two slots
        max_delay = max(max_delay, 2)
    return Built(model=model, graph=graph, steps=tuple(steps), n_rows=n_rows, x0=x0,
                 ring_slots=max_delay if max_delay > 1 else 1,
                 pop_names=tuple(p.name for p in pops),
                 pop_models=tuple(p.neuron for p in pops),
                 proj_names=tuple(p.name for p in projs), channels=channels,
                 syn0=syn0 if np.any(syn0) else None)
