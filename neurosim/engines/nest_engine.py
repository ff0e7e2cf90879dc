"""NEST as an engine: a population network's graph built in NEST, run, and returned as the one
:class:`~neurosim.spike.result.Result`.

>>> from neurosim.builder.lower import lower_populations
>>> from neurosim.specs.io import load_model
>>> from neurosim.engines import nest_engine
>>> res = nest_engine.run(lower_populations(load_model("models/cuba.toml")), 1000.0,
...                       spikes=("exc",), threads=2)  # doctest: +SKIP

Neuron models (units converted here, at the boundary: NEST uses pF, nS, pA, mV, ms):

- ``lif`` with exponential currents (or none) -> ``iaf_psc_exp`` (exact integration, as the
  native engine): ``C_m = 1000 tau_m / r_m`` pF, ``I_e = 1000 I`` pA, weights nA -> pA.
  ``iaf_psc_exp`` routes a spike by the sign of its weight to one of its two currents, so the
  population's current channels must have at most two time constants, and where there are two,
  one channel's weights must be all >= 0 and the other's all <= 0 (CUBA's E and I).
- ``lif`` with delta synapses -> ``iaf_psc_delta``; ``lif`` with exponential conductances (at
  most two channels) -> ``iaf_cond_exp`` (``g_L = 1000 / r_m`` nS, weights uS -> nS; the
  second channel's weights are sent negative, which is how NEST picks its inhibitory
  conductance; NEST integrates it with an adaptive Runge-Kutta solver, the native engine holds
  the conductances over a step, so the two agree in statistics, not spike for spike).
- ``lif`` ``refractory_input`` -> ``iaf_psc_delta``'s ``refractory_input`` (NEST's default,
  ``false``, drops delta input that arrives while the neuron is refractory).
- ``hh`` with ``rates = "traub"`` (absolute units: nF, uS, nA) and exponential conductances
  -> ``hh_cond_exp_traub`` (Brette et al. 2007's benchmark 3): ``C_m = 1000 c_m`` pF,
  ``g_Na``, ``g_K``, ``g_L`` = 1000 times the uS values, ``V_T = v_t``; its gates start at
  the native initial state. NEST integrates it with an adaptive solver and detects a spike at
  the peak above ``V_T + 30 mV`` (native: the upward crossing of ``v_th``): each action
  potential is one spike in both, not at the same step.
- Sources: ``poisson`` -> ``parrot_neuron``s fed by ``poisson_generator``s (one per distinct
  rate; NEST gives each parrot its own train); ``spike_generator`` -> ``parrot_neuron``s fed
  by one ``spike_generator`` each (their spikes come one step later than the native ones: the
  generator-to-parrot hop). A background drive (a model file's ``poisson_generator``
  projection) -> ``poisson_generator``s (one per distinct rate) connected to the targets with
  the background's weight: NEST draws an independent train per connection, as the native
  background does per neuron.
- Per-synapse delays go over synapse by synapse; ``initial`` synaptic state sets NEST's
  ``I_syn_ex``/``I_syn_in`` (pA) or ``g_ex``/``g_in`` (nS).
- ``izhikevich`` (delta synapses or none, no refractory period) -> ``izhikevich`` with
  ``consistent_integration`` (forward Euler from the start-of-step values, as here).
- ``adex`` -> ``aeif_psc_exp``, ``aeif_psc_delta`` or ``aeif_cond_exp`` (NEST's adaptive
  solver against the native forward Euler: statistics agree, spike times do not).

Refused by name (a :class:`~neurosim.errors.SpecError` naming the population or projection
and the field): ``if``, ``alif``, ``hh`` with Hodgkin and Huxley's rates,
``mcculloch_pitts``; stepped currents; ``lif`` with
``interpolate = true`` or ``reset = "subtract"``; a population mixing synapse kinds; the
refusals of :func:`neurosim.engines.common.check_graph` (convolution and pooling projections,
same-step projections, input sources).

The time grid. NEST stamps a spike with the end of the step in which it happened, neurosim
with its start, so a NEST time ``t`` is step ``round(t / dt) - 1``. Thresholds are ``v >=
v_th`` in both. Refractoriness: NEST holds ``v`` for ``round(t_ref / dt)`` steps after the
spike step, neurosim (Brian2's rule) one step fewer, so NEST gets ``t_ref - dt``.
Delays: a graph delay of ``d`` steps acts on the membrane ``d`` steps after the spike; a NEST
current or conductance input with delay ``D`` steps acts ``D + 1`` steps after it. So NEST
gets ``(d - 1) dt``, except that NEST's minimum delay is one step: **graph delay 1** (a model
file's ``delay = 0``, Brian2's delay 0) **becomes NEST's minimum delay, one step later than
in the native engine**. A delta input with delay ``D`` acts in step ``D`` itself, before the
threshold test and without the step's decay the native engine gives it, so it gets delay
``d dt`` and weight ``w exp(-dt / tau_m)``: exact. (Delta input arriving while the neuron is
refractory is dropped by NEST and kept by the native engine.)

Two ways in: :func:`run` hands NEST the graph's synapses one by one (the very network of the
native engine: the agreement tests), :func:`run_rules` a model file's projections as NEST's
own connection rules and distributions (NEST draws the synapses: how a NEST user builds the
model, and how ``scripts/bench_networks.py`` times NEST).

Threads and processes: ``threads`` sets NEST's ``local_num_threads``; ``OMP_WAIT_POLICY`` is
set to ``PASSIVE`` when unset (NEST's OpenMP threads otherwise spin on a shared machine).
Under ``mpirun`` with an MPI-enabled NEST every process builds the same network, NEST keeps
its share of the neurons, and the recorded events are gathered to every process (mpi4py).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from ..builder.model import Built
from ..errors import SpecError
from ..graph import Graph
from ..spike.result import Result
from .common import population_values, prepare, spike_result, where

__all__ = ["run", "run_rules", "nest_model", "root_process"]


def _import_nest():
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        import nest
    except ImportError as err:
        raise SpecError("--engine nest: NEST is not installed (pip install "
                        "'neurosim-snn[nest]', or an MPI-enabled NEST for clusters)") from err
    return nest


def root_process() -> bool:
    """Whether this is NEST's process 0 (the one that writes files under ``mpirun``); True
    when NEST is not loaded."""
    import sys

    nest = sys.modules.get("nest")
    return nest is None or nest.Rank() == 0


def _channels(built: Built, pop_name: str):
    """``[(target, synapse, [projection indices])]`` feeding population ``pop_name``."""
    out: dict[str, tuple] = {}
    for q, pj in enumerate(built.graph.projections):
        if pj.post == pop_name:
            out.setdefault(pj.target, (pj.synapse, []))[1].append(q)
    for bgd in built.graph.population(pop_name).background:
        out.setdefault(bgd.target, (bgd.synapse, []))
    return [(t, syn, qs) for t, (syn, qs) in out.items()]


class _Mapping:
    """How one population goes to NEST: model name, parameters (scalars or per-neuron
    arrays), and per channel target ``(weight factor per post neuron, delay shift)``;
    ``record``: native variable -> (NEST recordable, factor)."""

    def __init__(self, model, params, route, record):
        self.model = model
        self.params = params
        self.route = route
        self.record = record
        #: initial conductances NEST cannot set: ``{"g_ex": (nS per neuron, tau)}``, given as
        #: one event per neuron at the earliest time
        self.kicks = {}


def _ref_ms(t_ref, dt):
    steps = np.rint(np.asarray(t_ref) / dt).astype(np.int64)
    return np.maximum(steps - 1, 0) * dt


def _weights_of(built, qs, background=()):
    """Every weight into a channel: its projections' and its background drives'."""
    return np.concatenate([built.pairs(q)[2] for q in qs] + [np.array([b.weight])
                                                            for b in background] + [[]])


def _current_channels(built, pop, chans, what, prefix):
    """Assign current channels to NEST's ``ex``/``in`` currents by weight sign (module doc);
    ``(tau_ex, tau_in, {target: "ex"|"in"})``."""
    taus = sorted({syn.tau for _, syn, _ in chans})
    if not taus:
        return 2.0, 2.0, {}
    if len(taus) == 1:
        return taus[0], taus[0], {t: "ex" for t, _, _ in chans}
    if len(taus) > 2:
        raise SpecError(f"{what}: synapse: NEST's {prefix} has two synaptic currents, got "
                        f"{len(taus)} time constants ({', '.join(map(str, taus))} ms)")
    side = {}
    for target, syn, qs in chans:
        w = _weights_of(built, qs, [b for b in pop.background if b.target == target])
        if np.all(w >= 0):
            side[syn.tau] = side.get(syn.tau, set()) | {"ex"}
        elif np.all(w <= 0):
            side[syn.tau] = side.get(syn.tau, set()) | {"in"}
        else:
            side[syn.tau] = {"mixed"}
    ok = {frozenset(side[taus[0]]), frozenset(side[taus[1]])} == {frozenset({"ex"}),
                                                                    frozenset({"in"})}
    if not ok:
        raise SpecError(f"{what}: synapse: NEST's {prefix} routes a spike by the sign of its "
                        "weight, so with two time constants one channel's weights must be all "
                        ">= 0 and the other's all <= 0")
    tau_of = {next(iter(side[tau])): tau for tau in taus}
    return tau_of["ex"], tau_of["in"], {
        t: ("ex" if syn.tau == tau_of["ex"] else "in") for t, syn, _ in chans}


def nest_model(built: Built, k: int) -> _Mapping:
    """The NEST model and parameters of population ``k`` (module doc), or a SpecError."""
    g = built.graph
    pop = g.populations[k]
    dt = built.dt
    what = f"{where(g)}population {k} ({pop.name})"
    nrn = pop.neuron
    if nrn.kind in ("poisson", "spike_generator"):
        return _Mapping("parrot_neuron", {}, {}, {})
    if pop.drive_steps is not None:
        raise SpecError(f"{what}: current: stepped currents run natively (the nest engine "
                        "takes constant currents)")
    chans = _channels(built, pop.name)
    kinds = {syn.kind for _, syn, _ in chans}
    if len(kinds) > 1:
        raise SpecError(f"{what}: synapse: NEST's models take one kind of synapse per "
                        f"population, got {', '.join(sorted(kinds))}")
    kind = kinds.pop() if kinds else "exp_current"
    v0 = np.asarray(pop.v0 if pop.v0 is not None else np.full(pop.size, nrn.v_initial))
    drive = np.broadcast_to(np.asarray(pop.drive, np.float64), (pop.size,))
    ones = np.ones(pop.size)
    if nrn.kind == "lif":
        if nrn.interpolate:
            raise SpecError(f"{what}: neuron: interpolate: NEST's LIF models count refractory "
                            "periods in whole steps; interpolated LIF runs natively only")
        if nrn.reset != "potential":
            raise SpecError(f"{what}: neuron: reset: NEST's LIF models reset to a potential; "
                            f"reset = {nrn.reset!r} runs natively and in Brian2")
        p = population_values(pop, ("tau_m", "r_m", "v_rest", "v_th", "v_reset", "t_ref"))
        params = {"C_m": 1000.0 * p["tau_m"] / p["r_m"], "tau_m": p["tau_m"],
                  "E_L": p["v_rest"], "V_th": p["v_th"], "V_reset": p["v_reset"],
                  "t_ref": _ref_ms(p["t_ref"], dt), "I_e": 1000.0 * drive, "V_m": v0}
        if kind == "delta":
            scale = np.exp(-dt / p["tau_m"])
            params["refractory_input"] = bool(nrn.refractory_input)
            return _Mapping("iaf_psc_delta", params, {t: (scale, 0) for t, _, _ in chans},
                            {"v": ("V_m", 1.0)})
        if kind == "exp_current":
            tau_ex, tau_in, side = _current_channels(built, pop, chans, what, "iaf_psc_exp")
            params |= {"tau_syn_ex": tau_ex, "tau_syn_in": tau_in}
            merged = len(set(side.values())) < len(side)
            for t, sd in side.items():
                if f"syn_{t}" in pop.initial and not merged:
                    params[f"I_syn_{sd}"] = 1000.0 * np.asarray(pop.initial[f"syn_{t}"])
            record = {"v": ("V_m", 1.0)}
            if not merged:
                record |= {f"syn_{t}": (f"I_syn_{s}", 1e-3) for t, s in side.items()}
            return _Mapping("iaf_psc_exp", params,
                            {t: (1000.0 * ones, -1) for t in side}, record)
        params = {k: v for k, v in params.items() if k != "tau_m"}  # tau_m = C_m / g_L
        return _conductance_mapping("iaf_cond_exp", params | {"g_L": 1000.0 / p["r_m"]},
                                    chans, built, what, pop)
    if nrn.kind == "hh" and nrn.rates == "traub":
        if kind != "exp_conductance" and chans:
            raise SpecError(f"{what}: synapse: NEST's hh_cond_exp_traub takes exponential "
                            f"conductances, got {kind}")
        if nrn.phi != 1.0:
            raise SpecError(f"{what}: neuron: temperature: NEST's hh_cond_exp_traub has no "
                            "temperature factor; use temperature = 6.3")
        p = population_values(pop, ("c_m", "g_na", "g_k", "g_l", "e_na", "e_k", "e_l", "v_t"))
        a = int(built.model.pop[k, 0])
        x0 = built.x0[:, a:a + pop.size]
        params = {"C_m": 1000.0 * p["c_m"], "g_Na": 1000.0 * p["g_na"],
                  "g_K": 1000.0 * p["g_k"], "g_L": 1000.0 * p["g_l"], "E_Na": p["e_na"],
                  "E_K": p["e_k"], "E_L": p["e_l"], "V_T": p["v_t"], "I_e": 1000.0 * drive,
                  "V_m": v0, "Act_m": x0[1], "Inact_h": x0[2], "Act_n": x0[3]}
        return _conductance_mapping("hh_cond_exp_traub", params, chans, built, what, pop)
    if nrn.kind == "izhikevich":
        if kind != "delta" and chans:
            raise SpecError(f"{what}: synapse: NEST's izhikevich takes delta synapses only, "
                            f"got {kind}")
        p = population_values(pop, ("a", "b", "c", "d", "v_peak", "t_ref"))
        if np.any(p["t_ref"] > 0):
            raise SpecError(f"{what}: neuron: t_ref: NEST's izhikevich has no refractory "
                            "period; use t_ref = 0")
        params = {"a": p["a"], "b": p["b"], "c": p["c"], "d": p["d"], "V_th": p["v_peak"],
                  "V_m": v0, "U_m": p["b"] * v0, "I_e": drive.copy(),
                  "consistent_integration": True}
        return _Mapping("izhikevich", params, {t: (ones, 0) for t, _, _ in chans},
                        {"v": ("V_m", 1.0), "u": ("U_m", 1.0)})
    if nrn.kind == "adex":
        p = population_values(pop, ("c_m", "g_l", "e_l", "v_t", "delta_t", "a", "tau_w", "b",
                                    "v_reset", "v_peak", "t_ref"))
        params = {"C_m": 1000.0 * p["c_m"], "g_L": 1000.0 * p["g_l"], "E_L": p["e_l"],
                  "V_th": p["v_t"], "Delta_T": p["delta_t"], "a": 1000.0 * p["a"],
                  "tau_w": p["tau_w"], "b": 1000.0 * p["b"], "V_reset": p["v_reset"],
                  "V_peak": p["v_peak"], "t_ref": _ref_ms(p["t_ref"], dt),
                  "I_e": 1000.0 * drive, "V_m": v0, "w": np.zeros(pop.size)}
        record = {"v": ("V_m", 1.0), "w": ("w", 1e-3)}
        if kind == "delta":
            return _Mapping("aeif_psc_delta", params, {t: (ones, 0) for t, _, _ in chans},
                            record)
        if kind == "exp_current":
            tau_ex, tau_in, side = _current_channels(built, pop, chans, what, "aeif_psc_exp")
            params |= {"tau_syn_ex": tau_ex, "tau_syn_in": tau_in}
            return _Mapping("aeif_psc_exp", params, {t: (1000.0 * ones, -1) for t in side},
                            record)
        return _conductance_mapping("aeif_cond_exp", params, chans, built, what, pop.size,
                                    record)
    raise SpecError(f"{what}: neuron: NEST has no model for {nrn.kind!r} as neurosim defines "
                    "it (the nest engine runs lif, izhikevich and adex); run it natively or "
                    "with --engine brian2")


def _conductance_mapping(model, params, chans, built, what, pop, record=None):
    if len(chans) > 2:
        raise SpecError(f"{what}: synapse: NEST's {model} has two conductances, got "
                        f"{len(chans)} conductance channels")
    route = {}
    kicks = {}
    record = dict(record or {"v": ("V_m", 1.0)})
    for (target, syn, qs), side in zip(chans, ("ex", "in")):
        if np.any(_weights_of(built, qs, [b for b in pop.background if b.target == target])
                  < 0):
            raise SpecError(f"{what}: synapse: {target}: NEST's conductances take weights "
                            ">= 0 (the sign picks the channel)")
        params |= {f"E_{side}": syn.e_rev, f"tau_syn_{side}": syn.tau}
        if f"syn_{target}" in pop.initial:
            g0 = np.asarray(pop.initial[f"syn_{target}"], np.float64)
            if np.any(g0 < 0):
                raise SpecError(f"{what}: initial: syn_{target}: NEST's conductances are >= 0 "
                                "(bound the distribution: min = 0.0)")
            if model == "hh_cond_exp_traub":  # its g_ex/g_in cannot be set: a first event
                kicks[f"g_{side}"] = (1000.0 * g0, syn.tau)
            else:
                params[f"g_{side}"] = 1000.0 * g0
        route[target] = ((1000.0 if side == "ex" else -1000.0) * np.ones(pop.size), -1)
        record[f"syn_{target}"] = (f"g_{side}", 1e-3)
    out = _Mapping(model, params, route, record)
    out.kicks = kicks
    return out


def _set(nodes, params):
    scalars, arrays = {}, {}
    for name, value in params.items():
        arr = np.asarray(value)
        if arr.ndim == 0:
            scalars[name] = value.item() if hasattr(value, "item") else value
        elif np.all(arr == arr.flat[0]):
            scalars[name] = arr.flat[0].item()
        else:
            arrays[name] = arr.astype(np.float64).tolist()
    nodes.set(scalars)
    if arrays:
        nodes.set(arrays)


def _gather(nest, *arrays):
    """Each array concatenated over NEST's MPI processes (itself in one process)."""
    if nest.NumProcesses() == 1:
        return arrays
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise SpecError("--engine nest under mpirun needs mpi4py to gather the recorded "
                        "events") from err
    comm = MPI.COMM_WORLD
    return tuple(np.concatenate(comm.allgather(np.asarray(a))) for a in arrays)


def run(graph_or_built: Graph | Built, duration: float, *, spikes=(), rates=(), state=(),
        threads: int = 1, progress: bool = False) -> Result:
    """Run a population network in NEST for ``duration`` ms; monitors as
    :class:`neurosim.spike.population.Simulator` takes them (``state``: ``(population,
    variables, local indices)``). Every synapse of the graph goes over as it is (the same
    network as the native engine's). Timings: ``build`` (network in NEST), ``run``
    (``nest.Simulate``)."""
    t0 = time.perf_counter()
    built, n_steps = prepare(graph_or_built, duration, threads, "nest")
    g = built.graph
    nest, maps, nodes, first = _create(built, threads, progress)
    state_req = _state_requests(built, maps, state)
    names = [p.name for p in g.populations]
    for q, pj in enumerate(g.projections):
        pre, post, w = built.pairs(q)
        if pre.size == 0:
            continue
        factor, shift = maps[names.index(pj.post)].route[pj.target]
        delays = np.maximum(built.delays(q) + shift, 1) * built.dt
        nest.Connect(np.asarray(first[pj.pre] + pre, np.int64),
                     np.asarray(first[pj.post] + post, np.int64), "one_to_one",
                     syn_spec={"weight": np.asarray(w * factor[post], np.float64),
                               "delay": delays})
    return _simulate(nest, built, n_steps, maps, nodes, first, t0, spikes=spikes, rates=rates,
                     state_req=state_req)


def run_rules(spec, duration: float, *, seed: int | None = None, spikes=(), rates=(),
              threads: int = 1, progress: bool = False) -> Result:
    """Run a population network's model file (a
    :class:`~neurosim.specs.populations.PopulationNetwork`) in NEST with **NEST's own
    connection rules**: each projection is one ``nest.Connect`` with its rule
    (``pairwise_bernoulli``, ``fixed_indegree``, ``fixed_outdegree``,
    ``fixed_total_number``, ``one_to_one``, ``all_to_all``, with ``allow_autapses`` and
    ``allow_multapses``) and its weights and delays as NEST parameters
    (``nest.random.normal`` under ``nest.math.redraw`` or ``nest.math.min``/``max`` for the
    clipped normal, ``uniform``, ``lognormal``), as a NEST user writes the model. NEST draws
    the connectivity (seeded from the model's seed), so the network has the statistics of
    the native one, not its synapses; neurons, initial states, sources and background drives
    are those of :func:`run`. This is how NEST is timed and its memory measured
    (``scripts/bench_networks.py``): no synapse passes through Python. ``build`` is the
    populations' lowering plus NEST's Create and Connect; synaptic operations are spikes
    times each projection's expected fan-out. A projection given as a weight matrix, or into
    neurons whose weight factor differs from neuron to neuron, is refused by name."""
    from ..builder.connectivity import connectivity_from_pairs
    from ..builder.lower import expected_synapses, lower_populations

    t0 = time.perf_counter()
    sizes = {p.name: p.size for p in spec.populations}
    gens = {p.name for p in spec.populations if p.neuron.kind == "poisson_generator"}
    # each projection lowered on a sample of min(n_pre, n_post, 1000) one-to-one synapses:
    # its weights' signs and scale choose NEST's channels as the full projection's would
    sample = {}
    for q, proj in enumerate(spec.projections):
        if proj.pre in gens:
            continue
        if isinstance(proj.weight, tuple):
            raise SpecError(f"{_where_spec(spec)}projection {q} ({proj.label}): weight: NEST's "
                            "rules take a number or a distribution, not a matrix")
        k = np.arange(min(sizes[proj.pre], sizes[proj.post], 1000))
        sample[q] = connectivity_from_pairs(sizes[proj.pre], sizes[proj.post], k, k)
    graph = lower_populations(spec, seed=seed, connectivity=sample)
    built, n_steps = prepare(graph, duration, threads, "nest")
    nest, maps, nodes, first = _create(built, threads, progress, rng_seed=1 + (
        spec.simulation.seed if seed is None else seed) % (2 ** 31 - 2))
    names = [p.name for p in graph.populations]
    fan_out = {}
    # NEST holds at most 2^27 - 2 synapses per thread and synapse model (the full-scale
    # microcircuit has 3e8): a fresh copy of static_synapse whenever one would fill up
    syn_model, held = "static_synapse", 0.0
    for q, proj in enumerate(spec.projections):
        if proj.pre in gens:
            continue
        expected = expected_synapses(proj, sizes[proj.pre], sizes[proj.post])
        if held + expected > 0.8 * _NEST_MAX_SYNAPSES * threads:
            syn_model, held = f"neurosim_static_{q}", 0.0
            nest.CopyModel("static_synapse", syn_model)
        held += expected
        what = f"{_where_spec(spec)}projection {q} ({proj.label})"
        factor, shift = maps[names.index(proj.post)].route[proj.target]
        factor = np.asarray(factor, np.float64)
        if factor.size and np.ptp(factor) > 0:
            raise SpecError(f"{what}: weight: NEST's rules take one weight factor, but the "
                            "targets' differ neuron by neuron; run it with nest_engine.run")
        f = float(factor.flat[0]) if factor.size else 1.0
        conn = _conn_spec(proj, what)
        syn = {"synapse_model": syn_model,
               "weight": _parameter(nest, proj.weight, f),
               "delay": _delay_parameter(nest, proj.delay, shift, built.dt)}
        nest.Connect(nodes[proj.pre], nodes[proj.post], conn, syn)
        fan_out[proj.label] = expected / max(sizes[proj.pre], 1)
    res = _simulate(nest, built, n_steps, maps, nodes, first, t0, spikes=spikes, rates=rates,
                    state_req=[])
    return _with_fan_out(res, graph, fan_out)


def _where_spec(spec) -> str:
    return f"{spec.source}: " if getattr(spec, "source", None) else ""


#: Synapses NEST holds per thread (virtual process) and synapse model.
_NEST_MAX_SYNAPSES = 134_217_726

#: NEST's keys of each rule (``pairwise_bernoulli`` never makes multapses).
_RULE_KEYS = {"pairwise_bernoulli": ("p",), "random": ("p",),
              "fixed_indegree": ("indegree",), "fixed_outdegree": ("outdegree",),
              "fixed_total_number": ("N",), "one_to_one": (), "all_to_all": ()}


def _conn_spec(proj, what: str) -> dict:
    rule = proj.connectivity
    if rule not in _RULE_KEYS:
        raise SpecError(f"{what}: connectivity: NEST has no rule {rule!r}")
    value = {"p": proj.p, "indegree": proj.indegree, "outdegree": proj.outdegree,
             "N": proj.n}
    out = {"rule": "pairwise_bernoulli" if rule == "random" else rule,
           "allow_autapses": bool(proj.allow_autapses)}
    for key in _RULE_KEYS[rule]:
        out[key] = float(value[key]) if key == "p" else int(value[key])
    if rule in ("fixed_indegree", "fixed_outdegree"):
        out["allow_multapses"] = bool(proj.allow_multapses)
    elif rule == "fixed_total_number" and not proj.allow_multapses:
        raise SpecError(f"{what}: allow_multapses: NEST's fixed_total_number cannot refuse "
                        "multapses; run it with nest_engine.run (neurosim's synapses)")
    if rule == "one_to_one":
        del out["allow_autapses"]
    return out


def _parameter(nest, value, factor: float = 1.0, shift: float = 0.0):
    """``factor * X + shift`` as a NEST value: a float, or NEST's parameter of the
    distribution ``X`` (:class:`~neurosim.specs.distributions.Dist`, its bounds applied to
    ``X`` as the native draw applies them) times ``factor``, plus ``shift``."""
    from ..specs.distributions import Dist

    if not isinstance(value, Dist):
        return factor * float(value) + shift
    d = value
    if d.dist == "constant":
        return factor * d.value + shift
    if d.dist == "uniform":
        p = nest.random.uniform(min=d.low, max=d.high)
    elif d.dist == "lognormal":
        p = nest.random.lognormal(mean=d.mu, std=d.sigma)
    else:
        p = nest.random.normal(mean=d.mean, std=d.std)
        if d.dist == "normal_redraw":
            p = nest.math.redraw(p, min=d.min, max=d.max)
        elif d.dist == "normal_clipped":
            if math.isfinite(d.min):
                p = nest.math.max(p, d.min)
            if math.isfinite(d.max):
                p = nest.math.min(p, d.max)
    if factor != 1.0:
        p = factor * p
    return p + shift if shift else p


def _delay_parameter(nest, delay, shift: int, dt: float):
    """NEST's delay (ms) of a model-file delay (ms, a number or a distribution): the graph's
    ``round(D / dt) + 1`` steps less NEST's one (module doc, the time grid) plus the
    channel's ``shift``, at least one step; NEST rounds it to its grid."""
    p = _parameter(nest, delay, 1.0, (1 + shift) * dt)
    if isinstance(p, float):
        return max(p, dt)
    return nest.math.max(p, dt)


def _with_fan_out(res: Result, graph: Graph, fan_out: dict) -> Result:
    """``res`` with each projection's synaptic operations = its pre population's spikes
    times the projection's expected fan-out."""
    import dataclasses

    spikes = {x.name: x.spikes for x in res.op_counts.layers if x.neurons}
    pre_of = {pj.name: pj.pre for pj in graph.projections}
    rows = tuple(dataclasses.replace(x, sops=spikes[pre_of[x.name]] * fan_out[x.name])
                 if x.name in fan_out else x for x in res.op_counts.layers)
    return dataclasses.replace(res, op_counts=dataclasses.replace(res.op_counts, layers=rows))


def _create(built: Built, threads: int, progress: bool, rng_seed: int | None = None):
    """NEST's kernel reset (its random seed ``rng_seed`` when given) and the populations
    created with their parameters: ``(nest, mappings, nodes, first global id)`` per
    population name."""
    g = built.graph
    maps = [nest_model(built, k) for k in range(len(g.populations))]
    nest = _import_nest()
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": built.dt, "local_num_threads": threads,
                          "print_time": bool(progress)})
    if rng_seed is not None:
        nest.SetKernelStatus({"rng_seed": int(rng_seed)})
    nodes, first = {}, {}
    for pop, m in zip(g.populations, maps):
        nc = nest.Create(m.model, pop.size)
        _set(nc, m.params)
        nodes[pop.name] = nc
        first[pop.name] = int(nc.global_id if pop.size == 1 else nc[0].global_id)
    return nest, maps, nodes, first


def _simulate(nest, built, n_steps, maps, nodes, first, t0, *, spikes, rates,
              state_req) -> Result:
    """Inputs, recorders and meters (``state_req``: :func:`_state_requests`) connected,
    ``n_steps`` simulated, the events read back into the :class:`Result` (``t0``: when the
    build started)."""
    g = built.graph
    dt = built.dt
    for pop, m in zip(g.populations, maps):
        _connect_inputs(nest, built, pop, m, nodes[pop.name], dt)
    recorders = {}
    for pop in g.populations:
        sr = nest.Create("spike_recorder")
        nest.Connect(nodes[pop.name], sr)
        recorders[pop.name] = sr
    meters = []
    for pop_name, local, _, recordables in state_req:
        mm = nest.Create("multimeter", params={"record_from": recordables, "interval": dt})
        nest.Connect(mm, nodes[pop_name][sorted(set(local.tolist()))])
        meters.append(mm)
    t1 = time.perf_counter()
    # a multimeter hands over its last min_delay of samples in the next slice only: run
    # that much longer when state is recorded, and keep the first n_steps steps
    extra = nest.GetKernelStatus("min_delay") if meters else 0.0
    nest.Simulate(n_steps * dt + extra)
    t2 = time.perf_counter()
    steps = {}
    for pop in g.populations:
        ev = recorders[pop.name].get("events")
        senders, times = _gather(nest, ev["senders"], ev["times"])
        st = np.rint(np.asarray(times) / dt).astype(np.int64) - 1
        keep = st < n_steps
        steps[pop.name] = (np.asarray(senders, np.int64)[keep] - first[pop.name], st[keep])
    out_state, out_idx = {}, {}
    for (pop_name, local, names, recordables), mm in zip(state_req, meters):
        ev = mm.get("events")
        got = _gather(nest, ev["senders"], ev["times"], *(ev[r] for r in recordables))
        col = np.rint(np.asarray(got[1]) / dt).astype(np.int64)
        row_of = {int(i): r for r, i in enumerate(local)}
        pop_k = [p.name for p in g.populations].index(pop_name)
        for (var, (_, factor)), values in zip(names, got[2:]):
            arr = np.full((local.size, n_steps), np.nan)
            arr[:, 0] = _initial(built, pop_k, var, local)
            keep = (col >= 1) & (col < n_steps)
            rows = np.array([row_of[int(s)] for s in np.asarray(got[0])[keep] - first[pop_name]],
                            np.int64)
            arr[rows, col[keep]] = np.asarray(values)[keep] * factor
            out_state.setdefault(pop_name, {})[var] = arr
        out_idx[pop_name] = local
    timings = {"build": t1 - t0, "compile": 0.0, "run": t2 - t1}
    return spike_result(built, n_steps, steps, spikes=spikes, rates=rates, state=out_state,
                        state_indices=out_idx, timings=timings)


def _by_rate(nest, rate, nodes, weight, dt):
    """Poisson generators into ``nodes``: one per distinct rate (Hz), each connected
    all-to-all (NEST draws an independent train per connection)."""
    rate = np.asarray(rate, np.float64)
    for r in np.unique(rate):
        if r <= 0:
            continue
        gen = nest.Create("poisson_generator", params={"rate": float(r)})
        members = np.flatnonzero(rate == r)
        targets = nodes if members.size == len(nodes) else nodes[members.tolist()]
        nest.Connect(gen, targets, "all_to_all",
                     syn_spec={"weight": float(weight), "delay": dt})


def _connect_inputs(nest, built, pop, m, nodes, dt):
    """NEST's devices for a population's sources and background drives (module doc)."""
    if pop.neuron.kind == "poisson":
        _by_rate(nest, population_values(pop, ("rate",))["rate"], nodes, 1.0, dt)
    elif pop.neuron.kind == "spike_generator":
        ptr, steps = pop.events
        gens = nest.Create("spike_generator", pop.size)
        for j in range(pop.size):
            st = steps[ptr[j]:ptr[j + 1]]
            if st.size:
                gens[j].set({"spike_times": np.unique(st + 1).astype(np.float64) * dt})
        nest.Connect(gens, nodes, "one_to_one", syn_spec={"weight": 1.0, "delay": dt})
    if m.kicks:
        # an event at NEST's first step and minimum delay arrives two steps in: its weight
        # is the initial conductance decayed over those two steps
        gen = nest.Create("spike_generator", params={"spike_times": [dt]})
        ids = np.asarray(nodes.tolist(), np.int64)
        for name, (g0, tau) in m.kicks.items():
            sign = 1.0 if name == "g_ex" else -1.0
            nest.Connect(np.full(ids.size, gen.global_id, np.int64), ids, "one_to_one",
                         syn_spec={"weight": sign * g0 * np.exp(-2.0 * dt / tau),
                                   "delay": np.full(ids.size, dt)})
    for bgd in pop.background:
        factor, _ = m.route[bgd.target]
        w = bgd.weight * np.asarray(factor)
        if np.all(w == w.flat[0]):
            _by_rate(nest, bgd.rate, nodes, float(w.flat[0]), dt)
        else:  # per-neuron factor (delta input scaled by each neuron's decay): one by one
            rate = np.asarray(bgd.rate, np.float64)
            for j in np.flatnonzero(rate > 0):
                gen = nest.Create("poisson_generator", params={"rate": float(rate[j])})
                nest.Connect(gen, nodes[int(j)], syn_spec={"weight": float(w[j]),
                                                           "delay": dt})


def _state_requests(built, maps, state):
    """``[(population, local indices, [(variable, (recordable, factor))], recordables)]``;
    a SpecError naming what NEST cannot record."""
    names = [p.name for p in built.graph.populations]
    out = []
    for pop_name, variables, indices in state:
        m = maps[names.index(pop_name)]
        pairs = []
        for var in variables:
            if var not in m.record:
                raise SpecError(f"simulation.monitors.state: variables: NEST's {m.model} "
                                f"cannot record {var!r} of {pop_name} (recordable there: "
                                f"{', '.join(m.record)})")
            pairs.append((var, m.record[var]))
        local = np.asarray(indices, np.int64)
        if np.unique(local).size != local.size:
            raise SpecError(f"simulation.monitors.state: indices: NEST records each neuron "
                            f"of {pop_name} once; the indices repeat")
        out.append((pop_name, local, pairs, sorted({r for _, (r, _) in pairs})))
    # multimeter events come back per recordable name: keep the names' order
    return [(p, loc, pairs, [r for _, (r, _) in pairs]) for p, loc, pairs, _ in out]


def _initial(built, k, var, local):
    """Value of ``var`` at the start of step 0 (NEST's multimeter records from step 1 on)."""
    a = int(built.model.pop[k, 0])
    model = built.pop_models[k]
    if var.startswith("syn_"):
        return np.zeros(local.size)
    return built.x0[model.ROWS.index(var), a + local] if var in model.ROWS else math.nan
