"""Networks against Brian2: a small feed-forward network with delays (spike times), and the
CUBA benchmark network (mean rate and ISI CV within 10 %).

Brian2 runs on its numpy target (no compilation, so CI's first run pays nothing extra; the
1 s CUBA run takes a few seconds there). Both simulators get the same connectivity and
initial potentials, so the statistics compare the dynamics, not two random draws.
"""

from __future__ import annotations

import brian2 as b2
import numpy as np
import pytest
from brian2 import Mohm, ms, mV, nA  # noqa: F401  (names used in Brian2 strings)

from neurosim.builder.lower import lower_populations
from neurosim.builder.model import build
from neurosim.monitor.probes import isi_cv
from neurosim.specs.io import load_model
from neurosim.specs.neurons import LIF
from neurosim.specs.populations import (
    Monitors,
    Population,
    PopulationNetwork,
    Projection,
    Simulation,
    VInit,
)
from neurosim.specs.synapses import Delta, ExpConductance, ExpCurrent
from neurosim.spike.population import Simulator, simulate_network

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DT = 0.1
#: CUBA statistics: relative agreement asked of the mean rate and the ISI CV (the network is
#: chaotic, so individual spike trains diverge; the statistics do not).
STAT_TOL = 0.10


def _brian2_start(dt):
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt * ms


def test_feedforward_network_matches_brian2():
    """Five driven LIF neurons feed three through exponential currents (delay 1.5 ms) and
    delta synapses (no delay), with a [pre][post] weight array."""
    rng = np.random.default_rng(4)
    lif = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=2.0)
    w_exp = rng.uniform(0.2, 0.6, (5, 3))
    w_delta = rng.uniform(0.0, 2.0, (5, 3))
    drive = np.array([1.6, 2.0, 2.5, 3.0, 3.5])
    spec = PopulationNetwork(
        name="ff",
        populations=(
            *(Population(name=f"in{k}", size=1, neuron=lif, current=float(drive[k]))
              for k in range(5)),
            Population(name="out", size=3, neuron=lif, v_init=VInit(dist="constant",
                                                                     value=-65.0)),
        ),
        projections=tuple(
            proj for k in range(5) for proj in (
                Projection(pre=f"in{k}", post="out", target="e",
                           synapse=ExpCurrent(tau=5.0), weight=(tuple(w_exp[k]),),
                           delay=1.5),
                Projection(pre=f"in{k}", post="out", target="d", synapse=Delta(),
                           weight=(tuple(w_delta[k]),)))),
        simulation=Simulation(dt=DT, duration=300.0,
                              monitors=Monitors(spikes=("out", "in0", "in4"))))
    res = simulate_network(spec)
    _brian2_start(DT)
    eqs = """dv/dt = (-(v - v_rest) + r_m * (I + s)) / tau_m : volt (unless refractory)
             ds/dt = -s / tau_s : amp
             I : amp"""
    ns = {"v_rest": -65 * mV, "r_m": 10 * Mohm, "tau_m": 10 * ms, "tau_s": 5 * ms,
          "v_th": -50 * mV, "v_reset": -65 * mV}
    src = b2.NeuronGroup(5, eqs, threshold="v > v_th", reset="v = v_reset",
                         refractory=2 * ms, method="exact", namespace=ns)
    out = b2.NeuronGroup(3, eqs, threshold="v > v_th", reset="v = v_reset",
                         refractory=2 * ms, method="exact", namespace=ns)
    src.v = -65 * mV
    out.v = -65 * mV
    src.I = drive * nA
    syn_e = b2.Synapses(src, out, "w : amp", on_pre="s_post += w", delay=1.5 * ms)
    syn_e.connect()
    syn_e.w = w_exp[syn_e.i[:], syn_e.j[:]] * nA
    syn_d = b2.Synapses(src, out, "w : volt", on_pre="v_post += w")
    syn_d.connect()
    syn_d.w = w_delta[syn_d.i[:], syn_d.j[:]] * mV
    mon_src, mon_out = b2.SpikeMonitor(src), b2.SpikeMonitor(out)
    net = b2.Network(src, out, syn_e, syn_d, mon_src, mon_out)
    net.run(300 * ms, namespace=ns)
    trains = mon_out.spike_trains()
    for k in range(3):
        ours = res.spikes["out"].times[res.spikes["out"].indices == k]
        theirs = np.asarray(trains[k] / ms)
        assert ours.size == theirs.size and ours.size > 3
        np.testing.assert_allclose(ours, theirs, atol=DT + 1e-9)  # within one step
    np.testing.assert_allclose(res.spikes["in4"].times,
                               np.asarray(mon_src.spike_trains()[4] / ms), atol=1e-9)


def test_conductance_synapses_match_brian2():
    """Five driven LIF neurons excite (E = 0 mV) and inhibit (E = -80 mV) three others through
    exponentially decaying conductances; Brian2 integrates with ``exponential_euler``, which
    is the rule neurosim uses with conductances (them held over the step)."""
    rng = np.random.default_rng(5)
    lif = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=2.0)
    w_e = rng.uniform(0.02, 0.06, (5, 3))  # uS
    w_i = rng.uniform(0.0, 0.02, (5, 3))
    drive = np.array([1.6, 2.0, 2.5, 3.0, 3.5])
    spec = PopulationNetwork(
        name="cond",
        populations=(
            *(Population(name=f"in{k}", size=1, neuron=lif, current=float(drive[k]))
              for k in range(5)),
            Population(name="out", size=3, neuron=lif, current=1.2)),
        projections=tuple(
            proj for k in range(5) for proj in (
                Projection(pre=f"in{k}", post="out", target="e",
                           synapse=ExpConductance(tau=5.0, e_rev=0.0),
                           weight=(tuple(w_e[k]),)),
                Projection(pre=f"in{k}", post="out", target="i",
                           synapse=ExpConductance(tau=10.0, e_rev=-80.0),
                           weight=(tuple(w_i[k]),), delay=0.7))),
        simulation=Simulation(dt=DT, duration=300.0, monitors=Monitors(spikes=("out",))))
    res = simulate_network(spec)
    _brian2_start(DT)
    eqs = """dv/dt = (-(v - v_rest) + r_m * (I + ge * (0 * mV - v) + gi * (-80 * mV - v)))
                    / tau_m : volt (unless refractory)
             dge/dt = -ge / (5 * ms) : siemens
             dgi/dt = -gi / (10 * ms) : siemens
             I : amp"""
    ns = {"v_rest": -65 * mV, "r_m": 10 * Mohm, "tau_m": 10 * ms, "v_th": -50 * mV,
          "v_reset": -65 * mV}
    groups = [b2.NeuronGroup(n, eqs, threshold="v > v_th", reset="v = v_reset",
                             refractory=2 * ms, method="exponential_euler", namespace=ns)
              for n in (5, 3)]
    src, out = groups
    src.v = out.v = -65 * mV
    src.I = drive * nA
    out.I = 1.2 * nA
    syn_e = b2.Synapses(src, out, "w : siemens", on_pre="ge_post += w")
    syn_e.connect()
    syn_e.w = w_e[syn_e.i[:], syn_e.j[:]] * b2.usiemens
    syn_i = b2.Synapses(src, out, "w : siemens", on_pre="gi_post += w", delay=0.7 * ms)
    syn_i.connect()
    syn_i.w = w_i[syn_i.i[:], syn_i.j[:]] * b2.usiemens
    mon = b2.SpikeMonitor(out)
    b2.Network(src, out, syn_e, syn_i, mon).run(300 * ms, namespace=ns)
    trains = mon.spike_trains()
    for k in range(3):
        ours = res.spikes["out"].times[res.spikes["out"].indices == k]
        theirs = np.asarray(trains[k] / ms)
        assert ours.size == theirs.size and ours.size > 3
        np.testing.assert_allclose(ours, theirs, atol=DT + 1e-9)  # within one step


def _stats(indices, times, n, duration):
    return indices.size / n / (duration / 1000.0), isi_cv(indices, times)


def test_cuba_rate_and_cv_match_brian2():
    spec = load_model("models/cuba.toml")
    duration = 1000.0
    built = build(lower_populations(spec, seed=7))
    v0 = built.x0[0].copy()
    pairs = [built.pairs(q) for q in range(len(built.proj_names))]
    sim = Simulator(built, spikes=("exc", "inh"))
    sim.run(int(duration / DT))
    res = sim.result()
    ours_i = np.concatenate([res.spikes["exc"].indices, res.spikes["inh"].indices + 3200])
    ours_t = np.concatenate([res.spikes["exc"].times, res.spikes["inh"].times])

    _brian2_start(DT)
    ns = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "Vt": -50 * mV, "Vr": -60 * mV,
          "El": -49 * mV}
    group = b2.NeuronGroup(4000, """dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
                                    dge/dt = -ge / taue : volt
                                    dgi/dt = -gi / taui : volt""",
                           threshold="v > Vt", reset="v = Vr", refractory=5 * ms,
                           method="exact", namespace=ns)
    group.v = v0 * mV
    offsets = {"exc": 0, "inh": 3200}
    syns = []
    for proj, (pre, post, w) in zip(spec.projections, pairs, strict=True):
        var = "ge" if proj.target == "e" else "gi"
        syn = b2.Synapses(group, group, "w : volt", on_pre=f"{var}_post += w")
        syn.connect(i=pre + offsets[proj.pre], j=post + offsets[proj.post])
        syn.w = w * 100.0 * mV  # nA through r_m = 100 MOhm -> mV, as in Brian2's CUBA
        syns.append(syn)
    mon = b2.SpikeMonitor(group)
    net = b2.Network(group, *syns, mon)
    net.run(duration * ms, namespace=ns)
    theirs = _stats(np.asarray(mon.i[:]), np.asarray(mon.t / ms), 4000, duration)
    ours = _stats(ours_i, ours_t, 4000, duration)
    assert theirs[0] > 1.0  # the network is active
    assert abs(ours[0] - theirs[0]) <= STAT_TOL * theirs[0], (ours, theirs)
    assert abs(ours[1] - theirs[1]) <= STAT_TOL * theirs[1], (ours, theirs)
