"""Brian2 as an engine: a population network's graph written as Brian2 equations, run on one of
Brian2's devices, and returned as the one :class:`~neurosim.spike.result.Result`.

>>> from neurosim.builder.lower import lower_populations
>>> from neurosim.specs.io import load_model
>>> from neurosim.engines import brian2_engine
>>> res = brian2_engine.run(lower_populations(load_model("models/cuba.toml")), 1000.0,
...                         spikes=("exc",), device="cpp_standalone")  # doctest: +SKIP

Every quantity is written without Brian2 units, in neurosim's own (ms, mV, nA, MOhm, nF, uS:
the products are consistent, so ``r_m * I`` is in mV), with ``/ ms`` on each derivative.
Each model runs with the integration rule the native engine uses, so the two agree spike
for spike (within one step, where float rounding moves a crossing):

- ``lif`` / ``alif`` with current or delta synapses: ``exact`` (the coupled linear system of
  membrane, synaptic currents and adaptation); with conductances: ``exponential_euler``
  (conductances, currents and adaptation held over the step, as the native engine does);
- ``if``: ``euler`` with each current channel scaled by its exact integral over the step
  (``tau (1 - exp(-dt / tau)) / dt``), which is the exact update of a membrane linear in time
  (Brian2's ``exact`` does not take it), and conductances held over the step;
- ``izhikevich``, ``adex``: ``euler``; ``hh``: ``exponential_euler`` or ``rk4`` (its
  ``method``).

For the Euler-type models a synaptic channel is a plain variable decayed by
``exp(-dt / tau)`` after the state update of each step, as in the native engine (an ODE for
it would be integrated by the model's own rule). Thresholds are ``v >= v_th`` (the native
test, not Brian2's usual ``>``); refractoriness is Brian2's ``refractory``, whose rule the
native engine follows; HH spikes on an upward crossing (``refractory`` while ``v >= v_th``).

Delays: a graph delay of ``d`` steps is a Brian2 delay of ``(d - 1) dt`` (graph delay 1 is
Brian2's delay 0: a spike acts from the next step on). State monitors record at the start of
each step, as the native engine's.

Refused by name: ``mcculloch_pitts`` (no continuous dynamics), ``lif`` with
``interpolate = true`` (its sub-step refractory scheme), and what
:func:`neurosim.engines.common.check_graph` refuses.

Devices: ``runtime`` (``target`` ``"numpy"``, ``"cython"`` or Brian2's default ``"auto"``) and
``cpp_standalone`` (a C++ program built in ``directory`` or a temporary folder, ``threads``
OpenMP threads). Brian2GeNN or Brian2CUDA devices plug in the same way once installed
(``device="genn"`` / ``"cuda_standalone"``, after importing their package).
"""

from __future__ import annotations

import math
import tempfile
import time

import numpy as np

from ..builder.model import Built
from ..errors import SpecError
from ..graph import Graph
from ..monitor.probes import DERIVED_HH
from ..spike.result import Result
from .common import population_values, prepare, spike_result, where

__all__ = ["run", "brian2_equations", "DEVICES"]

DEVICES = ("runtime", "cpp_standalone")

_LIF_FIELDS = ("tau_m", "r_m", "v_rest", "v_th", "v_reset", "t_ref")


def _import_brian2():
    try:
        import brian2
    except ImportError as err:
        raise SpecError("--engine brian2: Brian2 is not installed (pip install "
                        "'neurosim-snn[brian2]')") from err
    return brian2


class _Group:
    """One population written for Brian2: ``equations``, ``threshold``, ``reset``,
    ``refractory`` (a number of ms, an expression or False), ``method``; ``values``:
    per-neuron variables to set; ``channel``: target -> Brian2 variable (or ``"v"`` for a
    delta channel); ``decay``: plain channel variables and their per-step decay."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _lit(x: float) -> str:
    return f"({float(x)!r})"


def _params(pop, names):
    """Each field of ``names`` as a literal (the same for every neuron) or as the name of a
    per-neuron constant; the per-neuron values."""
    vals = population_values(pop, names)
    text, per_neuron = {}, {}
    for name, arr in vals.items():
        if np.all(arr == arr[0]):
            text[name] = _lit(arr[0])
        else:
            text[name] = name
            per_neuron[name] = arr
    return text, per_neuron


def _channels(built: Built, pop_name: str):
    out: dict[str, object] = {}
    for pj in built.graph.projections:
        if pj.post == pop_name:
            out.setdefault(pj.target, pj.synapse)
    return out


def brian2_equations(built: Built, k: int) -> _Group:
    """The Brian2 description of population ``k`` (module doc), or a SpecError."""
    g = built.graph
    pop = g.populations[k]
    nrn = pop.neuron
    dt = built.dt
    what = f"{where(g)}population {k} ({pop.name})"
    for fld, given in (("background", pop.background), ("current", pop.drive_steps),
                       ("initial", pop.initial), ("times", pop.events)):
        if given is not None and len(given):
            raise SpecError(f"{what}: {fld}: Poisson backgrounds, stepped currents, initial "
                            "state other than v and spike-time sources run natively and in "
                            "NEST (--engine nest), not in the brian2 engine")
    if nrn.kind == "lif" and not nrn.refractory_input:
        raise SpecError(f"{what}: neuron: refractory_input: dropping input while refractory "
                        "runs natively and in NEST, not in the brian2 engine")
    chans = _channels(built, pop.name)
    has_cond = any(s.kind == "exp_conductance" for s in chans.values())
    drive = np.broadcast_to(np.asarray(pop.drive, np.float64), (pop.size,))
    values = {}
    if np.all(drive == drive[0]):
        i_ext = _lit(drive[0])
    else:
        i_ext = "I_ext"
        values["I_ext"] = drive.copy()
    kind = nrn.kind
    exact = kind in ("lif", "alif") and not has_cond
    channel, decay, eq_lines, cur, cond = {}, {}, [], [], []
    for j, (target, syn) in enumerate(chans.items()):
        if syn.kind == "delta":
            channel[target] = "v"
            continue
        name = f"s_{j}"
        channel[target] = name
        if exact:
            eq_lines.append(f"d{name}/dt = -{name} / ({syn.tau!r} * ms) : 1")
        else:
            eq_lines.append(f"{name} : 1")
            decay[name] = math.exp(-dt / syn.tau)
        if syn.kind == "exp_current" and kind == "if":
            # the exact integral of the decaying current over the step, as a rate: Euler on
            # the IF membrane (linear in time) is then its exact update
            cur.append(f"{syn.tau * -math.expm1(-dt / syn.tau) / dt!r} * {name}")
        elif syn.kind == "exp_current":
            cur.append(name)
        else:
            cond.append(f"{name} * ({_lit(syn.e_rev)} - v)")
    syn_in = "".join(f" + {c}" for c in cur + cond)
    refractory = False
    if kind in ("lif", "alif"):
        if nrn.interpolate:
            raise SpecError(f"{what}: neuron: interpolate: Brian2 counts refractory periods in "
                            "whole steps; interpolated LIF runs natively only")
        names = _LIF_FIELDS + (("tau_w", "b") if kind == "alif" else ())
        p, per = _params(pop, names)
        adapt = " - w" if kind == "alif" else ""
        eq_lines.insert(0, f"dv/dt = (-(v - {p['v_rest']}) + {p['r_m']} * ({i_ext}{syn_in}"
                           f"{adapt})) / ({p['tau_m']} * ms) : 1 (unless refractory)")
        if kind == "alif":
            eq_lines.append(f"dw/dt = -w / ({p['tau_w']} * ms) : 1")
        reset = (f"v = {p['v_reset']}" if nrn.reset == "potential"
                 else f"v -= {p['v_th']} - {p['v_reset']}")
        reset += f"; w += {p['b']}" if kind == "alif" else ""
        threshold = f"v >= {p['v_th']}"
        refractory = f"{p['t_ref']} * ms"
        method = "exact" if exact else "exponential_euler"
    elif kind == "if":
        p, per = _params(pop, ("c_m", "v_th", "v_reset", "t_ref"))
        eq_lines.insert(0, f"dv/dt = ({i_ext}{syn_in}) / ({p['c_m']} * ms) : 1 "
                           "(unless refractory)")
        reset = (f"v = {p['v_reset']}" if nrn.reset == "potential"
                 else f"v -= {p['v_th']} - {p['v_reset']}")
        threshold = f"v >= {p['v_th']}"
        refractory = f"{p['t_ref']} * ms"
        method = "euler"
    elif kind == "izhikevich":
        p, per = _params(pop, ("a", "b", "c", "d", "v_peak", "t_ref"))
        eq_lines.insert(0, f"dv/dt = (0.04 * v**2 + 5 * v + 140 - u + {i_ext}{syn_in}) / ms "
                           ": 1 (unless refractory)")
        eq_lines.insert(1, f"du/dt = {p['a']} * ({p['b']} * v - u) / ms : 1")
        threshold = f"v >= {p['v_peak']}"
        reset = f"v = {p['c']}; u += {p['d']}"
        refractory = f"{p['t_ref']} * ms"
        method = "euler"
    elif kind == "adex":
        p, per = _params(pop, ("c_m", "g_l", "e_l", "v_t", "delta_t", "a", "tau_w", "b",
                               "v_reset", "v_peak", "t_ref"))
        eq_lines.insert(0, f"dv/dt = (-{p['g_l']} * (v - {p['e_l']}) + {p['g_l']} * "
                           f"{p['delta_t']} * exp((v - {p['v_t']}) / {p['delta_t']}) - w + "
                           f"{i_ext}{syn_in}) / ({p['c_m']} * ms) : 1 (unless refractory)")
        eq_lines.insert(1, f"dw/dt = ({p['a']} * (v - {p['e_l']}) - w) / ({p['tau_w']} * ms) "
                           ": 1")
        threshold = f"v >= {p['v_peak']}"
        reset = f"v = {p['v_reset']}; w += {p['b']}"
        refractory = f"{p['t_ref']} * ms"
        method = "euler"
    elif kind == "hh":
        p, per = _params(pop, ("c_m", "g_na", "g_k", "g_l", "e_na", "e_k", "e_l", "v_th"))
        phi = _lit(nrn.phi)
        eq_lines[:0] = [
            f"dv/dt = (-{p['g_na']} * m**3 * h * (v - {p['e_na']}) - {p['g_k']} * n**4 * "
            f"(v - {p['e_k']}) - {p['g_l']} * (v - {p['e_l']}) + {i_ext}{syn_in}) / "
            f"({p['c_m']} * ms) : 1",
            f"dm/dt = {phi} * (alpha_m * (1 - m) - beta_m * m) / ms : 1",
            f"dh/dt = {phi} * (alpha_h * (1 - h) - beta_h * h) / ms : 1",
            f"dn/dt = {phi} * (alpha_n * (1 - n) - beta_n * n) / ms : 1",
            "alpha_m = 1 / exprel(-(v + 40) / 10) : 1",
            "beta_m = 4 * exp(-(v + 65) / 18) : 1",
            "alpha_h = 0.07 * exp(-(v + 65) / 20) : 1",
            "beta_h = 1 / (1 + exp(-(v + 35) / 10)) : 1",
            "alpha_n = 0.1 / exprel(-(v + 55) / 10) : 1",
            "beta_n = 0.125 * exp(-(v + 65) / 80) : 1"]
        if nrn.rates == "traub":  # Brian2's COBAHH example, u = v - v_t
            u = f"(v - {_lit(nrn.v_t)})"
            eq_lines[4:10] = [
                f"alpha_m = 1.28 / exprel((13 - {u}) / 4) : 1",
                f"beta_m = 1.4 / exprel(({u} - 40) / 5) : 1",
                f"alpha_h = 0.128 * exp((17 - {u}) / 18) : 1",
                f"beta_h = 4 / (1 + exp((40 - {u}) / 5)) : 1",
                f"alpha_n = 0.16 / exprel((15 - {u}) / 5) : 1",
                f"beta_n = 0.5 * exp((10 - {u}) / 40) : 1"]
        threshold = f"v >= {p['v_th']}"
        reset = ""
        refractory = f"v >= {p['v_th']}"
        method = nrn.method
    else:
        raise SpecError(f"{what}: neuron: Brian2 has no counterpart of {kind!r} as neurosim "
                        "defines it (the brian2 engine runs lif, alif, if, izhikevich, adex "
                        "and hh); run it natively")
    if refractory.endswith("* ms") and "t_ref" not in per:
        ms_value = float(refractory.split("*")[0].strip("() "))
        refractory = ms_value if ms_value > 0 else False
    if refractory is False:
        eq_lines[0] = eq_lines[0].replace(" (unless refractory)", "")
    for name in per:
        eq_lines.append(f"{name} : 1 (constant)")
    if i_ext == "I_ext":
        eq_lines.append("I_ext : 1 (constant)")
    values.update(per)
    return _Group(equations="\n".join(eq_lines), threshold=threshold, reset=reset,
                  refractory=refractory, method=method, values=values, channel=channel,
                  decay=decay)


def _device(b2, device, directory, threads):
    if device not in DEVICES and device not in ("genn", "cuda_standalone"):
        raise SpecError(f"--device: must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "runtime":
        b2.set_device("runtime")
        return None
    folder = directory or tempfile.mkdtemp(prefix="neurosim-brian2-")
    b2.set_device(device, directory=folder, build_on_run=True)
    if device == "cpp_standalone":
        b2.prefs.devices.cpp_standalone.openmp_threads = int(threads) if threads > 1 else 0
    return folder


def run(graph_or_built: Graph | Built, duration: float, *, spikes=(), rates=(), state=(),
        device: str = "runtime", target: str | None = None, threads: int = 1,
        directory: str | None = None, progress: bool = False) -> Result:
    """Run a population network in Brian2 for ``duration`` ms; monitors as
    :class:`neurosim.spike.population.Simulator` takes them. Timings: ``build`` (the Brian2
    objects), ``run`` (the runtime device's ``Network.run``, code generation and compilation
    included; a standalone device's time loop alone, its build and compilation being
    ``compile``)."""
    t0 = time.perf_counter()
    built, n_steps = prepare(graph_or_built, duration, threads, "brian2")
    g = built.graph
    dt = built.dt
    descs = [brian2_equations(built, k) for k in range(len(g.populations))]
    names = [p.name for p in g.populations]
    for pop_name, variables, _ in state:
        model = g.population(pop_name).neuron
        for var in variables:
            if var.startswith("syn_") and var[4:] not in descs[names.index(pop_name)].channel:
                raise SpecError(f"simulation.monitors.state: variables: {pop_name} has no "
                                f"synaptic target {var[4:]!r}")
            if not var.startswith("syn_") and var not in model.state_vars:
                raise SpecError(f"simulation.monitors.state: variables: {pop_name} has no "
                                f"variable {var!r}")
    b2 = _import_brian2()
    saved_target = b2.prefs.codegen.target
    try:
        b2.start_scope()
        _device(b2, device, directory, threads)
        if target is not None:
            b2.prefs.codegen.target = target
        b2.defaultclock.dt = dt * b2.ms
        ns = {"ms": b2.ms}
        groups, objects = [], []
        for k, (pop, d) in enumerate(zip(g.populations, descs)):
            refractory = (d.refractory * b2.ms if isinstance(d.refractory, float)
                          else d.refractory)
            grp = b2.NeuronGroup(pop.size, d.equations, threshold=d.threshold,
                                 reset=d.reset or None, refractory=refractory,
                                 method=d.method, namespace=ns)
            model = pop.neuron
            a = int(built.model.pop[k, 0])
            for r, row in enumerate(model.ROWS):
                if row in grp.variables and row not in d.values:
                    setattr(grp, row, built.x0[r, a:a + pop.size])
            for name, arr in d.values.items():
                setattr(grp, name, arr)
            for var, factor in d.decay.items():
                objects.append(grp.run_regularly(f"{var} *= {factor!r}", when="groups",
                                                 order=1))
            groups.append(grp)
        for q, pj in enumerate(g.projections):
            pre, post, w = built.pairs(q)
            if pre.size == 0:
                continue
            var = descs[names.index(pj.post)].channel[pj.target]
            # a scalar delay, or (per-synapse delays) a delay variable set after connect
            scalar = {} if pj.delays is not None else {"delay": (int(pj.delay) - 1) * dt * b2.ms}
            syn = b2.Synapses(groups[names.index(pj.pre)], groups[names.index(pj.post)],
                              "w_syn : 1", on_pre=f"{var}_post += w_syn", namespace=ns,
                              **scalar)
            syn.connect(i=pre, j=post)
            syn.w_syn = w
            if pj.delays is not None:  # one per synapse, in the order of built.pairs
                syn.delay = (np.asarray(pj.delays, np.float64).ravel() - 1) * dt * b2.ms
            objects.append(syn)
        spike_mons = [b2.SpikeMonitor(grp) for grp in groups]
        state_mons = []
        for pop_name, variables, indices in state:
            d = descs[names.index(pop_name)]
            model = g.population(pop_name).neuron
            b2_vars = []
            for var in variables:
                need = ("v", "m", "h", "n") if var in DERIVED_HH else (var,)
                b2_vars += [d.channel[v[4:]] if v.startswith("syn_") else v for v in need]
            mon = b2.StateMonitor(groups[names.index(pop_name)], sorted(set(b2_vars)),
                                  record=np.asarray(indices, np.int64))
            state_mons.append(mon)
        net = b2.Network(*groups, *objects, *spike_mons, *state_mons)
        t1 = time.perf_counter()
        net.run(n_steps * dt * b2.ms, namespace=ns,
                report="stderr" if progress else None)
        t2 = time.perf_counter()
        # a standalone device builds, compiles and runs a program: its own clock says how
        # long the program's time loop took, the rest is code generation and compilation
        loop_s = getattr(b2.device, "_last_run_time", None) if device != "runtime" else None
        steps = {}
        for pop, mon in zip(g.populations, spike_mons):
            steps[pop.name] = (np.asarray(mon.i[:], np.int64),
                               np.rint(np.asarray(mon.t[:] / b2.ms) / dt).astype(np.int64))
        out_state, out_idx = {}, {}
        for (pop_name, variables, indices), mon in zip(state, state_mons):
            d = descs[names.index(pop_name)]
            model = g.population(pop_name).neuron
            got = {}
            for var in variables:
                if var in DERIVED_HH:
                    parts = [np.asarray(getattr(mon, v)) for v in ("v", "m", "h", "n")]
                    got[var] = model.currents(*parts)[DERIVED_HH.index(var)]
                else:
                    b2_var = d.channel[var[4:]] if var.startswith("syn_") else var
                    got[var] = np.asarray(getattr(mon, b2_var))
                got[var] = got[var][:, :n_steps]
            out_state[pop_name] = got
            out_idx[pop_name] = np.asarray(indices, np.int64)
    finally:
        if device != "runtime":
            b2.device.reinit()
            b2.set_device("runtime")
        b2.prefs.codegen.target = saved_target
    timings = {"build": t1 - t0, "compile": 0.0, "run": t2 - t1}
    if loop_s is not None:
        timings |= {"compile": t2 - t1 - loop_s, "run": loop_s}
    return spike_result(built, n_steps, steps, spikes=spikes, rates=rates, state=out_state,
                        state_indices=out_idx, timings=timings)
