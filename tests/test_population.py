"""Population networks: model files (strict keys, located errors, round trip), connectivity,
hand-counted operations, delays and monitors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurosim.builder.connectivity import fixed_indegree, random_connectivity
from neurosim.builder.lower import lower_populations
from neurosim.builder.model import build
from neurosim.errors import SpecError
from neurosim.specs.io import dumps_model, load_model, loads_model
from neurosim.specs.neurons import IF, LIF, HodgkinHuxley
from neurosim.specs.populations import (
    Monitors,
    Population,
    PopulationNetwork,
    Projection,
    Simulation,
    StateProbe,
)
from neurosim.specs.synapses import Delta, ExpCurrent
from neurosim.spike.population import simulate_network

SMALL = """
name = "small"
[[populations]]
name = "a"
size = 4
neuron = { kind = "lif", tau_m = 10.0 }
[[populations]]
name = "b"
size = 3
neuron = { kind = "izhikevich", preset = "chattering" }
[[projections]]
pre = "a"
post = "b"
synapse = { kind = "exp_current", tau = 5.0 }
weight = 1.0
connectivity = "random"
p = 0.5
[simulation]
dt = 0.1
duration = 10.0
"""


def test_model_files_load_and_round_trip(models_dir):
    for name in ("cuba.toml", "coba.toml"):
        spec = load_model(models_dir / name)
        assert isinstance(spec, PopulationNetwork)
        assert spec.n_neurons == 4000
        again = loads_model(dumps_model(spec), "again")
        assert again == spec
    spec = loads_model(SMALL, "small.toml")
    assert spec.populations[1].neuron.c == -50.0
    assert loads_model(dumps_model(spec)) == spec


@pytest.mark.parametrize("change,message", [
    (('post = "b"', 'post = "c"'),
     "small.toml: projection 0 (a->c): post: unknown population 'c' (known: a, b)"),
    (('kind = "lif"', 'kind = "qif"'),
     "small.toml: population 0 (a): neuron: kind: unknown neuron type 'qif' (known: if, lif"),
    (("tau_m = 10.0", "tau_m = -1.0"),
     "small.toml: population 0 (a): neuron: tau_m: must be a positive number"),
    (("weight = 1.0", "weight = [[1.0, 2.0]]"),
     "small.toml: projection 0 (a->b): weight"),
    (("p = 0.5", "p = 1.5"), "small.toml: projection 0 (a->b): p: random connectivity"),
    (("size = 4", "size = 0"), "small.toml: population 0 (a): size"),
    (("dt = 0.1", "dt = 2.0"), "small.toml: population 1 (b): neuron: dt: izhikevich"),
    (("duration = 10.0", "duration = 10.0\nspeed = 3"), "small.toml: simulation: speed: unknown"),
    (('kind = "exp_current"', 'kind = "alpha"'),
     "small.toml: projection 0 (a->b): synapse: kind: unknown synapse kind 'alpha'"),
])
def test_errors_name_file_item_and_field(change, message):
    with pytest.raises(SpecError) as err:
        loads_model(SMALL.replace(*change), "small.toml")
    assert str(err.value).startswith(message), str(err.value)


def test_weight_array_shape_must_match():
    bad = SMALL.replace('weight = 1.0\nconnectivity = "random"\np = 0.5',
                        'weight = [[1.0, 2.0], [3.0, 4.0]]\nconnectivity = "all_to_all"')
    with pytest.raises(SpecError, match=r"weight: array shape \(2, 2\) does not match "
                                        r"\(pre, post\) = \(4, 3\)"):
        loads_model(bad, "small.toml")


def test_shared_target_needs_same_synapse():
    lif = LIF()
    with pytest.raises(SpecError, match="projections into one target must share"):
        PopulationNetwork(name="x", populations=(Population(name="a", size=2, neuron=lif),),
                          projections=(
                              Projection(pre="a", post="a", synapse=ExpCurrent(tau=5.0)),
                              Projection(pre="a", post="a", synapse=ExpCurrent(tau=9.0))))


def test_random_connectivity_statistics():
    """Synapse count ~ Binomial(n_pre n_post, p): within 5 standard deviations."""
    rng = np.random.default_rng(0)
    n_pre, n_post, p = 400, 300, 0.05
    conn = random_connectivity(n_pre, n_post, p, rng)
    mean, sd = n_pre * n_post * p, math.sqrt(n_pre * n_post * p * (1 - p))
    assert abs(conn.n_synapses - mean) < 5 * sd
    pre, post = conn.pairs()
    assert len({(a, b) for a, b in zip(pre, post, strict=True)}) == conn.n_synapses  # distinct
    assert np.all(np.diff(conn.indptr) >= 0) and post.max() < n_post
    no_self = random_connectivity(50, 50, 0.5, rng, autapses=False)
    pre, post = no_self.pairs()
    assert not np.any(pre == post)


def test_fixed_indegree():
    rng = np.random.default_rng(1)
    conn = fixed_indegree(20, 30, 7, rng, autapses=False)
    pre, post = conn.pairs()
    np.testing.assert_array_equal(np.bincount(post, minlength=30), 7)
    assert not np.any(pre == post)


def test_op_counts_by_hand():
    """IF neurons driven at exactly one spike every 4 steps (I dt / c_m = 0.25 per step,
    threshold 1, reset by subtraction: v = 0.25, 0.5, 0.75, 1.0, 1.25 -> spike at the 5th
    step, then every 4th). Over 41 steps: spikes at steps 4, 8, ..., 40 -> 10 spikes each.
    3 pre neurons all-to-all onto 2 targets: SOPs = 3 * 10 * 2 = 60; neuron updates
    = 41 * (3 + 2); the targets get zero weight so they stay silent."""
    spec = PopulationNetwork(
        name="count",
        populations=(Population(name="src", size=3, neuron=IF(), current=0.25),
                     Population(name="dst", size=2, neuron=IF())),
        projections=(Projection(pre="src", post="dst", synapse=Delta(), weight=0.0),),
        simulation=Simulation(dt=1.0, duration=41.0, monitors=Monitors(spikes=("src",))))
    res = simulate_network(spec)
    assert res.spikes["src"].count == 30
    ops = {row.name: row for row in res.op_counts.layers}
    assert ops["src->dst"].sops == 60
    assert ops["src"].neuron_updates == 41 * 3 and ops["dst"].neuron_updates == 41 * 2
    assert ops["src"].spikes == 30 and ops["dst"].spikes == 0
    d = res.op_counts.to_dict()
    assert d["mode"] == "spiking" and d["total"]["sops"] == 60


def test_delay_and_state_monitor():
    """A delta synapse with delay 3 ms: the target's v jumps by w exactly 3 steps after the
    source's spike step (recorded at the start of the following step)."""
    src = IF(c_m=1.0, v_th=1.0)
    dst = LIF(tau_m=1e9, r_m=1.0, v_rest=0.0, v_th=100.0, v_reset=0.0)  # an integrator
    spec = PopulationNetwork(
        name="delay",
        populations=(Population(name="s", size=1, neuron=src, current=0.6),
                     Population(name="d", size=1, neuron=dst)),
        projections=(Projection(pre="s", post="d", synapse=Delta(), weight=5.0, delay=3.0),),
        simulation=Simulation(dt=1.0, duration=10.0, monitors=Monitors(
            spikes=("s",), state=(StateProbe(population="d", variables=("v",),
                                             indices=(0,)),))))
    res = simulate_network(spec)
    first = int(res.spikes["s"].times[0])  # 0.6, 1.2 -> spike at step 1
    assert first == 1
    v = res.state["d"]["v"][0]
    arrive = first + 3
    assert np.all(np.abs(v[:arrive + 1]) < 1e-6)
    assert abs(v[arrive + 1] - 5.0) < 1e-6


def test_population_rates_and_hh_currents():
    hh = HodgkinHuxley()
    spec = PopulationNetwork(
        name="hh",
        populations=(Population(name="h", size=2, neuron=hh, current=10.0),),
        simulation=Simulation(dt=0.01, duration=30.0, monitors=Monitors(
            rates=("h",), spikes=("h",),
            state=(StateProbe(population="h", variables=("v", "m", "h", "n", "i_na"),
                              indices=(1,)),))))
    res = simulate_network(spec)
    rate = res.rates["h"]
    # Sum of the per-step population rate * dt = spikes per neuron * 1000.
    assert abs(rate.sum() * 0.01 / 1000 * 2 - res.spikes["h"].count) < 1e-9
    st = res.state["h"]
    np.testing.assert_allclose(st["i_na"], hh.g_na * st["m"] ** 3 * st["h"] * (st["v"] - 50.0))


def test_seed_gives_same_network():
    spec = loads_model(SMALL)
    a, b, c = (build(lower_populations(spec, seed=s)).model for s in (3, 3, 4))
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.indices.size != c.indices.size or not np.array_equal(a.indices, c.indices)
