"""Firing patterns: the Izhikevich gallery and AdEx adaptation.

Izhikevich's simple model (Izhikevich 2003, IEEE Trans. Neural Netw. 14:1569),
``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``, reset ``v <- c``,
``u <- u + d`` at 30 mV, reproduces the main cortical firing classes with four numbers
(:data:`neurosim.specs.neurons.IZHIKEVICH_PRESETS`). The same step ``I = 10`` (mV/ms, the
model's units) from 20 ms on drives:

- RS, regular spiking (excitatory cortical cells): tonic spikes whose intervals lengthen
  (spike-frequency adaptation, from the large ``d``);
- IB, intrinsically bursting: an initial burst (high ``c``: reset close to threshold), then
  tonic spikes;
- CH, chattering: repeated bursts (high ``c``, small ``d``);
- FS, fast spiking (inhibitory interneurons): fast ``u`` recovery (``a = 0.1``), high rate,
  little adaptation: the fastest of the cortical classes at the same input;
- LTS, low-threshold spiking: high-frequency onset with strong adaptation (``b = 0.25``).
- RZ, resonator (``a = 0.1, b = 0.26``): its rest is a damped oscillation at about 25 Hz, so
  it is shown with its own protocol: two brief pulses fire it when the second comes one
  oscillation period (40 ms) after the first, in phase with the ringing, but not after half a
  period (20 ms), although the pulses are the same (Izhikevich 2001, "Resonate-and-fire
  neurons").

AdEx, the adaptive exponential integrate-and-fire model (Brette & Gerstner 2005,
J. Neurophysiol. 94:3637), with the paper's parameters under a 0.8 nA step: each spike adds
``b`` to the adaptation current ``w``, so successive interspike intervals grow until ``w``
settles (adaptation).

Bursts are read from the interspike intervals (ISIs): an ISI below :data:`BURST_ISI_MS` is
intra-burst; a burst is a run of such intervals ended by a pause (an ISI of at least twice
that).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..specs.neurons import AdEx, Izhikevich
from ..spike.single import simulate_neuron

__all__ = ["CLASSES", "STEP_I", "BURST_ISI_MS", "burst_stats", "run"]

#: Short name, preset name, long name of the DC-driven classes.
CLASSES = (("RS", "regular_spiking", "regular spiking"),
           ("IB", "intrinsically_bursting", "intrinsically bursting"),
           ("CH", "chattering", "chattering"),
           ("FS", "fast_spiking", "fast spiking"),
           ("LTS", "low_threshold_spiking", "low-threshold spiking"))
#: The step input (mV/ms), its onset and the simulated time (ms), and the step (ms).
STEP_I, STEP_ON, DURATION, DT = 10.0, 20.0, 300.0, 0.1
#: Intervals shorter than this (ms) are inside a burst.
BURST_ISI_MS = 10.0
#: Resonator protocol: pulse amplitude (mV/ms), length (ms), first onset and the two gaps (ms).
RZ_PULSE, RZ_WIDTH, RZ_FIRST, RZ_GAPS = 2.3, 1.0, 50.0, (20.0, 40.0)
#: AdEx step (nA), onset and duration (ms).
ADEX_I, ADEX_ON, ADEX_DURATION = 0.8, 20.0, 500.0


def burst_stats(isi, short_ms: float = BURST_ISI_MS, pause_ms: float | None = None) -> dict:
    """Burst structure of a spike train from its intervals (ms).

    An interval below ``short_ms`` is intra-burst; one of at least ``pause_ms`` (default
    ``2 * short_ms``) is a pause. ``bursts``: runs of intra-burst intervals that end in a pause
    (a steady fast train has none); ``initial_burst``: the train opens with the only burst and
    no interval after it is short; ``adaptation``: last interval / first interval.
    """
    pause_ms = 2.0 * short_ms if pause_ms is None else pause_ms
    isi = np.asarray(isi, dtype=np.float64)
    short = isi < short_ms
    ends = np.flatnonzero(short[:-1] & (isi[1:] >= pause_ms))  # last short ISI of a burst
    first_end = int(ends[0]) if ends.size else -1
    initial = bool(ends.size == 1 and np.all(short[:first_end + 1])
                   and not short[first_end + 1:].any())
    return {"bursts": int(ends.size), "initial_burst": initial,
            "short_isis": int(short.sum()), "pauses": int((isi >= pause_ms).sum()),
            "adaptation": float(isi[-1] / isi[0]) if isi.size > 1 else float("nan")}


def _pulses(t, onsets, amp, width):
    i = np.zeros_like(t)
    for s in onsets:
        i[(t >= s) & (t < s + width)] = amp
    return i


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Simulate the gallery, the resonator protocol and AdEx; plot; return the ISI facts."""
    from ..plot import teaching

    del seed, quick  # deterministic and quick
    out = Path(out_dir)
    t = np.arange(int(round(DURATION / DT))) * DT
    step = np.where(t >= STEP_ON, STEP_I, 0.0)
    gallery = {}
    for short, preset, _ in CLASSES:
        r = simulate_neuron(Izhikevich.preset(preset), step, dt=DT, record=("v", "u"))
        gallery[short] = r
    rz = Izhikevich.preset("resonator", v_init=-62.5)  # start at its resting state
    rz_runs = {gap: simulate_neuron(rz, _pulses(t, (RZ_FIRST, RZ_FIRST + gap), RZ_PULSE,
                                                RZ_WIDTH), dt=DT, record=("v",))
               for gap in RZ_GAPS}
    ta = np.arange(int(round(ADEX_DURATION / DT))) * DT
    adex = simulate_neuron(AdEx(), np.where(ta >= ADEX_ON, ADEX_I, 0.0), dt=DT,
                           record=("v", "w"))

    on_s = (DURATION - STEP_ON) / 1000.0
    rates = {k: r.n_spikes / on_s for k, r in gallery.items()}
    stats = {k: burst_stats(r.isi) for k, r in gallery.items()}
    figures = [
        teaching.izhikevich_gallery_figure(
            out / "izhikevich_gallery.png", t, {k: r.traces["v"] for k, r in gallery.items()},
            {k: long for k, _, long in CLASSES}, rates, stats, step, rz_runs, t,
            {g: _pulses(t, (RZ_FIRST, RZ_FIRST + g), RZ_PULSE, RZ_WIDTH) for g in RZ_GAPS}),
        teaching.isi_figure(out / "izhikevich_isi.png", {k: r.isi for k, r in gallery.items()},
                            BURST_ISI_MS, adex, ADEX_I),
    ]
    result = {f"{k}_rate_hz": v for k, v in rates.items()}
    for k, s in stats.items():
        result[f"{k}_isis_ms"] = np.round(gallery[k].isi[:8], 1).tolist()
        result[f"{k}_bursts"] = s["bursts"]
        result[f"{k}_adaptation_last_over_first_isi"] = s["adaptation"]
    result["IB_initial_burst"] = stats["IB"]["initial_burst"]
    result["fastest_class"] = max(rates, key=rates.get)
    result.update({f"RZ_spikes_gap_{g:g}ms": rz_runs[g].n_spikes for g in RZ_GAPS})
    result["adex_isis_ms"] = np.round(adex.isi, 1).tolist()
    result["adex_adaptation_last_over_first_isi"] = float(adex.isi[-1] / adex.isi[0])
    result["figures"] = [str(f) for f in figures]
    return result
