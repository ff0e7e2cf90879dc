"""Spiking neuron models: frozen, keyword-only parameter records (no state).

Unit system (used by every model unless its docstring says otherwise): time in **ms**,
potentials in **mV**, currents in **nA**, resistance in **MOhm**, capacitance in **nF**,
conductance in **uS** (so ``MOhm * nA = mV``, ``uS * mV = nA``, ``nA / nF = mV/ms``). Rates
are in **Hz** (spikes per second). Two exceptions, taken from their papers:

- Hodgkin-Huxley is per unit membrane area: uF/cm^2, mS/cm^2, uA/cm^2.
- Izhikevich is in the model's own units: v in mV, t in ms, input ``I`` in mV/ms.
- McCulloch-Pitts is dimensionless.

The *drive* of a model is the input that an external current and a current-based synapse add
to: nA for IF, LIF, adaptive LIF and AdEx; mV/ms for Izhikevich; uA/cm^2 for HH; dimensionless
for McCulloch-Pitts. A conductance-based synapse of conductance ``g`` adds ``g (E_rev - v)`` to
the drive, so ``g`` is in uS (nA models), 1/ms (Izhikevich) or mS/cm^2 (HH).

Spike timing convention (the same as Brian2's default schedule): in each step of ``dt`` every
neuron is first integrated over the step, then compared with its threshold; a spike is stamped
with the time at the *start* of that step. An absolute refractory period of ``t_ref`` holds
``v`` for ``round(t_ref / dt) - 1`` steps after the spike step (Brian2's
``timestep(t - lastspike) >= timestep(refractory)`` rule).

Each model names its integrator and, where the step size limits stability or accuracy,
:meth:`NeuronModel.check_dt` raises an error naming ``dt``. Models with a closed-form firing
rate under constant drive provide :meth:`NeuronModel.rate`; a test checks the simulated rate
against it.

The registry :data:`NEURON_MODELS` maps the names used in model files (``"if"``, ``"lif"``,
``"alif"``, ``"izhikevich"``, ``"adex"``, ``"hh"``, ``"mcculloch_pitts"``) to the classes;
:func:`get_neuron_model` raises a :class:`~neurosim.errors.SpecError` listing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ..errors import SpecError

__all__ = ["NeuronModel", "IF", "LIF", "AdaptiveLIF", "Izhikevich", "AdEx", "HodgkinHuxley",
           "McCullochPitts", "NEURON_MODELS", "IZHIKEVICH_PRESETS", "get_neuron_model",
           "neuron_from_table", "RESETS", "HH_INTEGRATORS"]

RESETS = ("potential", "subtract")
HH_INTEGRATORS = ("exponential_euler", "rk4")


def _positive(obj, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name}: must be a positive number, got {value!r}")


def _non_negative(obj, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{name}: must be a non-negative number, got {value!r}")


def _finite(obj) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise ValueError(f"{f.name}: must be finite, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class NeuronModel:
    """Base of every neuron model: a parameter record plus its meaning.

    Class attributes: ``kind`` (registry name), ``integrator`` (how a step is computed),
    ``state_vars`` (recordable per-neuron state; ``v`` is always the membrane potential),
    ``max_dt`` (largest stable/accurate step in ms, or ``None``).
    """

    kind: ClassVar[str] = ""
    integrator: ClassVar[str] = ""
    state_vars: ClassVar[tuple[str, ...]] = ("v",)
    max_dt: ClassVar[float | None] = None

    def __post_init__(self):
        _finite(self)

    def check_dt(self, dt: float) -> None:
        """Raise ``ValueError`` naming ``dt`` when the step is too large for the integrator."""
        if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt: must be a positive number of ms, got {dt!r}")
        if self.max_dt is not None and dt > self.max_dt * (1 + 1e-9):
            raise ValueError(f"dt: {self.kind} with the {self.integrator} integrator needs "
                             f"dt <= {self.max_dt} ms, got {dt}")

    @property
    def v_initial(self) -> float:
        """Resting state used when no initial potential is given (mV)."""
        return float(getattr(self, "v_rest", getattr(self, "v_reset", 0.0)))

    def rate(self, current, dt: float | None = None):
        """Firing rate (Hz) under constant drive ``current``; ``NotImplementedError`` when the
        model has no closed form."""
        raise NotImplementedError(f"{self.kind} has no closed-form rate function")

    @property
    def has_rate(self) -> bool:
        return type(self).rate is not NeuronModel.rate


@dataclass(frozen=True, kw_only=True)
class IF(NeuronModel):
    """Perfect (non-leaky) integrate-and-fire neuron.

    ``c_m dv/dt = I`` (nF, mV, nA). Integrated exactly for piecewise-constant input:
    ``v(t + dt) = v + I dt / c_m``. Spike when ``v > v_th``; then ``v <- v_reset``
    (``reset = "potential"``) or ``v <- v - (v_th - v_reset)`` (``reset = "subtract"``, the
    spiking twin of ReLU used in ANN-to-SNN conversion).

    Rate under constant ``I`` (Hz):
    ``r = 1000 / (t_ref + c_m (v_th - v_reset) / I)`` for ``I > 0`` (reset to a potential);
    with reset by subtraction and no refractory period ``r = 1000 max(I, 0) / (c_m (v_th -
    v_reset))``, i.e. ``max(J, 0) / v_th`` per unit time when ``v_reset = 0`` and
    ``J = I / c_m``.
    """

    kind: ClassVar[str] = "if"
    integrator: ClassVar[str] = "exact"
    c_m: float = 1.0
    v_th: float = 1.0
    v_reset: float = 0.0
    reset: str = "subtract"
    t_ref: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "c_m")
        _non_negative(self, "t_ref")
        if self.reset not in RESETS:
            raise ValueError(f"reset: must be one of {', '.join(RESETS)}, got {self.reset!r}")
        if not self.v_th > self.v_reset:
            raise ValueError(f"v_th: must be above v_reset ({self.v_reset}), got {self.v_th}")

    def rate(self, current, dt=None):
        i = np.asarray(current, dtype=np.float64)
        out = np.zeros_like(i)
        pos = i > 0
        period = self.c_m * (self.v_th - self.v_reset) / np.where(pos, i, 1.0)
        ref = 0.0 if self.reset == "subtract" else self.t_ref
        out[pos] = 1000.0 / (ref + period[pos])
        return out


@dataclass(frozen=True, kw_only=True)
class LIF(NeuronModel):
    """Leaky integrate-and-fire neuron.

    ``tau_m dv/dt = -(v - v_rest) + r_m I`` (ms, mV, MOhm, nA). Integrated exactly between
    steps of constant input: ``v(t + dt) = v_inf + (v - v_inf) exp(-dt / tau_m)``,
    ``v_inf = v_rest + r_m I``; exponentially decaying synaptic currents are integrated exactly
    too (the coupled linear system, as Brian2's ``exact``/``linear`` method). With
    conductance-based synapses the conductances are held constant over a step (Brian2's
    ``exponential_euler``). Spike when ``v > v_th``; reset to ``v_reset`` or by subtraction
    of ``v_th - v_reset``; ``v`` is held for the refractory period ``t_ref``.

    Rate under constant ``I`` (Hz), with ``v_inf = v_rest + r_m I``: zero if
    ``v_inf <= v_th``, else ``1000 / T`` with the interspike interval
    ``T = t_ref + tau_m ln((v_inf - v_reset) / (v_inf - v_th))``
    (``T = t_ref + tau ln((R I - v_reset)/(R I - v_th))`` when ``v_rest = 0``).
    """

    kind: ClassVar[str] = "lif"
    integrator: ClassVar[str] = "exact"
    tau_m: float = 10.0
    r_m: float = 10.0
    v_rest: float = -65.0
    v_th: float = -50.0
    v_reset: float = -65.0
    reset: str = "potential"
    t_ref: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "tau_m", "r_m")
        _non_negative(self, "t_ref")
        if self.reset not in RESETS:
            raise ValueError(f"reset: must be one of {', '.join(RESETS)}, got {self.reset!r}")
        if not self.v_th > self.v_reset:
            raise ValueError(f"v_th: must be above v_reset ({self.v_reset}), got {self.v_th}")

    def isi(self, current):
        """Interspike interval (ms) under constant ``current`` (nA); ``inf`` when silent."""
        i = np.asarray(current, dtype=np.float64)
        v_inf = self.v_rest + self.r_m * i
        above = v_inf > self.v_th
        safe = np.where(above, v_inf, self.v_th + 1.0)
        t = self.t_ref + self.tau_m * np.log((safe - self.v_reset) / (safe - self.v_th))
        return np.where(above, t, np.inf)

    def rate(self, current, dt=None):
        return 1000.0 / self.isi(current)


@dataclass(frozen=True, kw_only=True)
class AdaptiveLIF(LIF):
    """LIF with a spike-triggered adaptation current ``w`` (nA).

    ``tau_m dv/dt = -(v - v_rest) + r_m (I - w)``, ``tau_w dw/dt = -w``; on a spike
    ``w <- w + b``. Linear between spikes, so integrated exactly like LIF (``w`` enters as an
    exponentially decaying current). No closed-form rate (it depends on the adaptation
    history); the rate after adaptation is below :meth:`LIF.rate`.
    """

    kind: ClassVar[str] = "alif"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "w")
    tau_w: float = 100.0
    b: float = 0.05

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "tau_w")
        _non_negative(self, "b")

    def rate(self, current, dt=None):
        raise NotImplementedError("alif has no closed-form rate function")

    @property
    def has_rate(self) -> bool:
        return False


#: Izhikevich (2003) Fig. 2 parameter sets ``(a, b, c, d)``.
IZHIKEVICH_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "regular_spiking": (0.02, 0.2, -65.0, 8.0),
    "intrinsically_bursting": (0.02, 0.2, -55.0, 4.0),
    "chattering": (0.02, 0.2, -50.0, 2.0),
    "fast_spiking": (0.1, 0.2, -65.0, 2.0),
    "low_threshold_spiking": (0.02, 0.25, -65.0, 2.0),
    "resonator": (0.1, 0.26, -65.0, 2.0),
    "thalamo_cortical": (0.02, 0.25, -65.0, 0.05),
}


@dataclass(frozen=True, kw_only=True)
class Izhikevich(NeuronModel):
    """Izhikevich (2003) simple model, in the paper's units (mV, ms, I in mV/ms).

    ``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``; when ``v >= v_peak``
    (30 mV): ``v <- c``, ``u <- u + d``. Forward Euler with step ``dt`` (both variables from
    the values at the start of the step: Brian2's ``euler``); needs ``dt <= 1 ms`` (the
    quadratic term makes larger steps unstable); 0.1 ms or less is advised for accurate spike
    times. Named parameter sets: :data:`IZHIKEVICH_PRESETS`, e.g.
    ``Izhikevich.preset("chattering")``. Initial ``u = b v``.
    """

    kind: ClassVar[str] = "izhikevich"
    integrator: ClassVar[str] = "euler"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "u")
    max_dt: ClassVar[float | None] = 1.0
    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    v_peak: float = 30.0
    v_init: float = -65.0
    t_ref: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "a")
        _non_negative(self, "t_ref")
        if not self.v_peak > self.c:
            raise ValueError(f"v_peak: must be above c ({self.c}), got {self.v_peak}")

    @classmethod
    def preset(cls, name: str, **overrides) -> Izhikevich:
        """One of :data:`IZHIKEVICH_PRESETS` (Izhikevich 2003, Fig. 2)."""
        if name not in IZHIKEVICH_PRESETS:
            known = ", ".join(IZHIKEVICH_PRESETS)
            raise SpecError(f"unknown Izhikevich parameter set {name!r} (known: {known})")
        a, b, c, d = IZHIKEVICH_PRESETS[name]
        return cls(**({"a": a, "b": b, "c": c, "d": d} | overrides))

    @property
    def v_initial(self) -> float:
        return self.v_init


@dataclass(frozen=True, kw_only=True)
class AdEx(NeuronModel):
    """Adaptive exponential integrate-and-fire (Brette & Gerstner 2005), nF, uS, mV, nA, ms.

    ``c_m dv/dt = -g_l (v - e_l) + g_l delta_t exp((v - v_t) / delta_t) - w + I``,
    ``tau_w dw/dt = a (v - e_l) - w``; when ``v > v_peak``: ``v <- v_reset``, ``w <- w + b``.
    Defaults are the paper's (C = 281 pF, g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV,
    Delta_T = 2 mV, tau_w = 144 ms, a = 4 nS, b = 0.0805 nA) with the cut
    ``v_peak = v_t + 5 delta_t`` of Brian2's example. Forward Euler (Brian2's ``euler``);
    needs ``dt <= 0.2 ms`` (the exponential term near ``v_peak`` moves v by
    ``g_l delta_t e^5 / c_m ~ 32 mV/ms``).
    """

    kind: ClassVar[str] = "adex"
    integrator: ClassVar[str] = "euler"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "w")
    max_dt: ClassVar[float | None] = 0.2
    c_m: float = 0.281
    g_l: float = 0.030
    e_l: float = -70.6
    v_t: float = -50.4
    delta_t: float = 2.0
    a: float = 0.004
    tau_w: float = 144.0
    b: float = 0.0805
    v_reset: float = -70.6
    v_peak: float = -40.4
    t_ref: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "c_m", "g_l", "delta_t", "tau_w")
        _non_negative(self, "t_ref")
        if not self.v_peak > self.v_reset:
            raise ValueError(f"v_peak: must be above v_reset ({self.v_reset}), "
                             f"got {self.v_peak}")

    @property
    def v_initial(self) -> float:
        return self.e_l


@dataclass(frozen=True, kw_only=True)
class HodgkinHuxley(NeuronModel):
    """Hodgkin-Huxley squid giant axon (1952), per unit area: uF/cm^2, mS/cm^2, uA/cm^2, mV.

    ``c_m dv/dt = -g_na m^3 h (v - e_na) - g_k n^4 (v - e_k) - g_l (v - e_l) + I``,
    ``dx/dt = phi (alpha_x(v) (1 - x) - beta_x(v) x)`` for ``x in (m, h, n)``, with (v in mV,
    rates in 1/ms, modern convention, rest near -65 mV):
    ``alpha_m = 0.1 (v + 40) / (1 - exp(-(v + 40) / 10))``, ``beta_m = 4 exp(-(v + 65) / 18)``,
    ``alpha_h = 0.07 exp(-(v + 65) / 20)``, ``beta_h = 1 / (1 + exp(-(v + 35) / 10))``,
    ``alpha_n = 0.01 (v + 55) / (1 - exp(-(v + 55) / 10))``,
    ``beta_n = 0.125 exp(-(v + 65) / 80)``; temperature factor
    ``phi = 3 ** ((temperature - 6.3) / 10)`` (6.3 C: phi = 1).

    Integrators: ``exponential_euler`` (each variable advanced exactly with the others held at
    the start-of-step values, Brian2's ``exponential_euler``; ``dt <= 0.1 ms``) or ``rk4``
    (classical Runge-Kutta; explicit, ``dt <= 0.05 ms``). A spike is an upward crossing of
    ``v_th``; there is no reset. Recordable: ``v``, gates ``m``, ``h``, ``n`` and the ionic
    currents ``i_na``, ``i_k``, ``i_l`` (uA/cm^2, outward positive).
    """

    kind: ClassVar[str] = "hh"
    state_vars: ClassVar[tuple[str, ...]] = ("v", "m", "h", "n", "i_na", "i_k", "i_l")
    c_m: float = 1.0
    g_na: float = 120.0
    g_k: float = 36.0
    g_l: float = 0.3
    e_na: float = 50.0
    e_k: float = -77.0
    e_l: float = -54.387
    v_th: float = -20.0
    v_init: float = -65.0
    temperature: float = 6.3
    method: str = "exponential_euler"

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "c_m")
        _non_negative(self, "g_na", "g_k", "g_l")
        if self.method not in HH_INTEGRATORS:
            raise ValueError(f"method: must be one of {', '.join(HH_INTEGRATORS)}, "
                             f"got {self.method!r}")

    @property
    def integrator(self) -> str:  # type: ignore[override]
        return self.method

    @property
    def max_dt(self) -> float:  # type: ignore[override]
        return 0.1 if self.method == "exponential_euler" else 0.05

    @property
    def phi(self) -> float:
        return 3.0 ** ((self.temperature - 6.3) / 10.0)

    @property
    def v_initial(self) -> float:
        return self.v_init

    @staticmethod
    def rates(v):
        """``(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n)`` in 1/ms at 6.3 C."""
        v = np.asarray(v, dtype=np.float64)
        xm = -(v + 40.0) / 10.0
        xn = -(v + 55.0) / 10.0
        # x / (1 - exp(-x)) written through expm1 so that v = -40 and v = -55 stay finite.
        am = np.where(np.abs(xm) < 1e-9, 1.0, xm / np.where(xm == 0, 1.0, np.expm1(xm)))
        an = 0.1 * np.where(np.abs(xn) < 1e-9, 1.0, xn / np.where(xn == 0, 1.0, np.expm1(xn)))
        return (am, 4.0 * np.exp(-(v + 65.0) / 18.0),
                0.07 * np.exp(-(v + 65.0) / 20.0), 1.0 / (1.0 + np.exp(-(v + 35.0) / 10.0)),
                an, 0.125 * np.exp(-(v + 65.0) / 80.0))

    def steady_gates(self, v):
        """Steady-state ``(m, h, n)`` at potential ``v`` (the initial gates)."""
        am, bm, ah, bh, an, bn = self.rates(v)
        return am / (am + bm), ah / (ah + bh), an / (an + bn)

    def currents(self, v, m, h, n):
        """Ionic currents ``(i_na, i_k, i_l)`` in uA/cm^2, outward positive."""
        v = np.asarray(v, dtype=np.float64)
        return (self.g_na * m ** 3 * h * (v - self.e_na), self.g_k * n ** 4 * (v - self.e_k),
                self.g_l * (v - self.e_l))


@dataclass(frozen=True, kw_only=True)
class McCullochPitts(NeuronModel):
    """McCulloch-Pitts threshold unit (dimensionless, no memory).

    Each step the unit sums its input ``x = I + sum_j w_j s_j`` (external drive plus the
    synaptic input delivered in the previous step) and fires iff ``x >= theta``. ``v`` records
    that sum. Rate: ``1000 / dt`` Hz when ``I >= theta``, else 0.
    """

    kind: ClassVar[str] = "mcculloch_pitts"
    integrator: ClassVar[str] = "none"
    theta: float = 1.0

    @property
    def v_initial(self) -> float:
        return 0.0

    def rate(self, current, dt=None):
        if dt is None:
            raise ValueError("dt: the McCulloch-Pitts rate is one spike per step; give dt")
        i = np.asarray(current, dtype=np.float64)
        return np.where(i >= self.theta, 1000.0 / dt, 0.0)


NEURON_MODELS: dict[str, type[NeuronModel]] = {
    cls.kind: cls for cls in (IF, LIF, AdaptiveLIF, Izhikevich, AdEx, HodgkinHuxley,
                              McCullochPitts)
}


def get_neuron_model(kind: str, prefix: str = "") -> type[NeuronModel]:
    """The class registered as ``kind``; a :class:`SpecError` listing the known ones if none."""
    try:
        return NEURON_MODELS[kind]
    except (KeyError, TypeError):
        known = ", ".join(NEURON_MODELS)
        loc = f"{prefix}: " if prefix else ""
        raise SpecError(f"{loc}kind: unknown neuron type {kind!r} (known: {known})") from None


def neuron_from_table(table: dict, prefix: str) -> NeuronModel:
    """A neuron spec from a TOML table ``{kind = "lif", tau_m = 20.0, ...}``.

    An Izhikevich table may name a parameter set: ``{kind = "izhikevich", preset =
    "chattering"}`` (explicit ``a``..``d`` override it).
    """
    from .io import table_to_dataclass

    if not isinstance(table, dict):
        raise SpecError(f"{prefix}: expected a table with a kind, got {table!r}")
    cls = get_neuron_model(table.get("kind"), prefix)
    table = dict(table)
    if cls is Izhikevich and "preset" in table:
        name = table.pop("preset")
        if name not in IZHIKEVICH_PRESETS:
            known = ", ".join(IZHIKEVICH_PRESETS)
            raise SpecError(f"{prefix}: preset: unknown Izhikevich parameter set {name!r} "
                            f"(known: {known})")
        table = dict(zip("abcd", IZHIKEVICH_PRESETS[name], strict=True)) | table
    return table_to_dataclass(cls, table, prefix, skip=("kind",))
