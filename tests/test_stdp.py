"""STDP: the online trace rule against the closed-form window, the pattern neuron's LIF
membrane against its closed forms and Brian2, and pattern learning. Times in ms.

Closed form (Song, Miller & Abbott 2000): ``dw = a_plus exp(-dt/tau_plus)`` for
``dt = t_post - t_pre >= 0``, ``-a_minus exp(dt/tau_minus)`` for ``dt < 0``.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.demos.stdp import NEURON, RULE, TASK
from neurosim.learning.stdp import (
    PATTERN_LIF,
    PatternMembrane,
    PatternNeuron,
    PatternTask,
    StdpRule,
    StdpState,
    make_pattern_input,
    pair_weight_change,
    run_pattern_learning,
    selectivity,
    stdp_step,
    stdp_window,
)
from neurosim.neurons.lif import LIF

#: Pairs fall on the time grid, so the online rule equals the closed form up to float
#: rounding of the repeated exponential decay (hundreds of multiplications).
WINDOW_TOL = 1e-12


@pytest.mark.parametrize("nearest", [True, False])
@pytest.mark.parametrize("delta", [-80.0, -20.0, -3.0, -0.5, 0.0, 0.5, 3.0, 20.0, 80.0])
def test_online_rule_matches_window(nearest, delta):
    rule = StdpRule(nearest=nearest)
    assert pair_weight_change(rule, delta) == pytest.approx(float(stdp_window(rule, delta)),
                                                            abs=WINDOW_TOL)


def test_window_signs_and_values():
    rule = StdpRule(a_plus=0.01, a_minus=0.012, tau_plus=20.0, tau_minus=20.0)
    assert pair_weight_change(rule, 10.0) > 0  # pre before post: potentiation
    assert pair_weight_change(rule, -10.0) < 0  # post before pre: depression
    assert float(stdp_window(rule, 20.0)) == pytest.approx(0.01 * np.exp(-1.0))
    assert float(stdp_window(rule, -20.0)) == pytest.approx(-0.012 * np.exp(-1.0))


def test_nearest_vs_all_pairs_by_hand():
    # two presynaptic spikes at t = 0 and 10 ms, one postsynaptic at t = 20 ms (dt = 1 ms):
    # all pairs:  dw = a+ (e^{-20/tau+} + e^{-10/tau+});  nearest: dw = a+ e^{-10/tau+}.
    dt = 1.0
    for nearest in (False, True):
        rule = StdpRule(nearest=nearest)
        w, state = np.array([0.5]), StdpState.zeros(1)
        for k in range(22):
            stdp_step(w, state, np.array([k in (0, 10)]), k == 20, rule, dt)
        expect = rule.a_plus * (np.exp(-10 / rule.tau_plus)
                                + (0.0 if nearest else np.exp(-20 / rule.tau_plus)))
        assert w[0] - 0.5 == pytest.approx(expect, abs=WINDOW_TOL)


def test_weights_stay_in_bounds():
    rule = StdpRule(a_plus=0.5, a_minus=0.5)
    rng = np.random.default_rng(0)
    w, state = np.full(20, 0.5), StdpState.zeros(20)
    for _ in range(200):
        stdp_step(w, state, rng.random(20) < 0.3, bool(rng.random() < 0.3), rule, 1.0)
        assert w.min() >= rule.w_min and w.max() <= rule.w_max


#: Exact integration: the membrane equals the closed form up to the rounding of a few hundred
#: multiply-adds in float64.
EXACT_TOL = 1e-10


def test_pattern_neuron_is_the_lif_model():
    assert isinstance(NEURON.lif, LIF) and NEURON.lif is PATTERN_LIF
    with pytest.raises(ValueError, match="interpolate"):
        PatternNeuron(lif=LIF(interpolate=True))
    with pytest.raises(ValueError, match="tau_s"):
        PatternNeuron(tau_s=PATTERN_LIF.tau_m)


@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_membrane_psp_is_the_closed_form(dt):
    """One input spike through weight w at t = 0: v - v_rest = w psp_mv K (exp(-t/tau_m) -
    exp(-t/tau_s)) at every later step, with its peak w psp_mv."""
    nrn = PatternNeuron(psp_mv=0.5)
    lif, w = nrn.lif, 0.8
    mem = PatternMembrane(nrn, dt)
    steps = int(round(60.0 / dt))
    v = np.array([mem.step(w if k == 0 else 0.0) or mem.v for k in range(steps)])
    t = np.arange(steps) * dt
    psp = w * nrn.psp_mv * nrn.psp_scale * (np.exp(-t / lif.tau_m) - np.exp(-t / nrn.tau_s))
    np.testing.assert_allclose(v - lif.v_rest, psp, rtol=0, atol=EXACT_TOL)
    t_peak = np.log(lif.tau_m / nrn.tau_s) * lif.tau_m * nrn.tau_s / (lif.tau_m - nrn.tau_s)
    peak = w * nrn.psp_mv * nrn.psp_scale * (np.exp(-t_peak / lif.tau_m)
                                            - np.exp(-t_peak / nrn.tau_s))
    assert peak == pytest.approx(w * nrn.psp_mv, rel=1e-12)
    assert (v - lif.v_rest).max() <= w * nrn.psp_mv + 1e-12


def test_membrane_threshold_reset_refractory():
    """A strong volley: the spike step has v >= v_th, then v_reset held for round(t_ref/dt) - 1
    steps (the LIF's rule), then the still-flowing synaptic current charges it again."""
    nrn, dt = NEURON, 1.0
    lif = nrn.lif
    mem = PatternMembrane(nrn, dt)
    fired, v = [], []
    for k in range(40):
        fired.append(mem.step(400.0 if k == 0 else 0.0))
        v.append(mem.v)
    k0 = fired.index(True)
    hold = int(round(lif.t_ref / dt)) - 1
    assert np.all(np.asarray(v[k0:k0 + hold + 1]) == lif.v_reset)
    assert v[k0 + hold + 1] > lif.v_reset


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_membrane_matches_brian2():
    """Frozen random weights, 200 Poisson afferents: the membrane (potential at the end of
    every step and spike steps) against Brian2's LIF with an exponential current synapse,
    the same equations integrated with Brian2's ``exact`` method."""
    import brian2 as b2

    nrn = PatternNeuron(lif=LIF(tau_m=10.0, r_m=10.0, v_rest=-70.0, v_th=-58.0,
                                v_reset=-72.0, t_ref=3.0), psp_mv=0.3)
    lif = nrn.lif
    dt, steps, n = 0.1, 10000, 200
    rng = np.random.default_rng(5)
    pre = rng.random((steps, n)) < 40.0 * dt * 1e-3
    w = rng.random(n)
    mem = PatternMembrane(nrn, dt)
    v_ours, fired = np.zeros(steps), []
    for k in range(steps):
        if mem.step(float(w[pre[k]].sum())):
            fired.append(k)
        v_ours[k] = mem.v

    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt * b2.ms
    k_pre, i_pre = np.nonzero(pre)
    source = b2.SpikeGeneratorGroup(n, i_pre, k_pre * dt * b2.ms)
    ns = {"v_rest": lif.v_rest * b2.mV, "v_th": lif.v_th * b2.mV, "v_reset": lif.v_reset * b2.mV,
          "r_m": lif.r_m * b2.Mohm, "tau_m": lif.tau_m * b2.ms, "tau_s": nrn.tau_s * b2.ms,
          "q": nrn.q_na * b2.nA}
    group = b2.NeuronGroup(
        1, """dv/dt = (-(v - v_rest) + r_m * I) / tau_m : volt (unless refractory)
              dI/dt = -I / tau_s : amp""",
        threshold="v >= v_th", reset="v = v_reset", refractory=lif.t_ref * b2.ms,
        method="exact", namespace=ns)
    group.v = lif.v_rest * b2.mV
    syn = b2.Synapses(source, group, "w : 1", on_pre="I += w * q", namespace=ns)
    syn.connect()
    syn.w = w[np.asarray(syn.i[:])]
    state = b2.StateMonitor(group, "v", record=0, when="end")
    spikes = b2.SpikeMonitor(group)
    b2.run(steps * dt * b2.ms, namespace=ns)
    v_b2 = np.asarray(state.v[0] / b2.mV)
    k_b2 = np.round(np.asarray(spikes.t / b2.ms) / dt).astype(int)
    assert len(fired) > 20
    np.testing.assert_array_equal(fired, k_b2)
    np.testing.assert_allclose(v_ours, v_b2, rtol=0, atol=1e-9)


def test_pattern_input_hides_pattern_in_rates():
    task = PatternTask(n_afferents=200, duration_ms=20_000.0, noise_hz=0.0, jitter_ms=0.0)
    inp = make_pattern_input(task, np.random.default_rng(1))
    # the pattern replays exactly (no jitter, no noise) on the carriers
    seg = inp.pattern_steps
    a, b = inp.onsets[0], inp.onsets[1]
    assert np.array_equal(inp.spikes[a:a + seg, inp.pattern_afferents],
                          inp.spikes[b:b + seg, inp.pattern_afferents])
    # and the mean rate is the same inside and outside the pattern (within Poisson noise:
    # about 200 afferents x 4 s of pattern time x 40 Hz = 32k spikes, so ~1% noise)
    rate_in = inp.spikes[inp.in_pattern].mean() / task.dt * 1e3
    rate_out = inp.spikes[~inp.in_pattern].mean() / task.dt * 1e3
    assert rate_in == pytest.approx(task.rate_hz, rel=0.1)
    assert rate_out == pytest.approx(task.rate_hz, rel=0.05)
    # no pattern twice in a row
    assert np.all(np.diff(inp.onsets) > seg)


def test_pattern_learning_becomes_selective():
    rng = np.random.default_rng(0)
    inputs = make_pattern_input(TASK, rng)
    run = run_pattern_learning(inputs, NEURON, RULE, dt=TASK.dt)
    steps = inputs.spikes.shape[0]
    w = 3000
    before = selectivity(run.spike_steps, inputs.in_pattern, 0, w)
    after = selectivity(run.spike_steps, inputs.in_pattern, steps - w, steps)
    # before learning the neuron fires at random: near chance; after, mostly in the pattern
    assert before["fraction_in_pattern"] < before["chance"] + 0.2
    assert after["spikes"] > 0
    assert after["fraction_in_pattern"] > 0.9
    assert after["fraction_in_pattern"] > before["fraction_in_pattern"] + 0.5
    # without plasticity the same neuron stays unselective
    frozen = run_pattern_learning(inputs, NEURON, RULE, dt=TASK.dt, learn=False)
    late = selectivity(frozen.spike_steps, inputs.in_pattern, steps - w, steps)
    assert late["fraction_in_pattern"] < late["chance"] + 0.2


#: Brian2 and the trace rule compute the same sums of exponentials in float64; they differ
#: only by rounding (Brian2 evaluates each trace at spike times, neurosim decays it per step).
BRIAN2_TOL = 1e-9


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_all_pairs_rule_matches_brian2():
    """The online all-pairs rule against Brian2's event-driven STDP synapse (the model of
    Brian2's Song, Miller & Abbott 2000 example) on random pre/post spike trains."""
    import brian2 as b2

    dt, steps, n_pre = 0.1, 5000, 20
    rng = np.random.default_rng(3)
    pre = rng.random((steps, n_pre)) < 20.0 * dt * 1e-3
    post = rng.random(steps) < 15.0 * dt * 1e-3
    pre[post] = False  # no pre spike in a post spike's step: the order within a step differs
    rule = StdpRule(a_plus=0.01, a_minus=0.0105, tau_plus=20.0, tau_minus=20.0, nearest=False)

    w, state = np.full(n_pre, 0.5), StdpState.zeros(n_pre)
    for k in range(steps):
        stdp_step(w, state, pre[k], bool(post[k]), rule, dt)

    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt * b2.ms
    k_pre, i_pre = np.nonzero(pre)
    g_pre = b2.SpikeGeneratorGroup(n_pre, i_pre, k_pre * dt * b2.ms)
    k_post = np.flatnonzero(post)
    g_post = b2.SpikeGeneratorGroup(1, np.zeros(k_post.size, dtype=int), k_post * dt * b2.ms)
    syn = b2.Synapses(
        g_pre, g_post,
        model="""w : 1
                 dapre/dt = -apre / taupre : 1 (event-driven)
                 dapost/dt = -apost / taupost : 1 (event-driven)""",
        on_pre="""apre += 1
                  w = clip(w - a_minus * apost, w_min, w_max)""",
        on_post="""apost += 1
                   w = clip(w + a_plus * apre, w_min, w_max)""",
        namespace={"taupre": rule.tau_plus * b2.ms, "taupost": rule.tau_minus * b2.ms,
                   "a_plus": rule.a_plus, "a_minus": rule.a_minus,
                   "w_min": rule.w_min, "w_max": rule.w_max})
    syn.connect()
    syn.w = 0.5
    b2.run(steps * dt * b2.ms)
    w_b2 = np.asarray(syn.w[:])[np.argsort(np.asarray(syn.i[:]))]
    assert np.all((w > 0.05) & (w < 0.95))  # away from the bounds: no clipping either side
    assert np.abs(w - 0.5).max() > 0.01  # the trains did change the weights
    np.testing.assert_allclose(w, w_b2, atol=BRIAN2_TOL, rtol=0)
