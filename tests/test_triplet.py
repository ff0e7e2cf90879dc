"""The triplet STDP rule (Pfister & Gerstner 2006, Diehl & Cook's minimal form): the online
rule against its closed form and against Brian2's event-driven synapse; the compiled
winner-take-all loop against its NumPy twin. Times in ms."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.kernels.wta import present
from neurosim.learning.reference_wta import present_numpy
from neurosim.learning.triplet import (
    TripletRule,
    TripletTraces,
    online_weight_change,
    triplet_step,
    triplet_weight_change,
)
from neurosim.learning.wta import (
    label_neurons,
    lower_wta,
    poisson_steps,
    predict_labels,
    reset_between_images,
    wta_graph,
)
from neurosim.specs.plasticity import WtaModel, WtaNeurons

#: Spikes fall on the time grid, so the online rule equals the closed form up to the rounding
#: of a few hundred repeated multiplications by the decay factors.
WINDOW_TOL = 1e-12
#: Brian2 evaluates the traces at spike times (exp of the interval), neurosim decays them per
#: step: the same sums of exponentials, different rounding.
BRIAN2_TOL = 1e-9

POST_PATTERNS = [
    [10.0],            # one post after pre: o2(t-) = 0, no potentiation
    [-15.0],           # post before pre: depression only
    [5.0, 12.0],       # a post pair after pre: the triplet term
    [-30.0, -4.0, 3.0, 9.5, 40.0],
    [-8.0, 25.0],
]


@pytest.mark.parametrize("nearest", [True, False])
@pytest.mark.parametrize("posts", POST_PATTERNS)
def test_online_rule_matches_closed_form(nearest, posts):
    rule = TripletRule(eta_pre=0.003, eta_post=0.02, nearest=nearest)
    assert online_weight_change(rule, posts) == pytest.approx(
        triplet_weight_change(rule, posts), abs=WINDOW_TOL)


def test_closed_form_values():
    rule = TripletRule(eta_pre=0.003, eta_post=0.02, tau_pre=20.0, tau_post1=20.0,
                       tau_post2=40.0)
    assert triplet_weight_change(rule, [10.0]) == 0.0  # a pair alone does not potentiate
    assert triplet_weight_change(rule, [-20.0]) == pytest.approx(-0.003 * np.exp(-1.0))
    assert triplet_weight_change(rule, [5.0, 45.0]) == pytest.approx(
        0.02 * np.exp(-45.0 / 20.0) * np.exp(-40.0 / 40.0))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_triplet_rule_matches_brian2():
    """Diehl & Cook's synapse equations in Brian2 (traces set to 1 by a spike) against
    :func:`triplet_step` on random pre/post trains of 20 synapses onto 3 neurons."""
    import brian2 as b2

    dt, steps, n_pre, n_post = 0.5, 4000, 20, 3
    rng = np.random.default_rng(4)
    pre = rng.random((steps, n_pre)) < 20.0 * dt * 1e-3
    post = rng.random((steps, n_post)) < 15.0 * dt * 1e-3
    pre[post.any(axis=1)] = False  # no pre and post spike in one step: the order differs
    rule = TripletRule(eta_pre=0.004, eta_post=0.03)
    w = np.full((n_pre, n_post), 0.5)
    tr = TripletTraces.zeros(n_pre, n_post)
    for k in range(steps):
        triplet_step(w, tr, pre[k], post[k], rule, dt)

    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt * b2.ms
    k_pre, i_pre = np.nonzero(pre)
    k_post, i_post = np.nonzero(post)
    g_pre = b2.SpikeGeneratorGroup(n_pre, i_pre, k_pre * dt * b2.ms)
    g_post = b2.SpikeGeneratorGroup(n_post, i_post, k_post * dt * b2.ms)
    syn = b2.Synapses(
        g_pre, g_post,
        model="""w : 1
                 post2before : 1
                 dpre/dt = -pre / tc_pre : 1 (event-driven)
                 dpost1/dt = -post1 / tc_post1 : 1 (event-driven)
                 dpost2/dt = -post2 / tc_post2 : 1 (event-driven)""",
        on_pre="""pre = 1.
                  w = clip(w - nu_pre * post1, 0, w_max)""",
        on_post="""post2before = post2
                   w = clip(w + nu_post * pre * post2before, 0, w_max)
                   post1 = 1.
                   post2 = 1.""",
        namespace={"tc_pre": rule.tau_pre * b2.ms, "tc_post1": rule.tau_post1 * b2.ms,
                   "tc_post2": rule.tau_post2 * b2.ms, "nu_pre": rule.eta_pre,
                   "nu_post": rule.eta_post, "w_max": rule.w_max})
    syn.connect()
    syn.w = 0.5
    b2.run(steps * dt * b2.ms)
    w_b2 = np.zeros((n_pre, n_post))
    w_b2[np.asarray(syn.i[:]), np.asarray(syn.j[:])] = np.asarray(syn.w[:])
    assert np.all((w > 0.01) & (w < 0.99))  # no clipping either side
    assert np.abs(w - 0.5).max() > 0.01  # the trains did change the weights
    np.testing.assert_allclose(w, w_b2, atol=BRIAN2_TOL, rtol=0)


def small_model(n_input=16, n_exc=6):
    return WtaModel(name="t", network=WtaNeurons(n_input=n_input, n_exc=n_exc))


@pytest.mark.parametrize("learn", [True, False])
def test_compiled_loop_matches_numpy_twin(learn):
    model = small_model()
    rng = np.random.default_rng(1)
    w = rng.uniform(0, 1.0, (16, 6))
    runs = []
    for fn in (present, present_numpy):
        prm, st = lower_wta(wta_graph(model, w.copy()), model)
        r = np.random.default_rng(2)
        for _ in range(3):
            reset_between_images(prm, st)
            ptr, idx = poisson_steps(r.random(16), 150.0, 300, prm.dt, r)
            fn(prm, st, ptr, idx, learn)
        runs.append(st)
    a, b = runs
    assert a.counts.sum() > 0 and a.ops[2] > 0  # excitatory and inhibitory spikes happened
    for name in a._fields:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    if learn:
        assert not np.allclose(a.w, w)


def test_poisson_steps_rates():
    """Each pixel fires with probability p rate dt / 1000 per step: counts over 20,000 steps
    are binomial; 5 standard deviations bound them."""
    rng = np.random.default_rng(3)
    pixels = np.array([0.0, 0.25, 1.0])
    ptr, idx = poisson_steps(pixels, 40.0, 20000, 0.5, rng)
    counts = np.bincount(idx, minlength=3)
    p = pixels * 40.0 * 0.5 / 1000
    assert counts[0] == 0
    assert np.all(np.abs(counts - 20000 * p) <= 5 * np.sqrt(20000 * p * (1 - p)) + 1e-9)
    assert ptr[-1] == len(idx) and np.all(np.diff(ptr) >= 0)


def test_labels_and_prediction_by_hand():
    counts = np.array([[5, 0, 1], [4, 1, 0], [0, 3, 2], [1, 0, 6]])
    y = np.array([0, 0, 1, 2])
    labels, means = label_neurons(counts, y, 3)
    assert labels.tolist() == [0, 1, 2]
    np.testing.assert_allclose(means[0], [4.5, 0.5, 0.5])
    assert predict_labels(np.array([[0, 0, 9], [7, 1, 1]]), labels, 3).tolist() == [2, 0]
