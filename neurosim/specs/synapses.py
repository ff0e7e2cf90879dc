"""Synapse models: what one presynaptic spike does to its target (units as in
:mod:`neurosim.specs.neurons`: ms, mV, and the target model's drive units).

- :class:`Delta`: an instantaneous jump ``v <- v + w`` (``w`` in mV; for McCulloch-Pitts units
  the dimensionless input of the next step).
- :class:`ExpCurrent`: a current ``s`` added to the drive, ``tau ds/dt = -s``, ``s <- s + w``
  on a spike (``w`` in the drive units: nA for IF/LIF/AdEx). Decays exactly:
  ``s(t + dt) = s exp(-dt / tau)``.
- :class:`ExpConductance`: a conductance ``g`` with reversal potential ``e_rev`` adding
  ``g (e_rev - v)`` to the drive, ``tau dg/dt = -g``, ``g <- g + w`` (``w`` in uS for nA
  models). Decays exactly.

A spike of neuron ``i`` at step ``n`` through a synapse of delay ``d`` (ms) takes effect at
step ``n + round(d / dt)``, after the neurons' update of that step (so it changes the
membrane from the next step on, as in Brian2); delays are kept in a ring buffer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..errors import SpecError

__all__ = ["Synapse", "Delta", "ExpCurrent", "ExpConductance", "SYNAPSE_KINDS",
           "synapse_from_table"]


@dataclass(frozen=True, kw_only=True)
class Synapse:
    """Base of the synapse models; ``kind`` is the name used in model files, ``code`` the
    channel kind the engine runs it as (the ``SYN_*`` constants of
    :mod:`neurosim.kernels.layout`, written out here because specs do not import the kernels;
    ``tests/test_spec.py`` holds the two equal)."""

    kind: ClassVar[str] = ""
    code: ClassVar[int] = -1

    @property
    def key(self) -> tuple:
        """What makes two synapses share one state variable on the target."""
        return (self.kind, getattr(self, "tau", 0.0), getattr(self, "e_rev", 0.0))


@dataclass(frozen=True, kw_only=True)
class Delta(Synapse):
    """Instantaneous jump of the target's membrane potential by the weight (mV)."""

    kind: ClassVar[str] = "delta"
    code: ClassVar[int] = 0  # kernels.layout.SYN_DELTA


def _check_tau(tau) -> None:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau > 0 \
            or not math.isfinite(tau):
        raise ValueError(f"tau: must be a positive number of ms, got {tau!r}")


@dataclass(frozen=True, kw_only=True)
class ExpCurrent(Synapse):
    """Exponentially decaying current, ``tau ds/dt = -s`` (``tau`` in ms)."""

    kind: ClassVar[str] = "exp_current"
    code: ClassVar[int] = 1  # kernels.layout.SYN_CURRENT
    tau: float = 5.0

    def __post_init__(self):
        _check_tau(self.tau)


@dataclass(frozen=True, kw_only=True)
class ExpConductance(Synapse):
    """Exponentially decaying conductance with reversal potential ``e_rev`` (mV)."""

    kind: ClassVar[str] = "exp_conductance"
    code: ClassVar[int] = 2  # kernels.layout.SYN_CONDUCTANCE
    tau: float = 5.0
    e_rev: float = 0.0

    def __post_init__(self):
        _check_tau(self.tau)
        if not math.isfinite(self.e_rev):
            raise ValueError(f"e_rev: must be finite, got {self.e_rev!r}")


SYNAPSE_KINDS: dict[str, type[Synapse]] = {c.kind: c for c in (Delta, ExpCurrent,
                                                                 ExpConductance)}


def synapse_from_table(table, prefix: str) -> Synapse:
    """A synapse spec from ``{kind = "exp_current", tau = 5.0}`` or a bare kind string."""
    from .io import table_to_dataclass

    if isinstance(table, str):
        table = {"kind": table}
    if not isinstance(table, dict) or not isinstance(table.get("kind"), str) \
            or table["kind"] not in SYNAPSE_KINDS:
        kind = table.get("kind") if isinstance(table, dict) else table
        known = ", ".join(SYNAPSE_KINDS)
        raise SpecError(f"{prefix}: kind: unknown synapse kind {kind!r} (known: {known})")
    return table_to_dataclass(SYNAPSE_KINDS[table["kind"]], table, prefix, skip=("kind",))
