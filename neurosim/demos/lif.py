"""The leaky integrate-and-fire neuron, its f-I curve, and rate coding.

1. **Membrane trace** (Lapicque 1907; Gerstner et al., *Neuronal Dynamics*, ch. 1): under a
   current step ``I``, ``tau_m dv/dt = -(v - v_rest) + R I`` charges the membrane towards
   ``v_inf = v_rest + R I``; when ``v`` crosses ``v_th`` the neuron spikes, ``v`` is reset to
   ``v_reset`` and held there for the refractory period ``t_ref``.
2. **f-I curve**: the interspike interval under constant ``I`` is
   ``T = t_ref + tau_m ln((v_inf - v_reset) / (v_inf - v_th))`` (zero rate below the rheobase
   ``I_rh = (v_th - v_rest) / R``). The simulated rates lie on this closed form. The
   integrate-and-fire neuron without leak and with reset by subtraction fires at
   ``r = max(I, 0) / (C (v_th - v_reset))``: exactly a ReLU of its input current. That is why
   a ReLU network can be converted into a spiking one (Cao, Chen & Khosla 2015; Diehl et al.
   2015): each ReLU becomes an IF neuron whose firing rate is the ReLU's output. The LIF curve
   is a ReLU softened near threshold and saturating at ``1 / t_ref``.
3. **Rate coding**: a value ``x`` in [0, 1] is sent as a Poisson spike train of rate
   ``x r_max``; the spike count in a window ``T_w`` estimates it with mean ``x r_max T_w`` and
   (Poisson) variance equal to the mean, so the estimate sharpens as ``1 / sqrt(T_w)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..specs.neurons import IF, LIF
from ..spike.encoders import Poisson
from ..spike.single import f_i_curve, simulate_neuron

__all__ = ["NEURON", "STEP_CURRENT", "FI_DT", "FI_DURATION", "if_twin", "rate_bounds", "run",
           "R_MAX_HZ", "WINDOW_MS"]

#: The demo neuron: tau_m = 10 ms, R = 10 MOhm, rest/reset -65 mV, threshold -50 mV, 2 ms
#: refractory (rheobase 1.5 nA).
NEURON = LIF()
#: Amplitude of the current step (nA) and its timing (ms).
STEP_CURRENT = 2.0
STEP_ON, STEP_OFF, TRACE_MS, TRACE_DT = 20.0, 180.0, 200.0, 0.1
#: Step (ms) and length (ms) of the f-I simulations.
FI_DT = 0.01
FI_DURATION = 1000.0
#: Rate code: maximal rate (Hz) and counting window (ms).
R_MAX_HZ = 100.0
WINDOW_MS = 500.0


def if_twin(neuron: LIF) -> IF:
    """The IF neuron with the LIF's capacitance ``C = tau_m / R`` and voltage range, reset by
    subtraction and no refractory period: rate ``1000 max(I, 0) / (C (v_th - v_reset))`` Hz."""
    return IF(c_m=neuron.tau_m / neuron.r_m, v_th=neuron.v_th - neuron.v_reset, v_reset=0.0,
              reset="subtract", t_ref=0.0)


def rate_bounds(neuron: LIF, currents, dt: float, duration: float):
    """Bounds on the rate a clock-driven simulation can give for the closed-form ISI ``T``.

    Spikes fall on the ``dt`` grid, so each simulated interval lies in ``[T, T + dt]``; and a
    count over ``duration`` (from rest, whose first interval lacks ``t_ref``) can differ from
    ``duration / T`` by one spike below and two above. Returns ``(low, high)`` in Hz.
    """
    isi = neuron.isi(currents)
    hz = 1000.0 / duration
    with np.errstate(divide="ignore"):
        low = np.where(np.isfinite(isi), 1000.0 / (isi + dt) - hz, 0.0)
        high = np.where(np.isfinite(isi), 1000.0 / isi + 2 * hz, 2 * hz)
    return np.maximum(low, 0.0), high


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Membrane trace under a step, f-I curves (LIF, IF, ReLU), Poisson rate code."""
    from ..plot import teaching

    out = Path(out_dir)
    rng = np.random.default_rng(seed)

    # 1. current step
    steps = int(round(TRACE_MS / TRACE_DT))
    t = np.arange(steps) * TRACE_DT
    current = np.where((t >= STEP_ON) & (t < STEP_OFF), STEP_CURRENT, 0.0)
    trace = simulate_neuron(NEURON, current, dt=TRACE_DT, record=("v",))
    isi_closed = float(NEURON.isi(STEP_CURRENT))

    # 2. f-I curves
    currents = np.linspace(0.0, 5.0, 26 if quick else 51)
    lif_sim = f_i_curve(NEURON, currents, dt=FI_DT, duration=FI_DURATION)
    lif_closed = NEURON.rate(currents)
    twin = if_twin(NEURON)
    if_sim = f_i_curve(twin, currents, dt=FI_DT, duration=FI_DURATION)
    if_closed = twin.rate(currents)
    low, high = rate_bounds(NEURON, currents, FI_DT, FI_DURATION)
    fine = np.linspace(0.0, 5.0, 501)

    # 3. rate code: 11 values, 20 (quick: 10) trials each, 1 ms bins
    values = np.linspace(0.0, 1.0, 11)
    trials = 10 if quick else 20
    t_win = int(WINDOW_MS)
    p = np.repeat(values, trials)[:, None] * (R_MAX_HZ * 1e-3)  # spike probability per ms
    spikes = Poisson().encode(p, t_win, rng)[:, :, 0]  # (values x trials, ms)
    counts = spikes.sum(axis=1).reshape(len(values), trials)
    expected = values * R_MAX_HZ * WINDOW_MS * 1e-3
    decoded = counts.mean(axis=1) / (R_MAX_HZ * WINDOW_MS * 1e-3)

    figures = [
        teaching.lif_trace_figure(out / "lif_trace.png", trace.t, trace.traces["v"], current,
                                  trace.spike_times, NEURON, isi_closed),
        teaching.lif_fi_figure(out / "lif_fi_curve.png", currents, lif_sim, if_sim, fine,
                               NEURON.rate(fine), twin.rate(fine), NEURON, twin),
        teaching.rate_code_figure(out / "rate_code.png", values, spikes.reshape(
            len(values), trials, t_win)[:, 0], counts, expected, R_MAX_HZ, WINDOW_MS),
    ]
    active = lif_closed > 0
    return {
        "rheobase_na": (NEURON.v_th - NEURON.v_rest) / NEURON.r_m,
        "step_spikes": trace.n_spikes,
        "step_isi_simulated_ms": float(np.mean(trace.isi)) if trace.n_spikes > 1 else
        float("nan"),
        "step_isi_closed_form_ms": isi_closed,
        "fi_max_abs_error_hz": float(np.max(np.abs(lif_sim - lif_closed))),
        "fi_max_rel_error_above_10hz": float(np.max(
            np.abs(lif_sim - lif_closed)[lif_closed > 10] / lif_closed[lif_closed > 10])),
        "fi_within_grid_bounds": bool(np.all((lif_sim >= low - 1e-9) & (lif_sim <= high))),
        "fi_rate_at_5na_hz": float(lif_sim[-1]),
        "if_max_abs_error_hz": float(np.max(np.abs(if_sim - if_closed))),
        "if_slope_hz_per_na": float(twin.rate(1.0)),
        "lif_silent_below_rheobase": bool(np.all(lif_sim[~active] == 0)),
        "rate_code_counts_mean": np.round(counts.mean(axis=1), 2).tolist(),
        "rate_code_counts_expected": expected.tolist(),
        "rate_code_max_decoding_error": float(np.max(np.abs(decoded - values))),
        "figures": [str(f) for f in figures],
    }
