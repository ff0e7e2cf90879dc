"""The Hodgkin-Huxley action potential: gates, currents, and the f-I curve's abrupt onset.

Hodgkin & Huxley (1952, J. Physiol. 117:500) explained the squid axon's spike with two
voltage-gated conductances: sodium ``g_Na m^3 h`` and potassium ``g_K n^4``, plus a leak.
A brief current pulse depolarises the membrane; the fast activation gate ``m`` opens sodium
channels, the inward sodium current drives ``v`` up towards ``E_Na`` (+50 mV) (positive
feedback: the upstroke); then the slower inactivation gate ``h`` closes sodium channels and
the delayed-rectifier gate ``n`` opens potassium channels, whose outward current brings ``v``
back below rest (the after-hyperpolarisation), from which the gates recover.

Under constant current the model fires repetitively only above about 6.3 uA/cm^2, and then
at once at about 50-60 Hz: a discontinuous (class II, Hodgkin 1948) f-I curve, born in a
subcritical Hopf bifurcation, unlike the LIF's continuous onset at its rheobase. Rates are
counted after a 200 ms warm-up, so the transient spike at current onset is left out.

Units per unit membrane area: mV, ms, uA/cm^2, mS/cm^2 (see
:class:`neurosim.specs.neurons.HodgkinHuxley`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..specs.neurons import HodgkinHuxley
from ..spike.single import f_i_curve, simulate_neuron

__all__ = ["NEURON", "DT", "PULSE", "run", "onset_current"]

NEURON = HodgkinHuxley()
#: Integration step (ms): well inside the exponential-Euler limit of 0.1 ms.
DT = 0.01
#: Stimulus of the single action potential: amplitude (uA/cm^2), onset and width (ms).
PULSE = (20.0, 5.0, 1.0)
TRACE_MS = 30.0
WARMUP_MS = 200.0


def onset_current(currents, rates) -> tuple[float, float]:
    """The smallest current with a non-zero rate and that rate (Hz); ``(nan, nan)`` if none."""
    firing = np.flatnonzero(np.asarray(rates) > 0)
    if firing.size == 0:
        return float("nan"), float("nan")
    return float(currents[firing[0]]), float(rates[firing[0]])


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """One action potential with its gates and currents; the f-I curve and its onset."""
    from ..plot import teaching

    del seed  # deterministic
    out = Path(out_dir)
    t = np.arange(int(round(TRACE_MS / DT))) * DT
    amp, on, width = PULSE
    stim = np.where((t >= on) & (t < on + width), amp, 0.0)
    ap = simulate_neuron(NEURON, stim, dt=DT, record=NEURON.state_vars)
    v = ap.traces["v"]
    k_peak = int(np.argmax(v))

    duration = 600.0 if quick else 1200.0
    coarse = np.linspace(0.0, 20.0, 21 if quick else 41)
    fine = np.round(np.arange(5.5, 7.51, 0.1 if quick else 0.05), 3)
    currents = np.unique(np.r_[coarse, fine])
    rates = f_i_curve(NEURON, currents, dt=DT, duration=duration, warmup=WARMUP_MS)
    i_on, r_on = onset_current(currents, rates)
    examples = {}
    for i in (round(i_on - 0.5, 2), round(i_on + 1.0, 2)):
        examples[i] = simulate_neuron(NEURON, i, dt=DT, duration=150.0, record=("v",))

    figures = [
        teaching.hh_action_potential_figure(out / "hh_action_potential.png", t, ap.traces,
                                            stim, NEURON),
        teaching.hh_fi_figure(out / "hh_fi_curve.png", currents, rates, i_on, r_on, examples,
                              duration - WARMUP_MS),
    ]
    return {
        "spike_peak_mv": float(v[k_peak]),
        "spike_peak_time_ms": float(t[k_peak]),
        "after_hyperpolarisation_min_mv": float(v[k_peak:].min()),
        "resting_potential_mv": float(v[0]),
        "m_max": float(ap.traces["m"].max()),
        "h_min": float(ap.traces["h"].min()),
        "n_max": float(ap.traces["n"].max()),
        "peak_inward_na_current_ua_cm2": float(ap.traces["i_na"].min()),
        "peak_outward_k_current_ua_cm2": float(ap.traces["i_k"].max()),
        "onset_current_ua_cm2": i_on,
        "rate_at_onset_hz": r_on,
        "rate_at_20_ua_cm2_hz": float(rates[np.argmin(np.abs(currents - 20.0))]),
        "figures": [str(f) for f in figures],
    }
