"""Single neurons under a chosen input current: traces, spike times, rates, f-I curves.

>>> from neurosim.neurons import LIF
>>> r = simulate_neuron(LIF(), 2.0, dt=0.1, duration=100.0, record=("v",))
>>> r.spike_times[:2]  # doctest: +SKIP
>>> r.traces["v"].shape == r.t.shape
True

Units as in :mod:`neurosim.specs.neurons` (ms, mV, nA; HH per cm^2; Izhikevich in its own
units). Traces are sampled at the start of each step (``t = k dt``), the membrane value
before the step's update, as Brian2's ``StateMonitor`` does; spike times are the start of the
step in which the threshold was crossed. The same compiled engine as for networks runs here
(one population, no projections); an f-I curve runs one neuron per current in one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..builder.model import build
from ..errors import SpecError
from ..graph import Graph, Population
from ..monitor.probes import DERIVED_HH
from ..neurons.base import NeuronModel
from .population import Simulator

__all__ = ["NeuronResult", "simulate_neuron", "rate_under_constant_drive", "f_i_curve"]


@dataclass(frozen=True)
class NeuronResult:
    """``t`` (ms, one per step), ``spike_times`` (ms), ``traces``: variable -> array like ``t``
    (HH also ``m, h, n, i_na, i_k, i_l``), the ``current`` applied per step, and ``dt``."""

    neuron: NeuronModel
    dt: float
    t: np.ndarray
    spike_times: np.ndarray
    traces: dict[str, np.ndarray]
    current: np.ndarray

    @property
    def n_spikes(self) -> int:
        return int(self.spike_times.size)

    @property
    def isi(self) -> np.ndarray:
        return np.diff(self.spike_times)


def _n_steps(dt, duration, n_steps, current) -> int:
    if n_steps is None and duration is None:
        cur = np.asarray(current)
        if cur.ndim == 1:
            return cur.size
        raise SpecError("simulate_neuron: give duration (ms) or n_steps")
    if n_steps is None:
        n_steps = int(round(duration / dt))
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps <= 0:
        raise SpecError(f"n_steps: must be a positive integer, got {n_steps!r}")
    return int(n_steps)


def _check(neuron, dt):
    if not isinstance(neuron, NeuronModel):
        raise SpecError(f"neuron: expected a neuron model, got {neuron!r}")
    try:
        neuron.check_dt(dt)
    except ValueError as err:
        raise SpecError(f"{neuron.kind}: {err}") from None


def _single(neuron: NeuronModel, v0: np.ndarray, dt: float):
    """One population of ``v0.size`` neurons, no projections, built."""
    pop = Population(name=neuron.kind, neuron=neuron, shape=(v0.size,), v0=v0)
    return build(Graph(populations=(pop,), projections=(), dt=dt))


def simulate_neuron(neuron: NeuronModel, current=0.0, *, dt: float = 0.1,
                    duration: float | None = None, n_steps: int | None = None,
                    record=("v",), v_init: float | None = None,
                    reference: bool = False) -> NeuronResult:
    """Simulate one neuron driven by ``current`` (a constant, or one value per step).

    ``record`` names state variables (``neuron.state_vars``). ``v_init`` defaults to the
    model's resting value. ``reference=True`` uses the NumPy twin of the engine.
    """
    _check(neuron, dt)
    steps = _n_steps(dt, duration, n_steps, current)
    cur = np.asarray(current, dtype=np.float64)
    if cur.ndim == 0:
        drive = np.full((1, 1), float(cur))
        per_step = np.full(steps, float(cur))
    elif cur.ndim == 1 and cur.size == steps:
        drive = cur.reshape(steps, 1).copy()
        per_step = cur.copy()
    else:
        raise SpecError(f"current: expected a number or {steps} values (one per step), "
                        f"got shape {cur.shape}")
    for var in record:
        if var not in neuron.state_vars:
            raise SpecError(f"record: {neuron.kind} has no variable {var!r} "
                            f"(recordable: {', '.join(neuron.state_vars)})")
    v0 = neuron.v_initial if v_init is None else float(v_init)
    sim = Simulator(_single(neuron, np.array([v0]), dt), spikes=(neuron.kind,),
                    state=[(neuron.kind, tuple(record), (0,))], reference=reference,
                    drive=drive)
    sim.run(steps)
    res = sim.result()
    traces = {var: res.state[neuron.kind][var][0] for var in record} if record else {}
    spk = res.spikes[neuron.kind]
    return NeuronResult(neuron=neuron, dt=dt, t=res.t, spike_times=spk.times, traces=traces,
                        current=per_step)


def f_i_curve(neuron: NeuronModel, currents, *, dt: float = 0.1, duration: float = 1000.0,
              warmup: float = 0.0, reference: bool = False) -> np.ndarray:
    """Firing rate (Hz) for each constant current: spikes after ``warmup`` ms divided by
    ``duration - warmup``. All currents run side by side (one neuron each) in one call."""
    _check(neuron, dt)
    cur = np.atleast_1d(np.asarray(currents, dtype=np.float64))
    if not 0 <= warmup < duration:
        raise SpecError(f"warmup: must be in [0, duration), got {warmup!r}")
    steps = int(round(duration / dt))
    sim = Simulator(_single(neuron, np.full(cur.size, neuron.v_initial), dt),
                    spikes=(neuron.kind,), reference=reference, drive=cur[None, :])
    sim.run(steps)
    spk = sim.result().spikes[neuron.kind]
    counts = np.bincount(spk.indices[spk.times >= warmup], minlength=cur.size)
    return counts / ((duration - warmup) / 1000.0)


def rate_under_constant_drive(neuron: NeuronModel, current: float, *, dt: float = 0.1,
                              duration: float = 1000.0, warmup: float = 0.0) -> float:
    """Firing rate (Hz) of one neuron under a constant ``current``."""
    return float(f_i_curve(neuron, [current], dt=dt, duration=duration, warmup=warmup)[0])


# HH ionic currents are derived from v, m, h, n; keep the names importable from here too.
HH_CURRENTS = DERIVED_HH
