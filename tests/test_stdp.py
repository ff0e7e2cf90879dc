"""STDP: the online trace rule against the closed-form window, and pattern learning.

Closed form (Song, Miller & Abbott 2000): ``dw = a_plus exp(-dt/tau_plus)`` for
``dt = t_post - t_pre >= 0``, ``-a_minus exp(dt/tau_minus)`` for ``dt < 0``.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.demos.stdp import NEURON, RULE, TASK
from neurosim.learning.stdp import (
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
