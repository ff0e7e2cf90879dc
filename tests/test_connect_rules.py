"""NEST's connection rules, distributions of weights, delays, parameters and initial state,
variants and scaling: counts by hand, bounds that must hold for every draw, closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.connectivity import (
    fixed_indegree,
    fixed_outdegree,
    fixed_total_number,
)
from neurosim.builder.lower import lower_populations
from neurosim.builder.model import build
from neurosim.builder.scaling import scale_network
from neurosim.errors import SpecError
from neurosim.specs.distributions import Dist, draw, value_from_toml
from neurosim.specs.io import dumps_model, load_model, loads_model


def _pairs(conn):
    pre, post = conn.pairs()
    return pre, post, pre * 100_000 + post


@pytest.mark.parametrize("multapses", [False, True])
def test_degree_rules_give_exact_counts(multapses):
    """Every target of fixed_indegree(k) has k sources; every source of fixed_outdegree(k)
    has k targets; fixed_total_number(n) has n synapses; no autapse when refused; no repeated
    pair without multapses."""
    rng = np.random.default_rng(0)
    for conn, counted, total in (
            (fixed_indegree(40, 40, 12, rng, autapses=False, multapses=multapses), 1, 480),
            (fixed_outdegree(40, 40, 9, rng, autapses=False, multapses=multapses), 0, 360),
            (fixed_total_number(40, 40, 700, rng, autapses=False, multapses=multapses), None,
             700)):
        pre, post, key = _pairs(conn)
        assert conn.n_synapses == total and not np.any(pre == post)
        if counted is not None:
            per = np.bincount((pre, post)[counted], minlength=40)
            assert np.all(per == total // 40)
        if not multapses:
            assert np.unique(key).size == key.size
        for a, b in zip(conn.indptr[:-1], conn.indptr[1:]):  # rows sorted by target
            assert np.all(np.diff(conn.indices[a:b]) >= 0)


def test_multapses_do_occur_when_allowed():
    """Pairs drawn with replacement: 2,000 synapses among 30 x 30 pairs must repeat some."""
    conn = fixed_total_number(30, 30, 2000, np.random.default_rng(1))
    assert np.unique(_pairs(conn)[2]).size < 2000


def test_distributions_keep_their_bounds_and_moments():
    rng = np.random.default_rng(2)
    n = 100_000
    red = draw(Dist(dist="normal_redraw", mean=-0.35, std=0.3, max=0.0), rng, n)
    assert red.max() <= 0.0 and red.min() < -1.0
    clip = draw(Dist(dist="normal_clipped", mean=0.1, std=0.2, min=0.0), rng, n)
    assert clip.min() == 0.0 and np.mean(clip == 0.0) == pytest.approx(0.3085, abs=0.01)
    uni = draw(Dist(dist="uniform", low=1.0, high=3.0), rng, n)
    assert 1.0 <= uni.min() and uni.max() < 3.0 and uni.mean() == pytest.approx(2.0, abs=0.01)
    logn = draw(Dist(dist="lognormal", mu=0.0, sigma=0.5), rng, n)
    assert logn.mean() == pytest.approx(np.exp(0.125), rel=0.01)
    with pytest.raises(SpecError, match=r"w: std: not a field of a uniform distribution"):
        value_from_toml({"dist": "uniform", "low": 0.0, "std": 1.0}, "w")
    with pytest.raises(SpecError, match=r"w: dist: must be one of"):
        value_from_toml({"dist": "gauss"}, "w")


NET = """
name = "rules"
[[populations]]
name = "a"
size = 50
neuron = { kind = "lif", tau_m = 10.0, r_m = 10.0, v_rest = -65.0, v_th = -50.0, v_reset = -65.0 }
params = { tau_m = { dist = "uniform", low = 8.0, high = 12.0 } }
initial = { syn_e = { dist = "normal_clipped", mean = 0.5, std = 0.5, min = 0.0 } }
[[populations]]
name = "b"
size = 30
neuron = { kind = "lif" }
[[projections]]
name = "ab"
pre = "a"
post = "b"
synapse = { kind = "exp_current", tau = 2.0 }
weight = { dist = "normal_redraw", mean = 0.2, std = 0.1, min = 0.0 }
delay = { dist = "uniform", low = 0.0, high = 2.0 }
connectivity = "fixed_total_number"
n = 400
[[projections]]
name = "aa"
pre = "a"
post = "a"
synapse = { kind = "exp_current", tau = 2.0 }
weight = -0.1
delay = 1.0
connectivity = "fixed_indegree"
indegree = 5
allow_autapses = false
[simulation]
dt = 0.1
duration = 20.0
seed = 4
"""


def test_lowering_draws_rules_weights_delays_params_and_initial_state():
    """Delays of D ms become round(D / dt) + 1 steps, packed in uint8; weights keep the sign
    their redraw bounds; per-neuron tau_m and initial channels land in the built arrays."""
    spec = loads_model(NET, "rules.toml")
    assert loads_model(dumps_model(spec)) == spec
    g = lower_populations(spec)
    ab = g.projections[0]
    assert ab.delays.dtype == np.uint8 and ab.delays.min() >= 1 and ab.delays.max() <= 21
    assert np.all(ab.weights >= 0) and ab.weights.size == 400
    assert g.projections[1].delays is None and g.projections[1].delay == 11
    built = build(g)
    tau = g.population("a").params["tau_m"]
    assert np.all((8.0 <= tau) & (tau < 12.0)) and np.unique(tau).size == 50
    c = built.channels[("a", "e")]
    np.testing.assert_array_equal(built.new_state().syn[c, :50],
                                  g.population("a").initial["syn_e"])
    # the delays reach the Model packed, one byte per synapse, in the order of the weights
    assert built.model.delays.dtype == np.uint8
    np.testing.assert_array_equal(built.model.delays[:400], ab.delays)
    again = lower_populations(loads_model(NET, "rules.toml"))
    assert np.array_equal(again.projections[0].weights, ab.weights)  # same seed, same draws


def test_split_delays_deliver_like_the_twin():
    """Distributed delays deliver the same spikes compiled and in the NumPy twin."""
    from neurosim.spike.population import simulate_network

    spec = loads_model(NET.replace('neuron = { kind = "lif" }',
                                   'neuron = { kind = "lif" }\ncurrent = 2.0')
                       .replace("size = 50\nneuron = { kind = \"lif\", tau_m = 10.0, r_m = 10.0",
                                "size = 50\ncurrent = 2.0\nneuron = { kind = \"lif\", tau_m = "
                                "10.0, r_m = 10.0")
                       + '[simulation.monitors]\nspikes = ["a", "b"]\n')
    a = simulate_network(spec)
    b = simulate_network(spec, reference=True)
    assert a.spikes["a"].count > 0
    for pop in ("a", "b"):
        assert np.array_equal(a.spikes[pop].times, b.spikes[pop].times)
    assert a.op_counts.to_dict() == b.op_counts.to_dict()


def test_bad_rules_and_fields_are_located():
    with pytest.raises(SpecError, match=r"projection 1 \(aa\): indegree: 60 exceeds the 49"):
        loads_model(NET.replace("indegree = 5", "indegree = 60\nallow_multapses = false"))
    with pytest.raises(SpecError, match=r"population 0 \(a\): initial: syn_x: not a state"):
        loads_model(NET.replace("initial = { syn_e", "initial = { syn_x"))
    with pytest.raises(SpecError, match=r"projection 0 \(ab\): n: fixed_total_number"):
        loads_model(NET.replace("n = 400", ""))


def test_variants_pick_regimes(models_dir):
    """Brunel's four regimes: g and eta as the paper's Figure 8 gives them."""
    want = {"SR": (3.0, 2.0), "AI": (5.0, 2.0), "SI_fast": (6.0, 4.0), "SI_slow": (4.5, 0.9)}
    assert load_model(models_dir / "brunel2000.toml").variant == "AI"
    for name, (g, eta) in want.items():
        spec = load_model(models_dir / "brunel2000.toml", variant=name)
        assert spec.projections[2].weight == pytest.approx(-g * 0.1)
        # nu_ext = eta nu_thr per external synapse, C_E = 1000 of them, nu_thr = 10 Hz
        assert spec.population("ext").neuron.rate == pytest.approx(1000 * eta * 10.0)
    with pytest.raises(SpecError, match="variant: unknown variant 'XX' \\(known: SR, AI"):
        load_model(models_dir / "brunel2000.toml", variant="XX")


def test_scaling_compensates_the_mean_input(models_dir):
    """At scale S, each in-degree is S times smaller and each weight 1/sqrt(S) larger; the
    current added is (1 - sqrt(S)) sum w K nu tau_syn: for L2/3E of the microcircuit, with
    its full-scale synapse counts, weights and rates, recomputed here by hand."""
    full = load_model(models_dir / "microcircuit.toml")
    assert full.n_neurons - 8 == 77169  # eight generators besides the neurons
    n_syn = sum(p.n for p in full.projections if p.connectivity == "fixed_total_number")
    assert 2.95e8 < n_syn < 3.0e8
    s = 0.1
    small = scale_network(full, s)
    assert small.population("L23E").size == 2068
    dc = 0.0
    for p in full.projections:
        if p.post != "L23E":
            continue
        w = p.weight.mean_value if isinstance(p.weight, Dist) else p.weight
        if p.pre.startswith("bg_"):
            k_nu = full.population(p.pre).neuron.rate
        else:
            k_nu = p.n / 20683 * full.scaling.rates[p.pre]
        dc += (1 - np.sqrt(s)) * w * k_nu * 1e-3 * 0.5
    assert small.population("L23E").current == pytest.approx(dc, rel=1e-12)
    q = next(p for p in small.projections if p.name == "L4E->L23E")
    q0 = next(p for p in full.projections if p.name == "L4E->L23E")
    assert q.n == round(q0.n * s * s)
    assert q.weight.mean == pytest.approx(q0.weight.mean / np.sqrt(s))
    assert small.population("bg_L23E").neuron.rate == pytest.approx(1600 * 8.0 * s)
