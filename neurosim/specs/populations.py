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
    weight = 0.0162                     # a number, a distribution table, or a [pre][post]
                                        # array (all_to_all)
    delay = 0.0                         # ms: a number or a distribution table
    connectivity = "pairwise_bernoulli" # NEST's rules (below)
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

Connection rules (NEST's names and meaning; ``allow_autapses`` and ``allow_multapses`` as in
NEST, both ``true`` by default): ``pairwise_bernoulli`` (each ordered pair with probability
``p``; ``random`` is the same rule under Brian2's name; never multapses),
``fixed_indegree`` (``indegree`` sources per target), ``fixed_outdegree`` (``outdegree``
targets per source), ``fixed_total_number`` (``n`` synapses, pairs drawn uniformly),
``one_to_one``, ``all_to_all``. Weights and delays are numbers or distributions
(:mod:`neurosim.specs.distributions`); delays are rounded to whole steps.

Heterogeneity and inputs of a population:

- ``params = { tau_m = { dist = "uniform", low = 9.0, high = 11.0 }, v_th = [...] }``:
  per-neuron parameters, each a number, an array of the population's size or a distribution;
- ``initial = { syn_e = { dist = "normal", mean = 0.04, std = 0.015 } }``: initial values of
  state rows other than ``v`` (``v_init``) and of synaptic channels ``syn_<target>``;
- ``current``: a constant drive, or a stepped one ``{ times = [0.0, 50.0], amplitudes =
  [0.0, 0.2] }`` (ms, the model's drive units: NEST's ``step_current_generator``);
- source models (:mod:`neurosim.neurons.sources`): ``poisson_generator`` (NEST's device: every
  synapse from it carries an independent Poisson train, so a background drive costs no
  synapse storage), ``poisson`` (Poisson spiking neurons) and ``spike_generator`` (spike
  times read from a file).

Variants (``[variants.NAME]``): a table that overrides fields of named populations and
projections, ``populations.NAME.FIELD`` and ``projections.NAME.FIELD``; ``variant = "NAME"``
at the top picks the default and :func:`neurosim.specs.io.load_model` (``variant=``) another.
``[scaling]`` holds what ``--scale`` needs (:mod:`neurosim.builder.scaling`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import SpecError
from ..neurons.base import NeuronModel, neuron_from_table
from .distributions import Dist, dist_to_toml, value_from_toml
from .synapses import Synapse, synapse_from_table

__all__ = ["VInit", "StepCurrent", "Population", "Projection", "StateProbe", "Monitors",
           "Simulation", "Scaling", "PopulationNetwork", "population_network_from_dict",
           "population_network_to_dict", "apply_variant", "CONNECTIVITIES", "V_DISTS"]

CONNECTIVITIES = ("all_to_all", "one_to_one", "pairwise_bernoulli", "random", "fixed_indegree",
                  "fixed_outdegree", "fixed_total_number")
V_DISTS = ("rest", "constant", "uniform", "normal")
#: Neuron kinds that are inputs, not neurons (:mod:`neurosim.neurons.sources`).
SOURCE_KINDS = ("poisson_generator", "poisson", "spike_generator")
_TOP_KEYS = ("name", "description", "populations", "projections", "simulation", "variant",
             "variants", "scaling")
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
class StepCurrent:
    """A piecewise constant drive: ``amplitudes[k]`` from ``times[k]`` (ms) on, 0 before the
    first time (NEST's ``step_current_generator``)."""

    times: tuple[float, ...]
    amplitudes: tuple[float, ...]

    def __post_init__(self):
        if len(self.times) != len(self.amplitudes) or not self.times:
            raise ValueError("current: times and amplitudes must be non-empty and of equal "
                             "length")
        if any(b <= a for a, b in zip(self.times, self.times[1:])) or self.times[0] < 0:
            raise ValueError("current: times must be >= 0 and increasing")
        if not all(math.isfinite(x) for x in self.amplitudes):
            raise ValueError("current: amplitudes must be finite")


@dataclass(frozen=True, kw_only=True)
class Population:
    """``size`` neurons of one model with a constant or stepped external drive ``current``,
    per-neuron ``params`` and ``initial`` state (numbers, arrays or
    :class:`~neurosim.specs.distributions.Dist`); ``times`` (a ``.npy``/``.npz`` file) for a
    ``spike_generator``."""

    name: str
    size: int
    neuron: NeuronModel
    v_init: VInit = field(default_factory=VInit)
    current: float | StepCurrent = 0.0
    params: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)
    times: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: must be a non-empty string, got {self.name!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size <= 0:
            raise ValueError(f"size: must be a positive integer, got {self.size!r}")
        if not isinstance(self.neuron, NeuronModel):
            raise ValueError(f"neuron: must be a neuron model, got {self.neuron!r}")
        if not isinstance(self.current, StepCurrent) and not math.isfinite(self.current):
            raise ValueError(f"current: must be finite, got {self.current!r}")
        for name, value in self.params.items():
            if isinstance(value, tuple) and len(value) != self.size:
                raise ValueError(f"params: {name}: expected {self.size} values, got "
                                 f"{len(value)}")
        if "v" in self.initial:
            raise ValueError("initial: v: the initial potential is v_init")


@dataclass(frozen=True, kw_only=True)
class Projection:
    """Synapses from population ``pre`` to ``post`` feeding the post channel ``target``.

    ``weight``: a number, a :class:`~neurosim.specs.distributions.Dist` or, with
    ``all_to_all``, a ``[pre][post]`` array. ``delay`` in ms (a number or a Dist; rounded to
    whole steps). Rules (module doc): ``pairwise_bernoulli``/``random`` (``p``),
    ``fixed_indegree`` (``indegree``), ``fixed_outdegree`` (``outdegree``),
    ``fixed_total_number`` (``n``), ``one_to_one``, ``all_to_all``; ``allow_autapses`` allows
    ``i -> i`` when ``pre == post``, ``allow_multapses`` several synapses per pair. ``seed``
    (else derived from the simulation seed and the projection index) draws connectivity,
    weights and delays.
    """

    pre: str
    post: str
    synapse: Synapse
    target: str = "e"
    weight: float | Dist | tuple[tuple[float, ...], ...] = 0.0
    delay: float | Dist = 0.0
    connectivity: str = "all_to_all"
    p: float | None = None
    indegree: int | None = None
    outdegree: int | None = None
    n: int | None = None
    allow_autapses: bool = True
    allow_multapses: bool = True
    seed: int | None = None
    name: str | None = None

    def __post_init__(self):
        if not isinstance(self.synapse, Synapse):
            raise ValueError(f"synapse: must be a synapse model, got {self.synapse!r}")
        if self.connectivity not in CONNECTIVITIES:
            raise ValueError(f"connectivity: must be one of {', '.join(CONNECTIVITIES)}, "
                             f"got {self.connectivity!r}")
        if not isinstance(self.delay, Dist) and not (self.delay >= 0
                                                     and math.isfinite(self.delay)):
            raise ValueError(f"delay: must be a non-negative number of ms, got {self.delay!r}")
        if self.connectivity in ("random", "pairwise_bernoulli") and (
                self.p is None or not 0 <= self.p <= 1):
            raise ValueError(f"p: {self.connectivity} connectivity needs 0 <= p <= 1, "
                             f"got {self.p!r}")
        for rule, fld in (("fixed_indegree", "indegree"), ("fixed_outdegree", "outdegree"),
                          ("fixed_total_number", "n")):
            value = getattr(self, fld)
            if self.connectivity == rule and (value is None or value < 0):
                raise ValueError(f"{fld}: {rule} connectivity needs a non-negative integer, "
                                 f"got {value!r}")
        if isinstance(self.weight, tuple) and self.connectivity != "all_to_all":
            raise ValueError("weight: an array of weights needs all_to_all connectivity")
        if isinstance(self.weight, Dist):  # its own check keeps every field finite
            w = self.weight
            values = (w.value, w.mean, w.std, w.low, w.high)
        elif isinstance(self.weight, tuple):
            values = (v for row in self.weight for v in row)
        else:
            values = (self.weight,)
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
class Scaling:
    """What scaling a network down needs (:mod:`neurosim.builder.scaling`): ``rates``, the
    full-scale mean rate (Hz) of each population, from which the mean input that scaled
    in-degrees remove is restored as a constant current."""

    rates: dict = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PopulationNetwork:
    """Populations, projections and simulation settings; checked to fit together."""

    name: str
    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    simulation: Simulation = field(default_factory=Simulation)
    description: str = ""
    scaling: Scaling | None = None
    variant: str | None = None
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
            self_loop = proj.pre == proj.post and not proj.allow_autapses
            for rule, fld, avail in (("fixed_indegree", "indegree", n_pre - self_loop),
                                     ("fixed_outdegree", "outdegree", n_post - self_loop)):
                if (proj.connectivity == rule and not proj.allow_multapses
                        and getattr(proj, fld) > avail):
                    raise _err(src, what, fld, f"{getattr(proj, fld)} exceeds the {avail} "
                                               "available neurons without multapses")
            if (proj.connectivity == "fixed_total_number" and not proj.allow_multapses
                    and proj.n > n_pre * n_post - self_loop * n_pre):
                raise _err(src, what, "n", f"{proj.n} exceeds the available pairs without "
                                           "multapses")
            pre_model = next(p.neuron for p in self.populations if p.name == proj.pre)
            if pre_model.kind == "poisson_generator":
                if isinstance(proj.weight, (Dist, tuple)):
                    raise _err(src, what, "weight", "a poisson_generator's synapses take one "
                               "weight (each carries its own Poisson train; a background "
                               "drive stores no synapses)")
            post_pop = next(p for p in self.populations if p.name == proj.post)
            if post_pop.neuron.kind in SOURCE_KINDS:
                raise _err(src, what, "post", f"{proj.post!r} is a source "
                           f"({post_pop.neuron.kind}); sources take no input")
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
        for k, pop in enumerate(self.populations):
            what = f"population {k} ({pop.name})"
            known_init = set(pop.neuron.ROWS[1:]) | {
                f"syn_{t}" for (post, t) in channels if post == pop.name}
            for name in pop.initial:
                if name not in known_init:
                    raise _err(src, what, "initial", f"{name}: not a state variable of "
                               f"{pop.name} (settable: {', '.join(sorted(known_init))})")
            if pop.neuron.kind == "spike_generator" and pop.times is None:
                raise _err(src, what, "times", "a spike_generator needs a file of spike times "
                                               "(.npy or .npz)")
        mon = self.simulation.monitors
        for fld in ("spikes", "rates"):
            for name in getattr(mon, fld):
                if name not in sizes:
                    raise _err(src, "simulation.monitors", fld,
                               f"unknown population {name!r} (known: {known})")
                if self.population(name).neuron.kind == "poisson_generator":
                    raise _err(src, "simulation.monitors", fld,
                               f"{name} is a poisson_generator, whose trains are drawn per "
                               "synapse; record a poisson population to see spikes")
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


def apply_variant(doc: dict, variant: str | None, source: str | None = None) -> dict:
    """The document with variant ``variant`` (else its ``variant`` key) merged in (module
    doc); the document itself when it has no variants."""
    pre = f"{source}: " if source else ""
    variants = doc.get("variants", {})
    if not isinstance(variants, dict):
        raise SpecError(f"{pre}variants: expected a table of tables ([variants.NAME])")
    name = variant if variant is not None else doc.get("variant")
    if name is None or (variant is None and "variants" not in doc):
        return doc  # no variant, or one already applied (a written-out spec names it)
    if name not in variants:
        known = ", ".join(variants) or "none"
        raise SpecError(f"{pre}variant: unknown variant {name!r} (known: {known})")
    out = {k: v for k, v in doc.items() if k != "variants"}
    out["variant"] = name
    for section, items in variants[name].items():
        if section not in ("populations", "projections", "simulation", "scaling"):
            raise SpecError(f"{pre}variants.{name}: {section}: a variant sets populations, "
                            "projections, simulation or scaling")
        if section in ("simulation", "scaling"):
            out[section] = _merged(doc.get(section, {}), items)
            continue
        tables = [dict(t) for t in doc.get(section, [])]
        for label, fields in items.items():
            hits = [k for k, t in enumerate(tables) if t.get("name") == label]
            if not hits:
                raise SpecError(f"{pre}variants.{name}: {section}.{label}: no "
                                f"{section[:-1]} named {label!r}")
            tables[hits[0]] = _merged(tables[hits[0]], fields)
        out[section] = tables
    return out


def _merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out.get(k, {}), v) if isinstance(v, dict) and isinstance(
            out.get(k), dict) else v
    return out


def _per_neuron(table, what: str) -> dict:
    """``params``/``initial`` table: name -> number, tuple of numbers or Dist."""
    if not isinstance(table, dict):
        raise SpecError(f"{what}: expected a table of name = value")
    out = {}
    for name, value in table.items():
        if isinstance(value, list):
            if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
                raise SpecError(f"{what}: {name}: expected numbers")
            out[name] = tuple(float(x) for x in value)
        else:
            out[name] = value_from_toml(value, f"{what}: {name}")
    return out


def population_network_from_dict(doc: dict, source: str | None = None, *,
                                 variant: str | None = None) -> PopulationNetwork:
    """Build a :class:`PopulationNetwork` from a parsed TOML document (strict keys/types);
    ``variant`` picks one of its ``[variants]`` (module doc)."""
    from .io import table_to_dataclass

    pre = f"{source}: " if source else ""
    for key in doc:
        if key not in _TOP_KEYS:
            raise SpecError(f"{pre}{key}: unknown field (known: {', '.join(_TOP_KEYS)})")
    doc = apply_variant(doc, variant, source)
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
        given = {"neuron": neuron, "v_init": v_init,
                 "params": _per_neuron(table.get("params", {}), f"{what}: params"),
                 "initial": _per_neuron(table.get("initial", {}), f"{what}: initial")}
        current = table.get("current", 0.0)
        if isinstance(current, dict):
            given["current"] = table_to_dataclass(StepCurrent, current, f"{what}: current")
        else:
            given["current"] = value_from_toml(current, f"{what}: current")
            if isinstance(given["current"], Dist):
                raise SpecError(f"{what}: current: a number or {{ times, amplitudes }}; "
                                "per-neuron currents are params (for a drive, I_e)")
        rest = {k2: v for k2, v in table.items() if k2 not in given}
        pops.append(_build(Population, rest, what, **given))
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
        given = {"synapse": synapse_from_table(table["synapse"], f"{what}: synapse")}
        weight = table.get("weight")
        if isinstance(weight, list):
            if not all(isinstance(r, list) and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in r)
                    for r in weight):
                raise SpecError(f"{what}: weight: expected a number, a distribution or a "
                                "[pre][post] array of numbers")
            given["weight"] = tuple(tuple(float(x) for x in r) for r in weight)
        elif weight is not None:
            given["weight"] = value_from_toml(weight, f"{what}: weight")
        if "delay" in table:
            given["delay"] = value_from_toml(table["delay"], f"{what}: delay")
        rest = {k2: v for k2, v in table.items() if k2 not in given}
        projs.append(_build(Projection, rest, what, **given))
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
    scaling = None
    if "scaling" in doc:
        sc = doc["scaling"]
        rates = sc.get("rates", {}) if isinstance(sc, dict) else None
        if not isinstance(rates, dict) or set(sc) - {"rates"} or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                for v in rates.values()):
            raise SpecError(f"{pre}scaling: expected {{ rates = {{ POPULATION = Hz, ... }} }}")
        names = {p.name for p in pops}
        for name in rates:
            if name not in names:
                raise SpecError(f"{pre}scaling: rates: unknown population {name!r}")
        scaling = Scaling(rates={k: float(v) for k, v in rates.items()})
    try:
        return PopulationNetwork(name=doc.get("name", "network"),
                                 description=doc.get("description", ""),
                                 populations=tuple(pops), projections=tuple(projs),
                                 simulation=simulation, scaling=scaling,
                                 variant=doc.get("variant"), source=source)
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
        if isinstance(value, Dist):
            out[f.name] = dist_to_toml(value)
            continue
        if isinstance(value, dict):
            out[f.name] = {k: (dist_to_toml(v) if isinstance(v, Dist) else
                               list(v) if isinstance(v, tuple) else v)
                           for k, v in value.items()}
            continue
        if isinstance(value, StepCurrent):
            out[f.name] = {"times": list(value.times), "amplitudes": list(value.amplitudes)}
            continue
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[f.name] = value
    return out


def population_network_to_dict(spec: PopulationNetwork) -> dict:
    """The TOML document of a spec; ``population_network_from_dict`` inverts it."""
    sim = spec.simulation
    mon = sim.monitors
    extra = {"scaling": {"rates": dict(spec.scaling.rates)}} if spec.scaling else {}
    if spec.variant is not None:
        extra["variant"] = spec.variant
    return extra | {
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
