"""A recurrent spiking spec + parameters -> the one network model, and its sequence record.

:func:`lower_recurrent` turns a sequence classifier of one recurrent spiking layer (``rlif``,
:class:`~neurosim.specs.layers.RecurrentLIF`; or a ReLU ``rnn`` converted to a recurrent IF
layer, :mod:`neurosim.convert`) and a dense output layer into a
:class:`~neurosim.graph.Graph`:

- ``input``: a source population of ``F`` neurons (one per feature of a sequence row);
- ``0:rlif`` (or ``0:rnn``): the recurrent layer, a population of
  :class:`~neurosim.neurons.discrete_lif.DiscreteLIF` neurons (input gain ``step``: ``v <-
  alpha v + I``, reset by subtraction, ``v >= v_th``; no leak for a converted ReLU RNN),
  fed by the dense projection ``input->0`` (delay 0, the analog row as a current) and by
  its own recurrent dense projection ``0->0`` of **delay 1** (spikes of step ``t - 1`` reach
  step ``t``; a converted ReLU RNN held ``k`` steps per row: delay ``k``, so that a row's
  window sees the rates of the row before it); the bias is its drive;
- ``1:dense``: the output, an IF population that never fires (membrane readout), fed by
  ``0->1`` (delay 0).

:func:`build_recurrent` builds the graph (:func:`neurosim.builder.model.build`) and wraps it
as a :class:`RecurrentNet` for the compiled sequence loop (:mod:`neurosim.kernels.recurrent`),
which delivers through the built fan-out tables, event by event. The adaptive threshold of
ALIF units (``adaptation > 0``) is a parameter of that loop (``prm``); DiscreteLIF itself has
no adaptation, so the general engine does not run an adaptive layer; nor the lower bound of
a converted ReLU RNN's membrane (``v_min = 0``, :mod:`neurosim.convert_recurrent`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError, where
from ..graph import Graph, Population, Projection
from ..kernels import layout as L
from ..kernels import recurrent as KR
from ..neurons.discrete_lif import DiscreteLIF
from ..neurons.if_ import IF
from ..specs.layers import Dense, RecurrentLIF, Rnn
from ..specs.synapses import Delta
from .model import Built, build
from .params import check_params

__all__ = ["RecurrentNet", "is_recurrent_spiking", "check_recurrent_spec", "recurrent_layer",
           "lower_recurrent", "build_recurrent", "RECURRENT_NAMES"]

#: Projections of the lowered graph, in the order of the built Model's projection table.
RECURRENT_NAMES = ("input", "recurrent", "output")


def is_recurrent_spiking(spec) -> bool:
    """Whether ``spec`` has an ``rlif`` layer (and so runs through this module)."""
    return any(isinstance(x, RecurrentLIF) for x in getattr(spec, "layers", ()))


@dataclass(frozen=True)
class _Neuron:
    """The recurrent layer's neuron: ``alpha``, ``rho``, ``beta``, ``v_th`` (see
    :class:`~neurosim.specs.layers.RecurrentLIF`) and the membrane's lower bound ``v_min``."""

    alpha: float
    rho: float
    beta: float
    v_th: float
    v_min: float = -np.inf


def recurrent_layer(layer, dt: float) -> _Neuron:
    """The neuron of an ``rlif`` layer, or of a ReLU ``rnn`` converted to IF neurons
    (``alpha = 1``, no adaptation, threshold 1, the membrane bounded below by 0: see
    :mod:`neurosim.convert_recurrent`)."""
    if isinstance(layer, RecurrentLIF):
        alpha, rho = layer.decays(dt)
        return _Neuron(alpha=alpha, rho=rho, beta=float(layer.adaptation),
                       v_th=float(layer.v_th))
    return _Neuron(alpha=1.0, rho=0.0, beta=0.0, v_th=1.0, v_min=0.0)


def check_recurrent_spec(spec, source=None) -> None:
    """:class:`SpecError` naming the layer unless ``spec`` is one recurrent layer (``rlif``, or
    a ReLU ``rnn``) followed by one dense output layer without activation or with softmax."""
    source = source if source is not None else spec.source
    layers = spec.layers
    if len(layers) != 2 or not isinstance(layers[0], (RecurrentLIF, Rnn)) \
            or not isinstance(layers[1], Dense):
        i = next((k for k, x in enumerate(layers) if not isinstance(x, (RecurrentLIF, Dense))),
                 len(layers) - 1)
        raise SpecError(f"{where(source, i, layers[i].kind)}: a recurrent spiking network is "
                        "one rlif layer (or a relu rnn) followed by one dense output layer")
    if len(spec.input_shape) != 2:
        raise SpecError(f"{where(source, field='input_shape')}: a recurrent spiking network "
                        "reads sequences (steps, features)")
    if layers[1].activation_name not in ("identity", "softmax"):
        raise SpecError(f"{where(source, 1, 'dense', 'activation')}: the output of a "
                        "recurrent spiking network is a membrane readout; use softmax or "
                        "leave the activation out")


@dataclass(frozen=True, kw_only=True)
class RecurrentNet:
    """A built recurrent spiking network: ``built`` (population 0 the input, 1 the recurrent
    layer, 2 the output), ``record`` the compiled loop's :data:`~neurosim.kernels.recurrent.
    Net`, ``dt`` (ms), ``names`` of the two layers, ``n_in``, ``units``, ``n_out``, and the
    slices of each projection's weights in ``record.model.weights``."""

    built: Built
    record: KR.Net
    dt: float
    names: tuple[str, str]
    n_in: int
    units: int
    n_out: int
    weight_slices: tuple[slice, slice, slice]


def lower_recurrent(spec, params, *, dt: float = 1.0, delay: int = 1) -> Graph:
    """The graph of a recurrent spiking network with ``params`` (module docstring); ``delay``
    (steps) that of the recurrent projection (1 for ``rlif``; a converted ReLU RNN held
    ``k`` steps per row has ``k``, :mod:`neurosim.convert_recurrent`)."""
    check_recurrent_spec(spec)
    params = check_params(spec, params, spec.source)
    rec, out = spec.layers
    steps, n_in = spec.input_shape
    m, c = rec.units, out.units
    p0, p1 = params
    if isinstance(rec, RecurrentLIF):
        leak = np.isfinite(rec.tau_m)
        nrn = DiscreteLIF(tau_m=rec.tau_m if leak else 1.0, leak=bool(leak), v_th=rec.v_th,
                          input_gain="step", reset="subtract")
    else:
        nrn = DiscreteLIF(leak=False, v_th=1.0, input_gain="step", reset="subtract")
    readout = IF(c_m=dt, v_th=1.0, v_reset=0.0, reset="subtract", t_ref=0.0)
    names = (f"0:{rec.kind}", "1:dense")
    f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731
    pops = (Population(name="input", neuron=None, shape=(n_in,)),
            Population(name=names[0], neuron=nrn, shape=(m,), v0=np.zeros(m),
                       drive=f32(p0.get("b", np.zeros(m)))),
            Population(name=names[1], neuron=readout, shape=(c,), spiking=False,
                       v0=np.zeros(c), drive=f32(p1.get("b", np.zeros(c)))))
    projs = (Projection(name=f"input->{names[0]}", pre="input", post=names[0], kind="dense",
                        synapse=Delta(), delay=0, weights=f32(p0["W"].T.ravel())),
             Projection(name=f"{names[0]}->{names[0]}", pre=names[0], post=names[0],
                        kind="dense", synapse=Delta(), delay=int(delay),
                        weights=f32(p0["U"].T.ravel())),
             Projection(name=f"{names[0]}->{names[1]}", pre=names[0], post=names[1],
                        kind="dense", synapse=Delta(), delay=0, weights=f32(p1["W"].T.ravel())))
    return Graph(populations=pops, projections=projs, dt=float(dt), name=spec.name,
                 source=spec.source)


def build_recurrent(spec, params, *, dt: float = 1.0, delay: int = 1) -> RecurrentNet:
    """Lower and build ``spec`` with ``params`` for the compiled sequence loop."""
    if isinstance(spec.layers[0], RecurrentLIF) and delay != 1:
        raise SpecError(f"{where(spec.source, 0, 'rlif')}: the recurrent projection of an "
                        f"rlif layer has a delay of one step, got {delay}")
    graph = lower_recurrent(spec, params, dt=dt, delay=delay)
    built = build(graph)
    m = built.model
    rec, out = spec.layers
    nrn = recurrent_layer(rec, dt)
    n_in, units, n_out = (p.size for p in graph.populations)
    bounds = [*m.proj[:, L.PROJ_WEIGHT], m.weights.size]
    sizes = (n_in * units, units * units, units * n_out)
    slices = tuple(slice(int(bounds[q]), int(bounds[q]) + sizes[q]) for q in range(3))
    for q, p in enumerate(graph.projections):  # the builder keeps dense rows in order
        if not np.array_equal(m.weights[slices[q]], p.weights):
            raise SpecError(f"{where(spec.source)}: projection {p.name}: unexpected weight "
                            "layout in the built model".lstrip(": "))
    record = KR.Net(model=m._replace(weights=m.weights.astype(np.float32)),
                    bias=m.drive[0].astype(np.float32),
                    prm=np.array([nrn.alpha, nrn.rho, nrn.beta, nrn.v_th, nrn.v_min]),
                    pops=np.array([1, 2], np.int64), delay=int(delay))
    return RecurrentNet(built=built, record=record, dt=float(dt),
                        names=tuple(p.name for p in graph.populations[1:]), n_in=n_in,
                        units=units, n_out=n_out, weight_slices=slices)
