"""STDP: the learning window, and a neuron that finds a repeating pattern hidden in noise.

1. The pair-based window (Bi & Poo 1998; additive STDP of Song, Miller & Abbott 2000): a
   presynaptic spike shortly *before* a postsynaptic one strengthens the synapse, shortly
   *after* weakens it, each by an amount decaying exponentially with the delay. The online
   trace implementation (:func:`neurosim.learning.stdp.stdp_step`) is run on single pairs
   and checked against the closed form.
2. Pattern learning (Masquelier, Guyonneau & Thorpe 2008): one LIF neuron (the project's LIF
   model, :class:`neurosim.neurons.lif.LIF`: ``tau_m = 10 ms``, threshold 22 mV above a rest
   of -70 mV, 10 ms refractory; exponential synaptic currents of 2.5 ms), 1,000 Poisson
   afferents (40 Hz + 5 Hz noise), half of which replay a frozen 50 ms spike pattern at random
   times (about a fifth of the time) with 1 ms jitter. Nothing in any afferent's rate gives
   the pattern away. STDP alone makes the neuron fire inside the pattern and (almost) only
   there; its latency after pattern onset shrinks as it learns the pattern's earliest spikes.
   Measured: the fraction of output spikes that fall inside pattern segments over the first
   and the last 3 s (chance: the fraction of time the pattern occupies), and the fraction of
   the last 3 s's presentations that make it fire (hit rate). Times in ms, rates in Hz.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..learning.stdp import (
    PATTERN_LIF,
    PatternNeuron,
    PatternTask,
    StdpRule,
    make_pattern_input,
    pair_weight_change,
    run_pattern_learning,
    selectivity,
    stdp_window,
)

__all__ = ["run", "TASK", "NEURON", "RULE", "MEASURE_MS", "first_spike_latencies"]

#: The pattern task, neuron and rule of the demo. The neuron is the LIF
#: :data:`~neurosim.learning.stdp.PATTERN_LIF` (its threshold is tuned for this task: much
#: lower and potentiation runs away, much higher and depression silences the neuron before it
#: has seen the pattern often enough).
TASK = PatternTask(n_afferents=1000, duration_ms=30_000.0)
NEURON = PatternNeuron(lif=PATTERN_LIF)
RULE = StdpRule()
#: Length of the windows at the start and the end over which selectivity is measured (ms).
MEASURE_MS = 3000.0


def first_spike_latencies(spike_steps, onsets, pattern_steps: int, dt: float) -> np.ndarray:
    """Per pattern presentation, the delay (ms) from onset to the first output spike inside
    the pattern (NaN when the neuron did not fire during it)."""
    s = np.asarray(spike_steps)
    out = np.full(len(onsets), np.nan)
    for i, o in enumerate(onsets):
        k = np.searchsorted(s, o)
        if k < s.size and s[k] < o + pattern_steps:
            out[i] = (s[k] - o) * dt
    return out


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Draw the STDP window and run the pattern-learning neuron (a few seconds either way)."""
    from ..plot import teaching

    del quick  # the learning run takes about two seconds: quick mode runs it in full
    out = Path(out_dir)
    rng = np.random.default_rng(seed)

    # 1. the window: closed form and the online rule on single pairs
    delays = np.arange(-100.0, 100.5, 5.0)
    simulated = np.array([pair_weight_change(RULE, d) for d in delays])
    fine = np.linspace(-100.0, 100.0, 801)
    closed = stdp_window(RULE, fine)
    max_err = float(np.max(np.abs(simulated - stdp_window(RULE, delays))))

    # 2. pattern learning
    inputs = make_pattern_input(TASK, rng)
    result = run_pattern_learning(inputs, NEURON, RULE, dt=TASK.dt, record_ms=1000.0)
    steps = inputs.spikes.shape[0]
    w_steps = int(MEASURE_MS / TASK.dt)
    before = selectivity(result.spike_steps, inputs.in_pattern, 0, w_steps)
    after = selectivity(result.spike_steps, inputs.in_pattern, steps - w_steps, steps)
    latencies = first_spike_latencies(result.spike_steps, inputs.onsets,
                                      inputs.pattern_steps, TASK.dt)
    last = inputs.onsets >= steps - w_steps
    hit_rate = float(np.mean(~np.isnan(latencies[last]))) if last.any() else 0.0
    carriers = np.zeros(TASK.n_afferents, dtype=bool)
    carriers[inputs.pattern_afferents] = True

    figures = [
        teaching.stdp_window_figure(out / "stdp_window.png", fine, closed, delays, simulated,
                                    RULE),
        teaching.stdp_pattern_figure(out / "stdp_pattern.png", inputs, result, NEURON, carriers,
                                     latencies, TASK.dt, w_steps),
    ]
    return {
        "window_max_abs_error": max_err,
        "ltp_at_+10ms": float(pair_weight_change(RULE, 10.0)),
        "ltd_at_-10ms": float(pair_weight_change(RULE, -10.0)),
        "pattern_time_fraction": float(inputs.in_pattern.mean()),
        "presentations": int(inputs.onsets.size),
        "fraction_in_pattern_before": before["fraction_in_pattern"],
        "fraction_in_pattern_after": after["fraction_in_pattern"],
        "output_rate_before_hz": 1000.0 * before["spikes"] / MEASURE_MS,
        "output_rate_after_hz": 1000.0 * after["spikes"] / MEASURE_MS,
        "hit_rate_after": hit_rate,
        "mean_latency_after_ms": float(np.nanmean(latencies[last])) if hit_rate > 0 else
        float("nan"),
        "mean_weight_pattern_afferents": float(result.weights[carriers].mean()),
        "mean_weight_other_afferents": float(result.weights[~carriers].mean()),
        "figures": [str(f) for f in figures],
    }
