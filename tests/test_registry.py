"""One neuron vocabulary: every registered model's simulated rate equals its rate function;
a model added as one module (tests/toy_qif.py: a quadratic integrate-and-fire neuron) runs in
a population network and as a layer with nothing else changed; the layered fast path and the
general engine run one graph to the same spikes."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from neurosim.builder.params import init_params
from neurosim.convert import convert
from neurosim.neurons import NEURON_MODELS, load_models
from neurosim.rate import network as rate_net
from neurosim.specs import Dense, Network, loads_model
from neurosim.spike.layered import run_spiking
from neurosim.spike.population import simulate_network
from neurosim.spike.single import f_i_curve

#: Drives (in each model's drive units) under which the rate test runs, and the step.
DRIVES = {"if": [0.2, 1.0, 3.0], "lif": [1.6, 2.0, 4.0], "mcculloch_pitts": [1.0, 2.0],
          "qif": [0.1, 0.5, 2.0]}
DT = {"mcculloch_pitts": 1.0}


@pytest.fixture(autouse=True)
def toy_registered():
    """The toy model is registered while these tests run (importing tests/toy_qif.py runs its
    one registration line), and only then, so other tests see the package's own registry."""
    import toy_qif

    importlib.reload(toy_qif)  # the registration runs on import
    yield toy_qif.QIF
    NEURON_MODELS.pop("qif", None)


@pytest.mark.parametrize("kind", sorted(k for k, c in load_models().items() if not c.is_source)
                         + ["qif"])  # sources: tests/test_sources.py
def test_simulated_rate_equals_rate_function(kind):
    """The signature test of a neuron model, over the whole registry: under constant drive its
    simulated rate equals its closed-form rate function (within the spikes lost to a finite
    run and to the step's quantisation of each interval); models without a closed form say so
    (``has_rate`` false, ``rate`` raises)."""
    nrn = NEURON_MODELS[kind]()
    if not nrn.has_rate:
        with pytest.raises(NotImplementedError):
            nrn.rate(1.0)  # no closed form: its reference is Brian2 (test_brian2_neurons.py)
        return
    dt = DT.get(kind, 0.01)
    drives = np.array(DRIVES[kind])
    duration = 1000.0
    sim = f_i_curve(nrn, drives, dt=dt, duration=duration, warmup=100.0)
    closed = nrn.rate(drives, dt=dt)
    assert np.all(closed > 0)
    # each interval is rounded up to whole steps: at most one step per interval
    isi = 1000.0 / closed
    low = 1000.0 / (isi + dt) - 1000.0 / (duration - 100.0)
    assert np.all(sim >= low - 1e-9) and np.all(sim <= closed + 1000.0 / (duration - 100.0)), \
        (kind, sim, closed)


QIF_NET = """
name = "qif-net"
[[populations]]
name = "drv"
size = 20
neuron = { kind = "qif", tau_m = 10.0, r_m = 10.0, v_s = 10.0 }
current = 0.5
v_init = { dist = "uniform", low = -10.0, high = 0.0 }
[[populations]]
name = "tgt"
size = 10
neuron = { kind = "qif" }
[[projections]]
pre = "drv"
post = "tgt"
synapse = { kind = "exp_current", tau = 5.0 }
weight = 0.05
delay = 1.0
connectivity = "all_to_all"
[simulation]
dt = 0.05
duration = 200.0
seed = 1
[simulation.monitors]
spikes = ["drv", "tgt"]
state = [{ population = "tgt", variables = ["v", "syn_e"], indices = [0] }]
"""


def test_toy_model_runs_in_a_population_network():
    spec = loads_model(QIF_NET, "qif-net.toml")
    res = simulate_network(spec)
    ref = simulate_network(spec, reference=True)
    rate = NEURON_MODELS["qif"](tau_m=10.0, r_m=10.0, v_s=10.0).rate(0.5)
    # the driven population fires at its rate function (started below 0: the first spike
    # comes within one interval)
    assert res.spikes["drv"].mean_rate == pytest.approx(float(rate), rel=0.05)
    assert res.spikes["tgt"].count > 0  # driven only through the synapses
    assert np.array_equal(res.spikes["tgt"].indices, ref.spikes["tgt"].indices)
    assert np.array_equal(res.spikes["tgt"].times, ref.spikes["tgt"].times)
    assert res.state["tgt"]["syn_e"].max() > 0


def test_toy_model_runs_as_a_layer():
    """A layer names the toy model: the classic mode trains through its rate function (Hz,
    differentiated numerically), conversion keeps classic units, and the spiking network
    (general engine: the model has no batched step) classifies like the classic one."""
    qif = NEURON_MODELS["qif"](tau_m=10.0, r_m=10.0, v_s=10.0, v_peak=30.0, v_reset=-10.0)
    spec = Network(name="qif-layer", input_shape=(4,), layers=(
        Dense(units=6, neuron=qif), Dense(units=3, activation="softmax")))
    assert spec.layers[0].activation == "rate"
    rng = np.random.default_rng(0)
    params = init_params(spec, rng)
    params[0]["W"][:] = np.abs(params[0]["W"])
    params[0]["b"][:] = 0.3
    params[1]["W"][:] *= 0.01
    x = rng.random((12, 4)).astype(np.float32)
    z = x @ params[0]["W"].T + params[0]["b"]
    np.testing.assert_allclose(rate_net.activations(spec, params, x)[0], qif.rate(z),
                               rtol=1e-5)
    conv = convert(spec, params, x)
    classic = rate_net.predict(spec, params, x)
    res = run_spiking(spec, conv.params, x, timesteps=2000, dt=0.05, readout="membrane",
                      progress=False)
    assert res.layer_spikes[:, 0].sum() > 0
    assert np.mean(res.predictions == classic) >= 0.9


def _quantised_net(rng):
    """A small converted ReLU MLP whose weights, biases and inputs are multiples of 1/16, so
    float32 and float64 sums are exact and the two engines must agree spike for spike."""
    spec = Network(name="q", input_shape=(8,), layers=(
        Dense(units=10, activation="relu"), Dense(units=6, activation="relu"),
        Dense(units=4, activation="softmax")))
    params = init_params(spec, rng)
    for p in params:
        p["W"][:] = np.round(p["W"] * 4) / 16
        p["b"][:] = np.round(rng.normal(0.1, 0.2, p["b"].shape) * 16) / 16
    x = (rng.integers(0, 17, (6, 8)) / 16).astype(np.float32)
    return spec, params, x


@pytest.mark.parametrize("encoder, readout", [("current", "membrane"), ("current", "count"),
                                              ("poisson", "count")])
def test_fast_path_and_general_engine_agree(encoder, readout):
    spec, params, x = _quantised_net(np.random.default_rng(4))
    runs = [run_spiking(spec, params, x, timesteps=40, encoder=encoder, readout=readout,
                        rng=np.random.default_rng(2), checkpoints=(7, 20), progress=False,
                        record_sample=1, record_counts=True, engine=engine)
            for engine in ("fast", "general")]
    a, b = runs
    assert a.layer_spikes.sum() > 20
    np.testing.assert_array_equal(a.output_counts, b.output_counts)
    np.testing.assert_array_equal(a.output_potentials, b.output_potentials)
    np.testing.assert_array_equal(a.layer_spikes, b.layer_spikes)
    for ra, rb in zip(a.raster, b.raster):
        np.testing.assert_array_equal(ra, rb)
    for ca, cb in zip(a.neuron_counts, b.neuron_counts):
        np.testing.assert_array_equal(ca, cb)
    assert a.opcounts_at == b.opcounts_at
