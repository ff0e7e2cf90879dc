"""Single neurons against Brian2 running the same equations with the same integration method
(Brian2's numpy target: no compilation, quick for one neuron).

Methods: LIF and adaptive LIF ``exact`` (both exact here), Izhikevich and AdEx ``euler``
(forward Euler in both), HH ``exponential_euler`` (the same update rule). With the same
rule on the same grid the spike steps agree; the tolerance of one dt allows a rounding
difference to move a threshold crossing by one step.
"""

from __future__ import annotations

import brian2 as b2
import numpy as np
import pytest
from brian2 import Mohm, mA, ms, mV, mvolt, nA, nF, uF, uS  # noqa: F401  (used in strings)

from neurosim.specs.neurons import (
    IZHIKEVICH_PRESETS,
    LIF,
    AdaptiveLIF,
    AdEx,
    HodgkinHuxley,
    Izhikevich,
)
from neurosim.spike.single import simulate_neuron

DT = 0.1
#: One step: the same update rule on the same grid can differ only by a crossing moved by
#: float rounding to the neighbouring step.
ONE_STEP = DT + 1e-9
cm2 = b2.cmeter ** 2

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _brian2_run(eqs, *, threshold, reset, refractory, method, n, duration, dt, init,
                namespace):
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt * ms
    group = b2.NeuronGroup(n, eqs, threshold=threshold, reset=reset, refractory=refractory,
                           method=method, namespace=namespace)
    for name, value in init.items():
        setattr(group, name, value)
    mon = b2.SpikeMonitor(group)
    net = b2.Network(group, mon)
    net.run(duration * ms, namespace=namespace)
    trains = mon.spike_trains()
    return [np.asarray(trains[k] / ms) for k in range(n)]


def _assert_same_spikes(ours, theirs, tol=ONE_STEP):
    assert ours.size == theirs.size, (ours, theirs)
    assert ours.size > 0
    np.testing.assert_allclose(ours, theirs, atol=tol, rtol=0)


@pytest.mark.parametrize("t_ref,current", [(0.0, 2.0), (2.0, 3.1)])
def test_lif_matches_brian2(t_ref, current):
    nrn = LIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, t_ref=t_ref)
    ours = simulate_neuron(nrn, current, dt=DT, duration=200.0).spike_times
    theirs = _brian2_run(
        "dv/dt = (-(v - v_rest) + r_m * I) / tau_m : volt (unless refractory)",
        threshold="v > v_th", reset="v = v_reset", refractory=t_ref * ms, method="exact", n=1,
        duration=200.0, dt=DT, init={"v": -65.0 * mV},
        namespace={"v_rest": -65 * mV, "r_m": 10 * Mohm, "I": current * nA, "tau_m": 10 * ms,
                   "v_th": -50 * mV, "v_reset": -65 * mV})[0]
    _assert_same_spikes(ours, theirs)


def test_adaptive_lif_matches_brian2():
    nrn = AdaptiveLIF(tau_m=10.0, r_m=10.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0,
                      t_ref=2.0, tau_w=80.0, b=0.15)
    ours = simulate_neuron(nrn, 3.0, dt=DT, duration=300.0).spike_times
    theirs = _brian2_run(
        """dv/dt = (-(v - v_rest) + r_m * (I - w)) / tau_m : volt (unless refractory)
           dw/dt = -w / tau_w : amp""",
        threshold="v > v_th", reset="v = v_reset; w += b", refractory=2 * ms, method="exact",
        n=1, duration=300.0, dt=DT, init={"v": -65.0 * mV},
        namespace={"v_rest": -65 * mV, "r_m": 10 * Mohm, "I": 3 * nA, "tau_m": 10 * ms,
                   "v_th": -50 * mV, "v_reset": -65 * mV, "tau_w": 80 * ms, "b": 0.15 * nA})[0]
    _assert_same_spikes(ours, theirs)
    assert np.diff(ours)[-1] > np.diff(ours)[0]  # it adapts


def test_izhikevich_every_named_set_matches_brian2():
    names = list(IZHIKEVICH_PRESETS)
    params = np.array([IZHIKEVICH_PRESETS[k] for k in names])
    current = 10.0
    theirs = _brian2_run(
        """dv/dt = (0.04 * v**2 + 5 * v + 140 - u + I) / ms : 1
           du/dt = a * (b * v - u) / ms : 1
           a : 1
           b : 1
           c : 1
           d : 1""",
        threshold="v >= 30", reset="v = c; u += d", refractory=False, method="euler",
        n=len(names), duration=300.0, dt=DT,
        init={"a": params[:, 0], "b": params[:, 1], "c": params[:, 2], "d": params[:, 3],
              "v": -65.0, "u": params[:, 1] * -65.0},
        namespace={"I": current})
    for k, name in enumerate(names):
        ours = simulate_neuron(Izhikevich.preset(name), current, dt=DT,
                               duration=300.0).spike_times
        _assert_same_spikes(ours, theirs[k])


def test_adex_matches_brian2():
    nrn = AdEx()
    ours = simulate_neuron(nrn, 1.0, dt=DT, duration=400.0).spike_times
    theirs = _brian2_run(
        """dv/dt = (-g_l * (v - e_l) + g_l * delta_t * exp((v - v_t) / delta_t) - w + I) / c_m
                   : volt
           dw/dt = (a * (v - e_l) - w) / tau_w : amp""",
        threshold="v > v_peak", reset="v = v_reset; w += b", refractory=False,
        method="euler", n=1, duration=400.0, dt=DT, init={"v": nrn.e_l * mV},
        namespace={"g_l": nrn.g_l * uS, "e_l": nrn.e_l * mV, "delta_t": nrn.delta_t * mV,
                   "v_t": nrn.v_t * mV, "I": 1.0 * nA, "c_m": nrn.c_m * nF, "a": nrn.a * uS,
                   "tau_w": nrn.tau_w * ms, "v_peak": nrn.v_peak * mV,
                   "v_reset": nrn.v_reset * mV, "b": nrn.b * nA})[0]
    _assert_same_spikes(ours, theirs)
    assert np.diff(ours)[-1] > np.diff(ours)[0]  # spike-frequency adaptation


def test_hh_matches_brian2():
    nrn = HodgkinHuxley()
    dt = 0.01
    ours = simulate_neuron(nrn, 10.0, dt=dt, duration=60.0).spike_times
    m0, h0, n0 = nrn.steady_gates(-65.0)
    theirs = _brian2_run(
        """dv/dt = (-g_na * m**3 * h * (v - e_na) - g_k * n**4 * (v - e_k) - g_l * (v - e_l)
                    + I) / c_m : volt
           dm/dt = alpha_m * (1 - m) - beta_m * m : 1
           dh/dt = alpha_h * (1 - h) - beta_h * h : 1
           dn/dt = alpha_n * (1 - n) - beta_n * n : 1
           alpha_m = 1 / exprel(-(v / mV + 40) / 10) / ms : Hz
           beta_m = 4 * exp(-(v / mV + 65) / 18) / ms : Hz
           alpha_h = 0.07 * exp(-(v / mV + 65) / 20) / ms : Hz
           beta_h = 1 / (1 + exp(-(v / mV + 35) / 10)) / ms : Hz
           alpha_n = 0.1 / exprel(-(v / mV + 55) / 10) / ms : Hz
           beta_n = 0.125 * exp(-(v / mV + 65) / 80) / ms : Hz""",
        threshold="v > -20 * mV", reset="", refractory="v > -20 * mV",
        method="exponential_euler", n=1, duration=60.0, dt=dt,
        init={"v": -65.0 * mV, "m": m0, "h": h0, "n": n0},
        namespace={"g_na": 120 * b2.msiemens / cm2, "g_k": 36 * b2.msiemens / cm2,
                   "g_l": 0.3 * b2.msiemens / cm2, "e_na": 50 * mV, "e_k": -77 * mV,
                   "e_l": -54.387 * mV, "c_m": 1 * uF / cm2,
                   "I": 10 * b2.uamp / cm2})[0]
    _assert_same_spikes(ours, theirs, tol=dt + 1e-9)
