"""Specs -> the one network model (:class:`~neurosim.graph.Graph`).

- :func:`lower_populations`: a population network (CUBA, COBA): one graph population per
  spec population, one projection per spec projection with its connectivity drawn here
  (dense rows for all-to-all, CSR otherwise). A model-file delay of ``D`` ms becomes
  ``round(D / dt) + 1`` steps: a spike acts from the next step on even with ``D = 0``
  (Brian2's schedule).
- :func:`neurosim.builder.layered.lower_layered`: a layered classifier (its own module).

Seeds: initial potentials draw from one generator seeded with the simulation seed; each
projection's connectivity from its own ``seed`` or from ``SeedSequence(seed).spawn`` (adding
a projection leaves the others unchanged).
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph, Population, Projection
from ..specs.populations import PopulationNetwork
from .connectivity import (
    Connectivity,
    all_to_all,
    connectivity_from_pairs,
    fixed_indegree,
    one_to_one,
    random_connectivity,
)

__all__ = ["lower_populations", "delay_steps"]


def delay_steps(delay_ms: float, dt: float) -> int:
    """Graph delay (steps) of a model-file delay in ms (see the module docstring)."""
    return int(round(delay_ms / dt)) + 1


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
            return connectivity_from_pairs(n_pre, n_post, pre, post)
        return all_to_all(n_pre, n_post)
    if proj.connectivity == "one_to_one":
        return one_to_one(n_pre)
    if proj.connectivity == "random":
        return random_connectivity(n_pre, n_post, proj.p, rng, autapses=autapses)
    return fixed_indegree(n_pre, n_post, proj.indegree, rng, autapses=autapses)


def lower_populations(spec: PopulationNetwork, *, seed: int | None = None,
                      connectivity: dict | None = None) -> Graph:
    """The graph of a population network. ``seed`` overrides ``spec.simulation.seed``;
    ``connectivity`` may give prebuilt :class:`Connectivity` per projection index."""
    sim = spec.simulation
    dt = sim.dt
    seed = sim.seed if seed is None else seed
    init_seq, *proj_seqs = np.random.SeedSequence(seed).spawn(1 + len(spec.projections))
    rng = np.random.default_rng(init_seq)
    pops = tuple(Population(name=p.name, neuron=p.neuron, shape=(p.size,), v0=_v0(p, rng),
                            drive=float(p.current)) for p in spec.populations)
    sizes = {p.name: p.size for p in spec.populations}
    projs = []
    for q, proj in enumerate(spec.projections):
        n_pre, n_post = sizes[proj.pre], sizes[proj.post]
        if connectivity is not None and q in connectivity:
            conn = connectivity[q]
        else:
            conn = _connect(proj, n_pre, n_post, np.random.default_rng(
                proj.seed if proj.seed is not None else proj_seqs[q]))
        if isinstance(proj.weight, tuple):
            pre, post = conn.pairs()
            w = np.asarray(proj.weight, dtype=np.float64)[pre, post]
        else:
            w = np.full(conn.n_synapses, float(proj.weight))
        common = dict(name=proj.label, pre=proj.pre, post=proj.post, synapse=proj.synapse,
                      target=proj.target, delay=delay_steps(proj.delay, dt), weights=w)
        if conn.dense:
            projs.append(Projection(kind="dense", **common))
        else:
            projs.append(Projection(kind="csr", indptr=conn.indptr,
                                    indices=np.asarray(conn.indices), **common))
    return Graph(populations=pops, projections=tuple(projs), dt=dt, name=spec.name,
                 source=spec.source)


#: Bytes per synapse while building and running: weight (float64), target index and source
#: row (int64), and the drawing's temporaries (geometric gaps, sort keys).
_SYNAPSE_BYTES = 40
#: Per-neuron values besides the state rows: parameter slots, drive, counters, spike buffer.
_NEURON_EXTRA = 8


def check_network_memory(spec: PopulationNetwork, duration: float | None = None):
    """Estimate the memory a population network's run needs and refuse it
    (:class:`~neurosim.limits.ResourceError`) above the budget, before drawing anything:
    state and parameters per neuron, synapses (expected counts), ring buffers of delayed
    projections, and the recorders (state probes and rates, per step) for ``duration`` ms
    (default the spec's). Spike rasters grow with the spikes and are not bounded here."""
    from ..limits import Estimate

    sim = spec.simulation
    duration = sim.duration if duration is None else duration
    steps = duration / sim.dt
    est = Estimate(f"{spec.source or spec.name}: network of {spec.n_neurons:,} neurons")
    est.add("state", sum(p.size * 8 * (len(p.neuron.ROWS) + len(p.neuron.SLOTS)
                                       + _NEURON_EXTRA) for p in spec.populations))
    sizes = {p.name: p.size for p in spec.populations}
    rings: dict[tuple[str, str], int] = {}
    for proj in spec.projections:
        n_pre, n_post = sizes[proj.pre], sizes[proj.post]
        n = {"all_to_all": n_pre * n_post, "one_to_one": n_pre,
             "random": (proj.p or 0.0) * n_pre * n_post,
             "fixed_indegree": (proj.indegree or 0) * n_post}[proj.connectivity]
        est.add("connectivity", n * _SYNAPSE_BYTES)
        key = (proj.post, proj.target)
        rings[key] = max(rings.get(key, 0), delay_steps(proj.delay, sim.dt))
    est.add("ring buffers", sum((d + 1) * sizes[post] * 8 for (post, _), d in rings.items()))
    mon = sim.monitors
    per_step = sum(len(pr.variables) * len(pr.indices) for pr in mon.state) + len(mon.rates)
    est.add("recorders", steps * per_step * 8 + steps * 8)
    return est.check()
