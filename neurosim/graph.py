"""The one network model: populations joined by projections.

Every kind of network lowers to a :class:`Graph` (:mod:`neurosim.builder.lower`): a population
network (CUBA, COBA) population by population; a layered classifier layer by layer, each
layer a population and each connection a projection of kind dense, conv window or pool. The
builder (:func:`neurosim.builder.model.build`) turns a graph into frozen arrays; the engines
(:mod:`neurosim.spike`) run them and return one result type.

- A :class:`Population` has a neuron model (from :data:`neurosim.neurons.NEURON_MODELS`; or
  ``None`` for an input source, whose spikes or values come from outside), a shape, optional
  per-neuron parameter arrays (``params``: slot name -> array of the population's size,
  overriding the model's value), initial potentials ``v0`` (mV) and a constant or per-neuron
  drive ``drive`` (the model's drive units). ``spiking = False`` makes it integrate without
  ever firing (the membrane readout of a classifier).
- A :class:`Projection` joins ``pre`` to ``post``'s synaptic channel ``target`` through a
  synapse model, with a ``kind`` and its fan-out table:
  ``dense`` (weights ``(n_pre, n_post)``), ``csr`` (``indptr``, population-local ``indices``,
  ``weights``), ``conv`` (per input position ``indptr``/``indices`` = first target neuron,
  ``kof`` = kernel tap offset, weights ``(C_in, kh, kw, C_out)`` flattened; geometry
  ``c_in``, ``c_out``, ``taps``), ``pool`` (per source neuron ``indptr``/``indices``, one
  weight) or ``maxpool`` (the same table; a spike passes, with the one weight, only to the
  pooling neurons of whose windows its source has now sent the most spikes: spike-count
  gating, :func:`neurosim.kernels.propagate.deliver_maxpool`).
- ``delay`` counts whole steps: ``0`` delivers in the same step to a population later in the
  order (feed-forward layers), ``1`` from the next step on (Brian2's delay 0), ``d``
  ``d - 1`` steps later still (:mod:`neurosim.kernels.propagate`). Cycles are allowed through
  projections of delay ``>= 1``; a cycle of same-step projections is refused.
- ``delays`` (dense or CSR only): one delay per synapse, whole steps ``>= 1``, in the order of
  ``weights``; it replaces ``delay``. The builder packs them into one small integer per
  synapse (:mod:`neurosim.builder.model`).
- ``dt`` (ms) is the step every delay and every neuron parameter refers to.
- Inputs of a population: ``background`` (:class:`Background`: NEST ``poisson_generator``
  trains, two numbers per neuron, no synapses), ``initial`` (initial values of state rows
  and of synaptic channels ``syn_<target>``), ``drive_steps`` (a stepped drive: change steps
  and per-neuron values) and ``events`` (a spike generator's ``(indptr, steps)`` per
  neuron).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import SpecError
from .neurons.base import NeuronModel
from .specs.synapses import Synapse

__all__ = ["Population", "Projection", "Background", "Graph", "PROJECTION_KINDS"]

PROJECTION_KINDS = ("dense", "csr", "conv", "pool", "maxpool")


@dataclass(frozen=True, kw_only=True, eq=False)
class Background:
    """Poisson trains into channel ``target`` of every neuron of a population: ``rate`` (Hz,
    per neuron, 0 for none) events of ``weight`` each (:mod:`neurosim.kernels.background`),
    drawn from the counter-based stream ``key``."""

    name: str
    target: str
    synapse: Synapse
    rate: np.ndarray
    weight: float
    key: int = 1


@dataclass(frozen=True, kw_only=True, eq=False)
class Population:
    """A group of neurons of one model (``None``: an input source)."""

    name: str
    neuron: NeuronModel | None
    shape: tuple[int, ...]
    params: dict[str, np.ndarray] = field(default_factory=dict)
    v0: np.ndarray | None = None
    drive: float | np.ndarray = 0.0
    spiking: bool = True
    background: tuple[Background, ...] = ()
    initial: dict[str, np.ndarray] = field(default_factory=dict)
    drive_steps: tuple[np.ndarray, np.ndarray] | None = None
    events: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass(frozen=True, kw_only=True, eq=False)
class Projection:
    """Synapses from population ``pre`` to channel ``target`` of ``post`` (module doc)."""

    name: str
    pre: str
    post: str
    kind: str
    synapse: Synapse
    target: str = "e"
    delay: int = 1
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delays: np.ndarray | None = None
    indptr: np.ndarray | None = None
    indices: np.ndarray | None = None
    kof: np.ndarray | None = None
    delays: np.ndarray | None = None
    c_in: int = 0
    c_out: int = 0
    taps: int = 0

    def __post_init__(self):
        if self.kind not in PROJECTION_KINDS:
            raise SpecError(f"projection {self.name}: kind: must be one of "
                            f"{', '.join(PROJECTION_KINDS)}, got {self.kind!r}")
        if isinstance(self.delay, bool) or not isinstance(self.delay, (int, np.integer)) \
                or self.delay < 0:
            raise SpecError(f"projection {self.name}: delay: must be a whole number of steps "
                            f">= 0, got {self.delay!r}")
        if self.delays is not None and self.kind not in ("dense", "csr"):
            raise SpecError(f"projection {self.name}: delays: per-synapse delays are for "
                            f"dense and csr projections, not {self.kind}")


@dataclass(frozen=True, kw_only=True, eq=False)
class Graph:
    """Populations in update order and the projections between them, at step ``dt`` (ms)."""

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]
    dt: float
    name: str = ""
    source: str | None = None

    def __post_init__(self):
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise SpecError(f"{self._where()}populations: duplicate population names")
        order = {n: k for k, n in enumerate(names)}
        for proj in self.projections:
            for end in ("pre", "post"):
                if getattr(proj, end) not in order:
                    raise SpecError(f"{self._where()}projection {proj.name}: {end}: unknown "
                                    f"population {getattr(proj, end)!r}")
            if proj.delay == 0 and order[proj.pre] >= order[proj.post]:
                raise SpecError(f"{self._where()}projection {proj.name}: delay: a same-step "
                                "projection must lead to a later population (a cycle needs "
                                "a delay of at least one step)")

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def population(self, name: str) -> Population:
        return next(p for p in self.populations if p.name == name)
