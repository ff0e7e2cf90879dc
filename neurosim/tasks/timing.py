"""A spike-timing task whose answer is in the timing alone.

Each sample is ``channels`` input neurons over ``steps`` time steps (of ``dt`` each), and
*every channel fires exactly one spike in every sample*: spike counts, and so firing rates,
are identical across classes and carry no information. Class ``k`` has a template of spike
times (one per channel, drawn once from ``U{0, ..., steps - jitter - 1}``); a sample of class
``k`` fires channel ``c`` at ``template_k[c] + e``, ``e ~ U{-jitter, ..., jitter}``, clipped
to ``[0, steps - 1]``. Telling the classes apart needs the order and spacing of the spikes:
a network with memory (a recurrent layer, or a spiking neuron's membrane) can learn it, a
classifier of spike counts stays at chance (``1 / classes``).

Arrays: ``x`` float32 ``(N, steps, channels)`` of 0/1 (one 1 per channel), ``y`` int64.
Same ``seed``, same data (one ``numpy.random.Generator``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TIMING_DEFAULTS", "make_spike_timing"]

TIMING_DEFAULTS = {"classes": 4, "channels": 8, "steps": 40, "jitter": 2, "n_train": 2000,
                   "n_test": 500, "seed": 7}


def make_spike_timing(**overrides):
    """``(x_train, y_train, x_test, y_test)`` of the task above; ``overrides`` replace entries
    of :data:`TIMING_DEFAULTS`."""
    unknown = set(overrides) - set(TIMING_DEFAULTS)
    if unknown:
        raise ValueError(f"spike-timing: unknown setting(s) {', '.join(sorted(unknown))}")
    a = {**TIMING_DEFAULTS, **overrides}
    rng = np.random.default_rng(a["seed"])
    k, c, t, j = a["classes"], a["channels"], a["steps"], a["jitter"]
    tmpl = rng.integers(j, t - j, size=(k, c))
    n = a["n_train"] + a["n_test"]
    y = rng.integers(0, k, size=n)
    times = np.clip(tmpl[y] + rng.integers(-j, j + 1, size=(n, c)), 0, t - 1)
    x = np.zeros((n, t, c), np.float32)
    x[np.arange(n)[:, None], times, np.arange(c)[None, :]] = 1.0
    cut = a["n_train"]
    return x[:cut], y[:cut].astype(np.int64), x[cut:], y[cut:].astype(np.int64)
