"""Neuron models against closed forms: LIF interspike interval, exact decay, rate functions,
and the validation of parameters and step sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurosim.errors import SpecError
from neurosim.specs.neurons import (
    IF,
    IZHIKEVICH_PRESETS,
    LIF,
    NEURON_MODELS,
    AdaptiveLIF,
    AdEx,
    HodgkinHuxley,
    Izhikevich,
    McCullochPitts,
    get_neuron_model,
    neuron_from_table,
)
from neurosim.spike.single import f_i_curve, rate_under_constant_drive, simulate_neuron

#: Exact integration is exact up to rounding of ~100 multiply-adds in float64.
EXACT_TOL = 1e-10
DT = 0.1


def test_lif_isi_equals_closed_form():
    """T = t_ref + tau ln((v_inf - v_reset) / (v_inf - v_th)); on a grid of dt the simulated
    interval is the closed form rounded to the grid: with R = t_ref/dt refractory steps the
    neuron is held R - 1 steps and then needs floor(T_free/dt) + 1 updates to cross."""
    for t_ref, current in ((0.0, 2.0), (2.0, 2.0), (5.0, 3.7), (2.0, 1.63)):
        nrn = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=t_ref)
        res = simulate_neuron(nrn, current, dt=DT, duration=400.0)
        isi = res.isi
        assert isi.size >= 3
        closed = float(nrn.isi(current))
        t_free = closed - t_ref
        ref_steps = round(t_ref / DT)
        expected = (max(ref_steps - 1, 0) + math.floor(t_free / DT) + 1) * DT
        np.testing.assert_allclose(isi, expected, atol=1e-9)
        assert abs(isi.mean() - closed) <= DT  # within one step of the closed form


def test_lif_exact_decay():
    """No input, v_rest = 0: v(t) = v0 exp(-t / tau) exactly at every sample."""
    nrn = LIF(tau_m=7.0, v_rest=0.0, v_th=10.0, v_reset=0.0)
    res = simulate_neuron(nrn, 0.0, dt=0.25, duration=50.0, v_init=-12.0)
    np.testing.assert_allclose(res.traces["v"], -12.0 * np.exp(-res.t / 7.0), rtol=EXACT_TOL)


def test_lif_constant_input_exact_relaxation():
    """v(t) = v_inf + (v0 - v_inf) exp(-t / tau) for a sub-threshold step current."""
    nrn = LIF(tau_m=20.0, r_m=5.0, v_rest=-70.0, v_th=-50.0)
    res = simulate_neuron(nrn, 2.0, dt=0.5, duration=100.0)
    v_inf = -70.0 + 5.0 * 2.0
    np.testing.assert_allclose(res.traces["v"], v_inf + (-70.0 - v_inf) * np.exp(-res.t / 20.0),
                               rtol=EXACT_TOL)


@pytest.mark.parametrize("current", [1.6, 2.0, 3.0, 6.0])
def test_lif_rate_matches_rate_function(current):
    """Rate over 2 s within one dt per interval of the closed-form curve."""
    nrn = LIF(t_ref=2.0)
    rate = rate_under_constant_drive(nrn, current, dt=DT, duration=2000.0)
    isi = float(nrn.isi(current))
    lo, hi = 1000.0 / (isi + DT), 1000.0 / max(isi - DT, 1e-9)
    # +-1 spike over the window for the phase of the first/last spike.
    assert lo - 0.5 <= rate <= hi + 0.5


def test_if_rate_matches_rate_function():
    """Reset by subtraction keeps the remainder, so count = floor(I T / (c_m v_th)) exactly."""
    nrn = IF(c_m=2.0, v_th=1.0, v_reset=0.0, reset="subtract")
    currents = np.array([-1.0, 0.0, 0.013, 0.2, 0.77, 1.5])
    rates = f_i_curve(nrn, currents, dt=1.0, duration=1000.0)
    expected = nrn.rate(currents)
    np.testing.assert_array_less(np.abs(rates - expected), 1.0 + 1e-9)  # one spike in 1 s
    assert rates[0] == 0.0 and rates[1] == 0.0


def test_if_reset_to_potential_rate():
    nrn = IF(c_m=1.0, v_th=1.0, v_reset=0.0, reset="potential", t_ref=0.0)
    rate = rate_under_constant_drive(nrn, 0.04, dt=0.1, duration=5000.0)
    # 1/rate = c_m v_th / I = 25 ms; the grid adds at most one step per interval.
    assert 1000.0 / (25.0 + 0.1) - 0.2 <= rate <= 40.0 + 0.2


def test_mcculloch_pitts_rate():
    nrn = McCullochPitts(theta=1.0)
    rates = f_i_curve(nrn, [0.5, 0.999, 1.0, 3.0], dt=1.0, duration=20.0)
    np.testing.assert_array_equal(rates, nrn.rate([0.5, 0.999, 1.0, 3.0], dt=1.0))


def test_every_model_with_a_rate_function_matches_it():
    """The signature test: each model that has a closed-form rate reproduces it."""
    for cls in NEURON_MODELS.values():
        nrn = cls()
        if not nrn.has_rate:
            continue
        dt = 1.0 if cls is McCullochPitts else DT
        currents = {"if": [0.5, 2.0], "lif": [2.0, 4.0], "mcculloch_pitts": [0.0, 2.0]}
        cur = np.array(currents[nrn.kind])
        got = f_i_curve(nrn, cur, dt=dt, duration=2000.0)
        want = nrn.rate(cur, dt=dt)
        # One dt per interspike interval, plus one spike of phase over the window.
        assert np.all(np.abs(1.0 / np.maximum(got, 1e-9) - 1.0 / np.maximum(want, 1e-9))
                      * 1000.0 <= dt + 1e-9) or np.allclose(got, want, atol=1.0), nrn.kind


def test_adaptive_lif_adapts():
    """Intervals grow with adaptation; the first interval is the plain LIF one."""
    nrn = AdaptiveLIF(tau_w=100.0, b=0.1, t_ref=2.0)
    res = simulate_neuron(nrn, 3.0, dt=DT, duration=500.0, record=("v", "w"))
    assert res.isi[-1] > res.isi[0]
    lif = LIF(t_ref=2.0)
    first = res.spike_times[0]
    assert abs(first - simulate_neuron(lif, 3.0, dt=DT, duration=50.0).spike_times[0]) < 1e-9
    # w decays exactly between spikes: w(t+dt) = w exp(-dt/tau_w).
    w = res.traces["w"]
    k = int(round(res.spike_times[1] / DT)) + 3
    assert abs(w[k + 1] - w[k] * math.exp(-DT / 100.0)) < 1e-12


def test_hh_currents_and_gates_recordable():
    nrn = HodgkinHuxley()
    res = simulate_neuron(nrn, 0.0, dt=0.01, duration=20.0,
                          record=("v", "m", "h", "n", "i_na", "i_k", "i_l"))
    # At rest, the total ionic current balances (no drive): i_na + i_k + i_l ~ 0.
    total = res.traces["i_na"] + res.traces["i_k"] + res.traces["i_l"]
    assert np.all(np.abs(total[-100:]) < 1e-3)
    m_inf, h_inf, n_inf = nrn.steady_gates(-65.0)
    assert res.traces["m"][0] == pytest.approx(m_inf)
    assert res.traces["n"][0] == pytest.approx(n_inf)
    driven = simulate_neuron(nrn, 10.0, dt=0.01, duration=50.0)
    assert driven.n_spikes >= 3  # tonic firing at 10 uA/cm^2


def test_izhikevich_presets_are_the_paper_values():
    assert IZHIKEVICH_PRESETS["regular_spiking"] == (0.02, 0.2, -65.0, 8.0)
    assert IZHIKEVICH_PRESETS["chattering"] == (0.02, 0.2, -50.0, 2.0)
    nrn = Izhikevich.preset("fast_spiking")
    assert (nrn.a, nrn.d) == (0.1, 2.0)
    with pytest.raises(SpecError, match="known: regular_spiking"):
        Izhikevich.preset("bogus")
    table = neuron_from_table({"kind": "izhikevich", "preset": "resonator"}, "m.toml")
    assert (table.a, table.b) == (0.1, 0.26)


def test_unknown_neuron_type_lists_known():
    with pytest.raises(SpecError) as err:
        get_neuron_model("quadratic", "models/x.toml: population 0 (exc): neuron")
    msg = str(err.value)
    for kind in ("if", "lif", "alif", "izhikevich", "adex", "hh", "mcculloch_pitts"):
        assert kind in msg
    assert msg.startswith("models/x.toml: population 0 (exc): neuron: kind")


@pytest.mark.parametrize("table,field", [
    ({"kind": "lif", "tau_m": 0.0}, "tau_m"),
    ({"kind": "lif", "tau_m": -3.0}, "tau_m"),
    ({"kind": "alif", "tau_w": 0.0}, "tau_w"),
    ({"kind": "adex", "c_m": -1.0}, "c_m"),
    ({"kind": "lif", "v_th": -80.0}, "v_th"),
    ({"kind": "lif", "reset": "zero"}, "reset"),
    ({"kind": "hh", "method": "leapfrog"}, "method"),
    ({"kind": "lif", "tau": 3.0}, "tau"),
])
def test_bad_parameters_name_the_field(table, field):
    with pytest.raises(SpecError, match=f"m.toml: neuron: {field}"):
        neuron_from_table(table, "m.toml: neuron")


def test_dt_bounds_name_dt():
    with pytest.raises(ValueError, match="dt: hh with the rk4 integrator needs dt <= 0.05"):
        HodgkinHuxley(method="rk4").check_dt(0.1)
    HodgkinHuxley().check_dt(0.1)
    with pytest.raises(ValueError, match="dt: izhikevich .* dt <= 1.0"):
        Izhikevich().check_dt(2.0)
    with pytest.raises(ValueError, match="dt: adex"):
        AdEx().check_dt(0.5)
    with pytest.raises(SpecError, match="dt"):
        simulate_neuron(HodgkinHuxley(), 0.0, dt=0.2, duration=1.0)
