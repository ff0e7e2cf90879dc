"""What every neuron model is: a frozen parameter record, its meaning, and its engine pieces.

Unit system (every model unless its docstring says otherwise): time in **ms**, potentials in
**mV**, currents in **nA**, resistance in **MOhm**, capacitance in **nF**, conductance in
**uS** (so ``MOhm * nA = mV``, ``uS * mV = nA``, ``nA / nF = mV/ms``). Rates are in **Hz**.
Exceptions, taken from their papers: Hodgkin-Huxley is per unit membrane area (uF/cm^2,
mS/cm^2, uA/cm^2); Izhikevich is in the model's own units (input in mV/ms); McCulloch-Pitts is
dimensionless.

The *drive* of a model is the input that an external current and a current-based synapse add
to. A conductance-based synapse of conductance ``g`` adds ``g (E_rev - v)`` to the drive.

**Threshold convention (every model, both engines):** a neuron spikes in a step when, after
being integrated over the step, ``v >= v_th`` (its threshold or peak). NEST uses the same test;
Brian2 models written with ``v > v_th`` agree except when ``v`` lands exactly on the
threshold. A spike is stamped with the step in which it happened (times ``step * dt``, Brian2's
default schedule). An absolute refractory period of ``t_ref`` holds ``v`` for
``round(t_ref / dt) - 1`` steps after the spike step (Brian2's rule).

**Engine pieces.** A model module (one file per model, see :mod:`neurosim.neurons`) holds:

- the spec class, with ``SLOTS`` (names of its per-neuron parameter slots, filled by
  :meth:`NeuronModel.param_values`) and ``ROWS`` (its state rows; ``ROWS[0]`` is ``"v"``);
- ``step(p, model, state, row, spikes, n_spk)``: the compiled update of population ``p`` over
  one step (records of :mod:`neurosim.kernels.layout`; ``row`` is the drive row; appends the
  global indices of neurons that spiked to ``spikes`` from ``n_spk`` on and returns the new
  count); it also decays the population's synaptic channels;
- ``step_numpy``: the same, written with whole-array NumPy operations (the definition the
  compiled step is tested against).

The registry :data:`NEURON_MODELS` maps the names used in model files to the classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ..errors import SpecError

__all__ = ["NeuronModel", "NEURON_MODELS", "register", "get_neuron_model", "neuron_from_table",
           "load_models", "RESETS", "positive", "non_negative"]

RESETS = ("potential", "subtract")


def positive(obj, *names: str) -> None:
    """Raise ``ValueError`` naming the first field of ``names`` that is not a positive number."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name}: must be a positive number, got {value!r}")


def non_negative(obj, *names: str) -> None:
    """Raise ``ValueError`` naming the first field of ``names`` that is negative."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{name}: must be a non-negative number, got {value!r}")


def check_reset(obj, v_th: float, v_reset: float, what: str = "v_th") -> None:
    """Shared check of the reset rule and ``v_th > v_reset``."""
    if getattr(obj, "reset", "potential") not in RESETS:
        raise ValueError(f"reset: must be one of {', '.join(RESETS)}, got {obj.reset!r}")
    if not v_th > v_reset:
        raise ValueError(f"{what}: must be above v_reset ({v_reset}), got {v_th}")


def ref_steps(t_ref: float, dt: float) -> int:
    """Whole steps of a refractory period of ``t_ref`` ms at step ``dt`` ms."""
    return int(round(t_ref / dt))


@dataclass(frozen=True, kw_only=True)
class NeuronModel:
    """Base of every neuron model: a parameter record plus its meaning.

    Class attributes: ``kind`` (registry name), ``integrator`` (how a step is computed),
    ``state_vars`` (recordable per-neuron variables), ``ROWS`` (state rows in the engine, ``v``
    first), ``SLOTS`` (per-neuron parameter slots), ``max_dt`` (largest stable step in ms, or
    ``None``).
    """

    kind: ClassVar[str] = ""
    integrator: ClassVar[str] = ""
    state_vars: ClassVar[tuple[str, ...]] = ("v",)
    ROWS: ClassVar[tuple[str, ...]] = ("v",)
    SLOTS: ClassVar[tuple[str, ...]] = ()
    max_dt: ClassVar[float | None] = None

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{f.name}: must be finite, got {value!r}")

    def check_dt(self, dt: float) -> None:
        """Raise ``ValueError`` naming ``dt`` when the step is too large for the integrator."""
        if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt: must be a positive number of ms, got {dt!r}")
        if self.max_dt is not None and dt > self.max_dt * (1 + 1e-9):
            raise ValueError(f"dt: {self.kind} with the {self.integrator} integrator needs "
                             f"dt <= {self.max_dt} ms, got {dt}")

    def dt_bound(self) -> tuple[float, str] | None:
        """The largest ``dt`` (ms) at which the model's results still mean what they say, and
        why, beyond :meth:`check_dt`'s stability limit (``None``: no such bound). A model
        file's ``dt`` is held to it (:meth:`check_model_dt`)."""
        return None

    def check_model_dt(self, dt: float) -> None:
        """:meth:`check_dt`, then :meth:`dt_bound`: ``ValueError`` naming ``dt`` and the
        bound."""
        self.check_dt(dt)
        bound = self.dt_bound()
        if bound is not None and dt > bound[0] * (1 + 1e-9):
            raise ValueError(f"dt: {dt} ms is too large for {self.kind}: needs dt <= "
                             f"{bound[0]:g} ms ({bound[1]})")

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

    # -- engine pieces ------------------------------------------------------------------------

    def param_values(self, dt: float) -> dict[str, float]:
        """Value of every slot of ``SLOTS`` at step ``dt`` (ms)."""
        raise NotImplementedError(f"{self.kind} has no engine parameters")

    def initial_state(self, v0: np.ndarray) -> dict[str, np.ndarray]:
        """State rows (names of ``ROWS``) for initial potentials ``v0``; rows left out are 0."""
        return {"v": np.asarray(v0, dtype=np.float64)}

    def current_coefficient(self, tau_s: float, dt: float) -> float:
        """How much ``v`` moves over one step per unit of an exponential current channel of
        time constant ``tau_s`` at the start of the step (exact for linear models). 0: the
        model's step reads the channel itself."""
        return 0.0

    def step_for(self, flags: int) -> str:
        """Name of the compiled step that runs a population of this model whose
        ``POP_FLAGS`` are ``flags`` (a model may keep variants, so that a network compiles only
        the code its populations use); ``STEP`` by default. The step named ``STEP`` must run
        every configuration."""
        return self.STEP

    @classmethod
    def kernels(cls):
        """``(step, step_numpy)`` of this model: functions named so in its module."""
        import importlib

        mod = importlib.import_module(cls.__module__)
        return getattr(mod, cls.STEP), getattr(mod, cls.STEP + "_numpy")

    #: Name of the compiled step function in the model's module (its twin: ``STEP + "_numpy"``).
    STEP: ClassVar[str] = "step"
    #: The parameter slot holding the threshold (set to +inf for a population that
    #: integrates without firing).
    SLOT_THRESHOLD: ClassVar[str] = "v_th"
    #: Recordable variables kept in a state row other than ``ROWS.index(name)``.
    RECORD_ROWS: ClassVar[dict[str, int]] = {}
    #: An input source (:mod:`neurosim.neurons.sources`): no membrane, no threshold, no
    #: rate function; it takes no input.
    is_source: ClassVar[bool] = False


NEURON_MODELS: dict[str, type[NeuronModel]] = {}


def register(cls: type[NeuronModel]) -> type[NeuronModel]:
    """Add a model class to :data:`NEURON_MODELS` under its ``kind`` (usable as a decorator)."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__}: a neuron model needs a kind")
    NEURON_MODELS[cls.kind] = cls
    return cls


def load_models() -> dict[str, type[NeuronModel]]:
    """Import the built-in model modules (``neurosim.neurons.BUILTIN``), which register
    themselves; the registry."""
    import importlib

    from . import BUILTIN

    for name in BUILTIN:
        importlib.import_module(f"{__package__}.{name}")
    # the built-in models first, in BUILTIN's order, whatever order they were imported in
    # (the order of error messages and listings); models added elsewhere after them
    rank = {f"{__package__}.{name}": k for k, name in enumerate(BUILTIN)}
    ordered = sorted(NEURON_MODELS.items(), key=lambda kv: rank.get(kv[1].__module__, len(rank)))
    NEURON_MODELS.clear()
    NEURON_MODELS.update(ordered)
    return NEURON_MODELS


def get_neuron_model(kind: str, prefix: str = "") -> type[NeuronModel]:
    """The class registered as ``kind``; a :class:`SpecError` listing the known ones if none."""
    if kind not in NEURON_MODELS:
        load_models()
    try:
        return NEURON_MODELS[kind]
    except (KeyError, TypeError):
        known = ", ".join(NEURON_MODELS)
        loc = f"{prefix}: " if prefix else ""
        raise SpecError(f"{loc}kind: unknown neuron type {kind!r} (known: {known})") from None


def neuron_from_table(table: dict | str, prefix: str) -> NeuronModel:
    """A neuron spec from a TOML table ``{kind = "lif", tau_m = 20.0, ...}`` or a bare kind.

    A model class may define a classmethod ``table_defaults(table, prefix)`` that returns the
    table with extra keys resolved (such as an Izhikevich ``preset``).
    """
    from ..specs.io import table_to_dataclass

    if isinstance(table, str):
        table = {"kind": table}
    if not isinstance(table, dict):
        raise SpecError(f"{prefix}: expected a table with a kind, got {table!r}")
    cls = get_neuron_model(table.get("kind"), prefix)
    table = dict(table)
    hook = getattr(cls, "table_defaults", None)
    if hook is not None:
        table = hook(table, prefix)
    return table_to_dataclass(cls, table, prefix, skip=("kind",))
