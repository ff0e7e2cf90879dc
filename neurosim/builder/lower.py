"""Specs -> the one network model (:class:`~neurosim.graph.Graph`).

- :func:`lower_populations`: a population network (CUBA, COBA, Brunel, the microcircuit):
  one graph population per spec population, one projection per spec projection with its
  connectivity drawn here (dense rows for all-to-all, CSR otherwise), its weights and delays
  drawn from their distributions. A model-file delay of ``D`` ms becomes
  ``round(D / dt) + 1`` steps: a spike acts from the next step on even with ``D = 0``
  (Brian2's schedule). Per-synapse delays are packed as ``uint8`` (``uint16`` beyond 255
  steps).
- Sources (:mod:`neurosim.neurons.sources`): a ``poisson_generator`` population is not a
  graph population; each projection from it becomes a :class:`~neurosim.graph.Background`
  of its targets, whose per-neuron rate is the sum of the rates of the generators that
  reach it (its connection rule is drawn, then only those sums are kept). ``poisson`` sources
  get their counter-based stream from the seed and their index; ``spike_generator`` spike
  times are read from their ``times`` file (``allow_pickle=False``).
- :func:`neurosim.builder.layered.lower_layered`: a layered classifier (its own module).

Seeds: initial potentials draw from one generator seeded with the simulation seed; each
projection's connectivity, weights and delays from its own ``seed`` or from
``SeedSequence(seed).spawn`` (adding a projection leaves the others unchanged); each
population's per-neuron parameters and initial state from a generator of the seed and its
name.
"""

from __future__ import annotations

import dataclasses
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..graph import Background, Graph, Population, Projection
from ..kernels.random import stream_key
from ..specs.distributions import Dist, draw
from ..specs.populations import PopulationNetwork, StepCurrent
from .connectivity import (
    Connectivity,
    all_to_all,
    connectivity_from_pairs,
    fixed_indegree,
    fixed_outdegree,
    fixed_total_number,
    one_to_one,
    random_connectivity,
)

__all__ = ["lower_populations", "delay_steps", "connect", "read_spike_times",
           "expected_synapses", "build_threads"]


def delay_steps(delay_ms, dt: float):
    """Graph delay (steps) of a model-file delay in ms (see the module docstring); arrays
    elementwise."""
    if np.ndim(delay_ms):
        return np.rint(np.asarray(delay_ms) / dt).astype(np.int64) + 1
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


def connect(proj, n_pre: int, n_post: int, rng) -> Connectivity:
    """The connectivity of spec projection ``proj`` (its rule, module doc of
    :mod:`neurosim.builder.connectivity`)."""
    autapses = proj.allow_autapses or proj.pre != proj.post
    multapses = proj.allow_multapses
    rule = proj.connectivity
    if rule == "all_to_all":
        if not autapses:
            pre, post = np.nonzero(~np.eye(n_pre, dtype=bool))
            return connectivity_from_pairs(n_pre, n_post, pre, post)
        return all_to_all(n_pre, n_post)
    if rule == "one_to_one":
        return one_to_one(n_pre)
    if rule in ("random", "pairwise_bernoulli"):
        return random_connectivity(n_pre, n_post, proj.p, rng, autapses=autapses)
    if rule == "fixed_indegree":
        return fixed_indegree(n_pre, n_post, proj.indegree, rng, autapses=autapses,
                              multapses=multapses)
    if rule == "fixed_outdegree":
        return fixed_outdegree(n_pre, n_post, proj.outdegree, rng, autapses=autapses,
                               multapses=multapses)
    return fixed_total_number(n_pre, n_post, proj.n, rng, autapses=autapses,
                              multapses=multapses)


def _per_neuron(values: dict, size: int, rng, what: str) -> dict[str, np.ndarray]:
    """Arrays of ``size`` for a ``params``/``initial`` table, names in sorted order (so the
    draws do not depend on the table's order)."""
    out = {}
    for name in sorted(values):
        value = values[name]
        if isinstance(value, tuple):
            arr = np.asarray(value, np.float64)
        else:
            arr = draw(value, rng, size)
        if arr.shape != (size,):
            raise SpecError(f"{what}: {name}: expected {size} values, got {arr.shape}")
        out[name] = arr
    return out


def read_spike_times(path: Path, size: int, dt: float, what: str):
    """``(indptr, steps)`` of a spike-time file (:mod:`neurosim.neurons.sources`) for ``size``
    neurons: each neuron's spike steps ``round(t / dt)``, ascending."""
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in ("neurons", "times") if k not in z.files]
                if missing:
                    raise SpecError(f"{path}: {missing[0]}: missing (a spike-time file holds "
                                    "arrays neurons and times)")
                neurons, times = np.asarray(z["neurons"]), np.asarray(z["times"])
        else:
            arr = np.load(path, allow_pickle=False)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise SpecError(f"{path}: expected an array of shape (K, 2) of rows "
                                f"[neuron, time], got {arr.shape}")
            neurons, times = arr[:, 0], arr[:, 1]
    except FileNotFoundError:
        raise SpecError(f"{what}: times: no such file {path}") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise SpecError(f"{what}: times: {path} is not a readable .npy/.npz ({err})") from None
    if neurons.shape != times.shape or neurons.ndim != 1:
        raise SpecError(f"{path}: neurons and times must be 1-D arrays of one length")
    if not (np.all(np.isfinite(times)) and np.all(times >= 0)):
        raise SpecError(f"{path}: times: must be finite and >= 0 ms")
    if neurons.size and (np.any(neurons != np.rint(neurons)) or neurons.min() < 0
                         or neurons.max() >= size):
        raise SpecError(f"{path}: neurons: must be indices 0 .. {size - 1}")
    idx = neurons.astype(np.int64)
    steps = np.rint(times / dt).astype(np.int64)
    order = np.lexsort((steps, idx))
    indptr = np.zeros(size + 1, np.int64)
    np.cumsum(np.bincount(idx, minlength=size), out=indptr[1:])
    return indptr, steps[order]


def _drive_steps(current: StepCurrent, size: int, dt: float):
    """``(change steps, values (K, size))`` of a stepped current."""
    steps = np.rint(np.asarray(current.times) / dt).astype(np.int64)
    values = np.repeat(np.asarray(current.amplitudes, np.float64)[:, None], size, axis=1)
    return steps, values


def _packed_delay_steps(ms: np.ndarray, dt: float) -> np.ndarray:
    """:func:`delay_steps` of drawn delays ``ms`` (float64, overwritten), packed as ``uint8``
    (``uint16`` from 256 steps): computed in place, so that no temporary of the synapse count
    is allocated (each costs its page faults again at the microcircuit's size). The values
    are exact integers from ``rint``, so ``+ 1`` and the conversion are exact."""
    np.divide(ms, dt, out=ms)
    np.rint(ms, out=ms)
    ms += 1.0
    return ms.astype(np.uint8 if ms.max(initial=1.0) < 256 else np.uint16)


def expected_synapses(proj, n_pre: int, n_post: int) -> float:
    """The number of synapses spec projection ``proj``'s rule makes on average (exact but
    for ``pairwise_bernoulli``)."""
    rule = proj.connectivity
    if rule in ("pairwise_bernoulli", "random"):
        return proj.p * n_pre * (n_post - (0 if proj.allow_autapses or proj.pre != proj.post
                                           else 1))
    if rule == "fixed_indegree":
        return float(proj.indegree * n_post)
    if rule == "fixed_outdegree":
        return float(proj.outdegree * n_pre)
    if rule == "fixed_total_number":
        return float(proj.n)
    if rule == "one_to_one":
        return float(n_pre)
    return float(n_pre * n_post - (0 if proj.allow_autapses or proj.pre != proj.post
                                   else n_pre))


#: Below this many synapses (expected) a network is lowered and built on one thread whatever
#: ``threads`` says: it takes a quarter of a second or less, and a second thread would only
#: hold a second projection's temporaries at the same time (the microcircuit at scale 0.1,
#: 3 M synapses: 0.27 GB peak on two threads against 0.25 GB on one). Brunel's 12.5 M
#: synapses build in 0.39 to 0.49 s on two threads against 0.54 to 0.98 s on one.
THREADED_BUILD_SYNAPSES = 1 << 22


def build_threads(spec: PopulationNetwork, threads: int) -> int:
    """The threads to lower and build ``spec`` on: ``threads``, or 1 below
    :data:`THREADED_BUILD_SYNAPSES` expected synapses."""
    sizes = {p.name: p.size for p in spec.populations}
    gens = {p.name for p in spec.populations if p.neuron.kind == "poisson_generator"}
    total = sum(expected_synapses(q, sizes[q.pre], sizes[q.post]) for q in spec.projections
                if q.pre not in gens)  # a generator's projection is a background drive
    return threads if total >= THREADED_BUILD_SYNAPSES else 1


def lower_populations(spec: PopulationNetwork, *, seed: int | None = None,
                      connectivity: dict | None = None, threads: int = 1) -> Graph:
    """The graph of a population network. ``seed`` overrides ``spec.simulation.seed``;
    ``connectivity`` may give prebuilt :class:`Connectivity` per projection index;
    ``threads``: projections lowered on that many threads at once (the same graph)."""
    sim = spec.simulation
    dt = sim.dt
    seed = sim.seed if seed is None else seed
    n_proj = len(spec.projections)
    init_seq, *proj_seqs = np.random.SeedSequence(seed).spawn(1 + n_proj)
    rng = np.random.default_rng(init_seq)
    base = Path(spec.source).parent if spec.source else Path(".")
    where = f"{spec.source}: " if spec.source else ""
    drawn = {}  # per-neuron params and initial state, every population
    pops = {}
    for k, p in enumerate(spec.populations):
        what = f"{where}population {k} ({p.name})"
        prng = np.random.default_rng([seed, _label(p.name)])
        params = _per_neuron(p.params, p.size, prng, f"{what}: params")
        initial = _per_neuron(p.initial, p.size, prng, f"{what}: initial")
        drawn[p.name] = params
        neuron = p.neuron
        if neuron.kind == "poisson_generator":
            continue  # a device: its projections become background drives below
        if neuron.kind == "poisson":
            neuron = dataclasses.replace(neuron, stream=stream_key(seed, _label(p.name)) >> 11)
        events = None
        if neuron.kind == "spike_generator":
            events = read_spike_times(base / p.times, p.size, dt, what)
        stepped = isinstance(p.current, StepCurrent)
        pops[p.name] = dict(name=p.name, neuron=neuron, shape=(p.size,), v0=_v0(p, rng),
                            drive=0.0 if stepped else float(p.current), params=params,
                            initial=initial, events=events,
                            drive_steps=_drive_steps(p.current, p.size, dt) if stepped
                            else None, background=[])
    sizes = {p.name: p.size for p in spec.populations}

    def lower_projection(q: int):
        """Projection ``q``: a background drive ``(post, Background)`` or a Projection. Each
        draws from its own stream, so projections may be lowered in any order, at once."""
        proj = spec.projections[q]
        n_pre, n_post = sizes[proj.pre], sizes[proj.post]
        prng = np.random.default_rng(proj.seed if proj.seed is not None else proj_seqs[q])
        if proj.pre not in pops:  # from a poisson_generator
            gen = spec.population(proj.pre)
            rate = drawn[proj.pre].get("rate", np.full(n_pre, gen.neuron.rate))
            return proj.post, Background(
                name=proj.label, target=proj.target, synapse=proj.synapse,
                rate=_target_rates(proj, rate, n_post, prng), weight=float(proj.weight),
                key=stream_key(seed, _label(proj.post), _label(proj.label)))
        if connectivity is not None and q in connectivity:
            conn = connectivity[q]
        else:
            conn = connect(proj, n_pre, n_post, prng)
        n_syn = conn.n_synapses
        if isinstance(proj.weight, tuple):
            pre, post = conn.pairs()
            w = np.asarray(proj.weight, dtype=np.float64)[pre, post]
        elif isinstance(proj.weight, Dist) and proj.weight.dist != "constant":
            w = draw(proj.weight, prng, n_syn)
        else:  # one value, broadcast: the builder stores it once (PROJ_SHARED)
            value = proj.weight.value if isinstance(proj.weight, Dist) else proj.weight
            w = np.broadcast_to(np.float64(value), (n_syn,))
        delays = None
        if isinstance(proj.delay, Dist):
            ms = draw(proj.delay, prng, n_syn)
            if ms.size and ms.min() < 0:
                raise SpecError(f"{where}projection {q} ({proj.label}): delay: drew a "
                                "negative delay; bound the distribution (min = 0.0)")
            delays = _packed_delay_steps(ms, dt)
            delay = int(delays.min(initial=1))
        else:
            delay = delay_steps(proj.delay, dt)
        common = dict(name=proj.label, pre=proj.pre, post=proj.post, synapse=proj.synapse,
                      target=proj.target, delay=delay, weights=w, delays=delays)
        if conn.dense:
            return Projection(kind="dense", **common)
        return Projection(kind="csr", indptr=conn.indptr, indices=np.asarray(conn.indices),
                          **common)

    # NumPy's draws and sorts and the compiled CSR kernels release the GIL: on threads,
    # projections are lowered side by side, the same arrays as one by one
    order = range(len(spec.projections))
    if threads > 1 and len(spec.projections) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            lowered = list(pool.map(lower_projection, order))
    else:
        lowered = [lower_projection(q) for q in order]
    projs = []
    for item in lowered:
        if isinstance(item, Projection):
            projs.append(item)
        else:
            pops[item[0]]["background"].append(item[1])
    graph_pops = tuple(Population(**(d | {"background": tuple(d["background"])}))
                       for d in pops.values())
    return Graph(populations=graph_pops, projections=tuple(projs), dt=dt, name=spec.name,
                 source=spec.source)


#: Bytes per synapse at the peak of building and running: float32 weight, int32 index and a
#: packed delay kept, plus the drawing's temporaries. Measured: the full-scale microcircuit
#: (2.99e8 synapses) peaks at 8.84 GB, about 30 bytes per synapse.
_SYNAPSE_BYTES = 30
#: Per-neuron values besides the state rows: parameter slots, drive, counters, spike buffer.
_NEURON_EXTRA = 8


def _delay_bound(delay) -> float:
    """The largest delay (ms) a projection's ring buffer must hold: the constant, or a
    distribution's upper bound (mean + 5 std where it has none)."""
    if not isinstance(delay, Dist):
        return float(delay)
    if delay.dist == "constant":
        return float(delay.value)
    if delay.dist == "uniform":
        return float(delay.high)
    if delay.dist == "lognormal":
        return float(min(np.exp(delay.mu + 5 * delay.sigma), delay.max))
    return float(min(delay.mean + 5 * delay.std, delay.max))


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
             "pairwise_bernoulli": (proj.p or 0.0) * n_pre * n_post,
             "fixed_indegree": (proj.indegree or 0) * n_post,
             "fixed_outdegree": (proj.outdegree or 0) * n_pre,
             "fixed_total_number": proj.n or 0}[proj.connectivity]
        est.add("connectivity", n * _SYNAPSE_BYTES)
        key = (proj.post, proj.target)
        rings[key] = max(rings.get(key, 0), delay_steps(_delay_bound(proj.delay), sim.dt))
    est.add("ring buffers", sum((d + 1) * sizes[post] * 8 for (post, _), d in rings.items()))
    mon = sim.monitors
    per_step = sum(len(pr.variables) * len(pr.indices) for pr in mon.state) + len(mon.rates)
    est.add("recorders", steps * per_step * 8 + steps * 8)
    return est.check()


def _label(name: str) -> int:
    """A stream label of a name: streams follow names, not positions in the file."""
    return zlib.crc32(name.encode())


def _target_rates(proj, rate: np.ndarray, n_post: int, rng) -> np.ndarray:
    """Per-target total rate (Hz) of the generators that ``proj``'s rule connects to each
    target (all_to_all and one_to_one need no draws)."""
    if proj.connectivity == "all_to_all":
        return np.full(n_post, rate.sum())
    if proj.connectivity == "one_to_one":
        return rate.copy()
    pre, post = connect(proj, rate.size, n_post, rng).pairs()
    return np.bincount(post, weights=rate[pre], minlength=n_post)
