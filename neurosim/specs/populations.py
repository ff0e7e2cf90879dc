"""Networks of populations and projections (not layered): CUBA/COBA, recurrent E/I nets.

A model file::

    name = "cuba"

    [[populations]]
    name = "exc"
    size = 3200
    neuron = { kind = "lif", tau_m = 20.0, r_m = 100.0, v_rest = -49.0, v_th = -50.0,
               v_reset = -60.0, t_ref = 5.0 }
    v_init = { dist = "uniform", low = -60.0, high = -50.0 }
    current = 0.0                       # constant external drive (model's drive units)

    [[projections]]
    pre = "exc"
    post = "inh"
    target = "e"                        # the post-synaptic channel it feeds
    synapse = { kind = "exp_current", tau = 5.0 }
    weight = 0.0162                     # a number, or a [pre][post] array (all_to_all)
    delay = 0.0                         # ms
    connectivity = "random"             # all_to_all | one_to_one | random | fixed_indegree
    p = 0.02

    [simulation]
    dt = 0.1                            # ms
    duration = 1000.0                   # ms
    seed = 1
    [simulation.monitors]
    spikes = ["exc", "inh"]             # populations whose spikes are recorded
    rates = ["exc", "inh"]              # population rates (per step counts)
    state = [{ population = "exc", variables = ["v"], indices = [0, 1] }]

Units are those of :mod:`neurosim.specs.neurons`. Projections into the same ``(post, target)``
share one synaptic state variable, so they must use the same synapse. Errors name the file,
the population or projection and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import SpecError
from ..neurons.base import NeuronModel, neuron_from_table
from .synapses import Synapse, synapse_from_table

__all__ = ["VInit", "Population", "Projection", "StateProbe", "Monitors", "Simulation",
           "PopulationNetwork", "population_network_from_dict", "population_network_to_dict",
           "CONNECTIVITIES", "V_DISTS"]

CONNECTIVITIES = ("all_to_all", "one_to_one", "random", "fixed_indegree")
V_DISTS = ("rest", "constant", "uniform", "normal")
_TOP_KEYS = ("name", "description", "populations", "projections", "simulation")
#: Largest magnitude accepted for a potential (mV) or a weight: far beyond any biology, well
#: inside float32 (the fast path's dtype), so a typo such as 1e300 is refused, not overflowed.
_MAX_MV = 1e6
_MAX_WEIGHT = 1e30


@dataclass(frozen=True, kw_only=True)
class VInit:
    """Initial membrane potential (mV): the model's rest value, a constant, ``U(low, high)``
    or ``N(mean, std)``."""

    dist: str = "rest"
    value: float = 0.0
    low: float = 0.0
    high: float = 0.0
    mean: float = 0.0
    std: float = 0.0

    def __post_init__(self):
        for name in ("value", "low", "high", "mean", "std"):
            value = getattr(self, name)
            if not math.isfinite(value) or abs(value) > _MAX_MV:
                raise ValueError(f"{name}: must be a finite potential within +-{_MAX_MV:g} mV, "
                                 f"got {value!r}")
        if self.dist not in V_DISTS:
            raise ValueError(f"dist: must be one of {', '.join(V_DISTS)}, got {self.dist!r}")
        if self.dist == "uniform" and not self.high >= self.low:
            raise ValueError(f"high: must be >= low ({self.low}), got {self.high}")
        if self.std < 0:
            raise ValueError(f"std: must be >= 0, got {self.std}")


@dataclass(frozen=True, kw_only=True)
class Population:
    """A group of ``size`` identical neurons with a constant external drive ``current``."""

    name: str
    size: int
    neuron: NeuronModel
    v_init: VInit = field(default_factory=VInit)
    current: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: must be a non-empty string, got {self.name!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size <= 0:
            raise ValueError(f"size: must be a positive integer, got {self.size!r}")
        if not isinstance(self.neuron, NeuronModel):
            raise ValueError(f"neuron: must be a neuron model, got {self.neuron!r}")
        if not math.isfinite(self.current):
            raise ValueError(f"current: must be finite, got {self.current!r}")


@dataclass(frozen=True, kw_only=True)
class Projection:
    """Synapses from population ``pre`` to ``post`` feeding the post channel ``target``.

    ``weight`` is one number for every synapse or, with ``all_to_all``, a ``[pre][post]``
    array. ``delay`` in ms (rounded to whole steps). ``random``: each pair connected with
    probability ``p``; ``fixed_indegree``: each target gets ``indegree`` distinct sources;
    ``autapses`` allows ``i -> i`` when ``pre == post``. ``seed`` (else derived from the
    simulation seed and the projection index) draws the connectivity.
    """

    pre: str
    post: str
    synapse: Synapse
    target: str = "e"
    weight: float | tuple[tuple[float, ...], ...] = 0.0
    delay: float = 0.0
    connectivity: str = "all_to_all"
    p: float | None = None
    indegree: int | None = None
    autapses: bool = True
    seed: int | None = None
    name: str | None = None

    def __post_init__(self):
        if not isinstance(self.synapse, Synapse):
            raise ValueError(f"synapse: must be a synapse model, got {self.synapse!r}")
        if self.connectivity not in CONNECTIVITIES:
            raise ValueError(f"connectivity: must be one of {', '.join(CONNECTIVITIES)}, "
                             f"got {self.connectivity!r}")
        if not (self.delay >= 0 and math.isfinite(self.delay)):
            raise ValueError(f"delay: must be a non-negative number of ms, got {self.delay!r}")
        if self.connectivity == "random" and (self.p is None or not 0 <= self.p <= 1):
            raise ValueError(f"p: random connectivity needs 0 <= p <= 1, got {self.p!r}")
        if self.connectivity == "fixed_indegree" and (self.indegree is None
                                                      or self.indegree < 0):
            raise ValueError(f"indegree: fixed_indegree connectivity needs a non-negative "
                             f"integer, got {self.indegree!r}")
        if isinstance(self.weight, tuple) and self.connectivity != "all_to_all":
            raise ValueError("weight: an array of weights needs all_to_all connectivity")
        values = (v for row in self.weight for v in row) if isinstance(self.weight, tuple) \
            else (self.weight,)
        for v in values:
            if not (math.isfinite(v) and abs(v) <= _MAX_WEIGHT):
                raise ValueError(f"weight: every weight must be finite and within "
                                 f"+-{_MAX_WEIGHT:g}, got {v!r}")
        if self.connectivity == "random" and self.p is not None and not math.isfinite(self.p):
            raise ValueError(f"p: must be finite, got {self.p!r}")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise ValueError(f"seed: must be a non-negative integer, got {self.seed!r}")

    @property
    def label(self) -> str:
        return self.name or f"{self.pre}->{self.post}"


@dataclass(frozen=True, kw_only=True)
class StateProbe:
    """Record ``variables`` of neurons ``indices`` (population-local) every step."""

    population: str
    variables: tuple[str, ...] = ("v",)
    indices: tuple[int, ...] = (0,)


@dataclass(frozen=True, kw_only=True)
class Monitors:
    """What a simulation records: spikes and rates of named populations, chosen state."""

    spikes: tuple[str, ...] = ()
    rates: tuple[str, ...] = ()
    state: tuple[StateProbe, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Simulation:
    """Simulation settings: step ``dt`` and ``duration`` in ms, ``seed``, monitors."""

    dt: float = 0.1
    duration: float = 1000.0
    seed: int = 0
    monitors: Monitors = field(default_factory=Monitors)

    def __post_init__(self):
        if not (isinstance(self.dt, (int, float)) and self.dt > 0 and math.isfinite(self.dt)):
            raise ValueError(f"dt: must be a positive number of ms, got {self.dt!r}")
        if not (self.duration > 0 and math.isfinite(self.duration)):
            raise ValueError(f"duration: must be a positive number of ms, "
                             f"got {self.duration!r}")
        if self.duration < self.dt:
            raise ValueError(f"duration: {self.duration} ms is shorter than one step "
                             f"(dt = {self.dt} ms)")
        if self.seed < 0:
            raise ValueError(f"seed: must be a non-negative integer, got {self.seed!r}")

    @property
    def n_steps(self) -> int:
        return int(round(self.duration / self.dt))


def _err(source, what: str, fld: str, msg: str) -> SpecError:
    return SpecError(f"{source + ': ' if source else ''}{what}: {fld}: {msg}")


@dataclass(frozen=True, kw_only=True)
class PopulationNetwork:
    """Populations, projections and simulation settings; checked to fit together."""

    name: str
    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    simulation: Simulation = field(default_factory=Simulation)
    description: str = ""
    source: str | None = field(default=None, compare=False)

    def __post_init__(self):
        src = self.source
        sizes: dict[str, int] = {}
        for k, pop in enumerate(self.populations):
            if pop.name in sizes:
                raise _err(src, f"population {k} ({pop.name})", "name", "duplicate name")
            sizes[pop.name] = pop.size
            try:
                pop.neuron.check_model_dt(self.simulation.dt)
            except ValueError as err:
                raise SpecError(f"{src + ': ' if src else ''}population {k} ({pop.name}): "
                                f"neuron: {err}") from None
        if not sizes:
            raise _err(src, "populations", "populations", "at least one population is needed")
        known = ", ".join(sizes)
        channels: dict[tuple[str, str], tuple[int, Synapse]] = {}
        for k, proj in enumerate(self.projections):
            what = f"projection {k} ({proj.label})"
            for end in ("pre", "post"):
                if getattr(proj, end) not in sizes:
                    raise _err(src, what, end, f"unknown population {getattr(proj, end)!r} "
                                               f"(known: {known})")
            n_pre, n_post = sizes[proj.pre], sizes[proj.post]
            if isinstance(proj.weight, tuple):
                shape = (len(proj.weight), *{len(r) for r in proj.weight})
                if shape != (n_pre, n_post):
                    raise _err(src, what, "weight", f"array shape {shape} does not match "
                                                    f"(pre, post) = ({n_pre}, {n_post})")
            if proj.connectivity == "one_to_one" and n_pre != n_post:
                raise _err(src, what, "connectivity", f"one_to_one needs equal sizes, got "
                                                      f"{n_pre} and {n_post}")
            if proj.connectivity == "fixed_indegree":
                avail = n_pre - (0 if proj.autapses or proj.pre != proj.post else 1)
                if proj.indegree > avail:
                    raise _err(src, what, "indegree", f"{proj.indegree} exceeds the {avail} "
                                                      "available sources")
            post_model = next(p.neuron for p in self.populations if p.name == proj.post)
            if post_model.kind == "mcculloch_pitts" and proj.synapse.kind == "exp_conductance":
                raise _err(src, what, "synapse", "McCulloch-Pitts units take delta or current "
                                                 "synapses only")
            key = (proj.post, proj.target)
            if key in channels and channels[key][1] != proj.synapse:
                raise _err(src, what, "synapse", f"target {proj.target!r} of {proj.post!r} is "
                           f"fed by projection {channels[key][0]} with {channels[key][1]}; "
                           "projections into one target must share the synapse")
            channels.setdefault(key, (k, proj.synapse))
        mon = self.simulation.monitors
        for fld in ("spikes", "rates"):
            for name in getattr(mon, fld):
                if name not in sizes:
                    raise _err(src, "simulation.monitors", fld,
                               f"unknown population {name!r} (known: {known})")
        for probe in mon.state:
            if probe.population not in sizes:
                raise _err(src, "simulation.monitors.state", "population",
                           f"unknown population {probe.population!r} (known: {known})")
            pop = next(p for p in self.populations if p.name == probe.population)
            allowed = set(pop.neuron.state_vars) | {
                f"syn_{t}" for (post, t) in channels if post == pop.name}
            for var in probe.variables:
                if var not in allowed:
                    raise _err(src, "simulation.monitors.state", "variables",
                               f"{pop.name} has no variable {var!r} "
                               f"(recordable: {', '.join(sorted(allowed))})")
            for i in probe.indices:
                if not 0 <= i < pop.size:
                    raise _err(src, "simulation.monitors.state", "indices",
                               f"index {i} outside population {pop.name} of size {pop.size}")

    def population(self, name: str) -> Population:
        return next(p for p in self.populations if p.name == name)

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)


def population_network_from_dict(doc: dict, source: str | None = None) -> PopulationNetwork:
    """Build a :class:`PopulationNetwork` from a parsed TOML document (strict keys/types)."""
    from .io import table_to_dataclass

    pre = f"{source}: " if source else ""
    for key in doc:
        if key not in _TOP_KEYS:
            raise SpecError(f"{pre}{key}: unknown field (known: {', '.join(_TOP_KEYS)})")
    if not isinstance(doc.get("name", ""), str):
        raise SpecError(f"{pre}name: expected a string")
    pops_doc = doc.get("populations")
    if not isinstance(pops_doc, list):
        raise SpecError(f"{pre}populations: expected an array of tables ([[populations]])")
    pops = []
    for k, table in enumerate(pops_doc):
        if not isinstance(table, dict):
            raise SpecError(f"{pre}population {k}: expected a table, got {table!r}")
        what = f"{pre}population {k} ({table.get('name', '?')})"
        if "neuron" not in table:
            raise SpecError(f"{what}: neuron: missing (a table with a kind)")
        neuron = neuron_from_table(table["neuron"], f"{what}: neuron")
        v_init = table_to_dataclass(VInit, table.get("v_init", {}), f"{what}: v_init")
        rest = {k2: v for k2, v in table.items() if k2 not in ("neuron", "v_init")}
        pops.append(_build(Population, rest, what, neuron=neuron, v_init=v_init))
    projs = []
    proj_doc = doc.get("projections", [])
    if not isinstance(proj_doc, list):
        raise SpecError(f"{pre}projections: expected an array of tables ([[projections]])")
    for k, table in enumerate(proj_doc):
        if not isinstance(table, dict):
            raise SpecError(f"{pre}projection {k}: expected a table, got {table!r}")
        label = table.get("name") or f"{table.get('pre', '?')}->{table.get('post', '?')}"
        what = f"{pre}projection {k} ({label})"
        if "synapse" not in table:
            raise SpecError(f"{what}: synapse: missing (e.g. {{ kind = \"exp_current\", "
                            "tau = 5.0 }})")
        syn = synapse_from_table(table["synapse"], f"{what}: synapse")
        rest = {k2: v for k2, v in table.items() if k2 != "synapse"}
        weight = rest.get("weight")
        if isinstance(weight, list):
            if not all(isinstance(r, list) and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in r)
                    for r in weight):
                raise SpecError(f"{what}: weight: expected a number or a [pre][post] array of "
                                "numbers")
            rest["weight"] = tuple(tuple(float(x) for x in r) for r in weight)
        elif isinstance(weight, int) and not isinstance(weight, bool):
            rest["weight"] = float(weight)
        projs.append(_build(Projection, rest, what, synapse=syn))
    sim_doc = doc.get("simulation", {})
    if not isinstance(sim_doc, dict):
        raise SpecError(f"{pre}simulation: expected a table")
    mon_doc = sim_doc.get("monitors", {})
    if not isinstance(mon_doc, dict):
        raise SpecError(f"{pre}simulation.monitors: expected a table")
    probes = mon_doc.get("state", [])
    if not isinstance(probes, list):
        raise SpecError(f"{pre}simulation.monitors.state: expected an array of tables")
    probes = tuple(table_to_dataclass(StateProbe, t, f"{pre}simulation.monitors.state {j}")
                   for j, t in enumerate(probes))
    mon_rest = {k: v for k, v in mon_doc.items() if k != "state"}
    monitors = _build(Monitors, mon_rest, f"{pre}simulation.monitors", state=probes)
    sim_rest = {k: v for k, v in sim_doc.items() if k != "monitors"}
    simulation = _build(Simulation, sim_rest, f"{pre}simulation", monitors=monitors)
    try:
        return PopulationNetwork(name=doc.get("name", "network"),
                                 description=doc.get("description", ""),
                                 populations=tuple(pops), projections=tuple(projs),
                                 simulation=simulation, source=source)
    except SpecError:
        raise
    except (ValueError, TypeError) as err:
        raise SpecError(f"{pre}{err}") from None


def _build(cls, table: dict, prefix: str, **given):
    """``table_to_dataclass`` for the plain fields plus already-built nested ``given``."""
    import dataclasses

    from .io import table_to_dataclass

    base = table_to_dataclass(_plain_view(cls, tuple(given)), table, prefix)
    kwargs = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)
              if f.name in table}
    try:
        return cls(**kwargs, **given)
    except (ValueError, TypeError) as err:
        raise SpecError(f"{prefix}: {err}") from None


_PLAIN_CACHE: dict = {}


def _plain_view(cls, nested: tuple[str, ...]):
    """A permissive twin of ``cls`` without the nested fields and without validation, so
    that ``table_to_dataclass`` checks only keys and types of the plain fields."""
    import dataclasses
    import typing

    key = (cls, nested)
    if key not in _PLAIN_CACHE:
        hints = typing.get_type_hints(cls)
        flds = [(f.name, hints[f.name], dataclasses.field(default=None))
                for f in dataclasses.fields(cls) if f.init and f.name not in nested
                and f.name != "source"]
        _PLAIN_CACHE[key] = dataclasses.make_dataclass(f"_{cls.__name__}Table", flds,
                                                       kw_only=True)
    return _PLAIN_CACHE[key]


def _fields_dict(obj, skip=()) -> dict:
    import dataclasses

    out = {}
    for f in dataclasses.fields(obj):
        if f.name in skip or f.name == "source" or not f.init:
            continue
        value = getattr(obj, f.name)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[f.name] = value
    return out


def population_network_to_dict(spec: PopulationNetwork) -> dict:
    """The TOML document of a spec; ``population_network_from_dict`` inverts it."""
    sim = spec.simulation
    mon = sim.monitors
    return {
        "name": spec.name,
        "description": spec.description,
        "populations": [
            _fields_dict(p, skip=("neuron", "v_init"))
            | {"neuron": {"kind": p.neuron.kind} | _fields_dict(p.neuron),
               "v_init": _fields_dict(p.v_init)}
            for p in spec.populations],
        "projections": [
            _fields_dict(q, skip=("synapse",))
            | {"synapse": {"kind": q.synapse.kind} | _fields_dict(q.synapse)}
            for q in spec.projections],
        "simulation": _fields_dict(sim, skip=("monitors",)) | {"monitors": {
            "spikes": list(mon.spikes), "rates": list(mon.rates),
            "state": [_fields_dict(s) for s in mon.state]}},
    }
