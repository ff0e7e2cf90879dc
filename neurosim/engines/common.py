"""What the NEST and Brian2 engines share: the graph they take, what neither can take, and the
one :class:`~neurosim.spike.result.Result` made from what they recorded.

Both engines take a population network's lowered :class:`~neurosim.graph.Graph` (or its
:class:`~neurosim.builder.model.Built`), with connectivity made explicit by the builder
(:meth:`Built.pairs`), so that they run exactly the synapses the native engine runs. They
record the spikes of every population (the summary's spike counts and the operation counts
need them) and hand back only what the monitors asked for.

Operation counts are computed from the recorded spikes with the native engine's definitions:
a projection's synaptic operations are the sum, over its source's spikes, of each source
neuron's fan-out (counted when the spike is emitted, as the native engine does); a
population's neuron updates are its size times the number of steps.
"""

from __future__ import annotations

import numpy as np

from ..builder.model import Built, build
from ..errors import SpecError
from ..graph import Graph
from ..monitor.opcounts import LayerOps, OpCounts
from ..monitor.probes import SpikeTrains
from ..spike.result import Result

__all__ = ["as_built", "check_graph", "prepare", "population_values", "spike_result", "where"]


def as_built(graph_or_built: Graph | Built) -> Built:
    """The :class:`Built` of a graph (built here) or the one given."""
    if isinstance(graph_or_built, Built):
        return graph_or_built
    if isinstance(graph_or_built, Graph):
        return build(graph_or_built)
    raise TypeError(f"expected a Graph or a Built network, got {type(graph_or_built).__name__}")


def where(graph: Graph) -> str:
    return f"{graph.source}: " if graph.source else ""


def check_graph(built: Built, engine: str) -> None:
    """Refuse, by name, what neither engine takes: input sources, readout populations,
    projections other than explicit synapse lists, and same-step (delay 0) projections."""
    g = built.graph
    pre = where(g)
    for k, pop in enumerate(g.populations):
        what = f"{pre}population {k} ({pop.name})"
        if pop.neuron is None:
            raise SpecError(f"{what}: neuron: an input source (no neuron model) cannot run on "
                            f"the {engine} engine; give the population a neuron model")
        if not pop.spiking:
            raise SpecError(f"{what}: spiking: a population that never fires (a membrane "
                            f"readout) runs on the native engine only")
    for q, pj in enumerate(g.projections):
        what = f"{pre}projection {q} ({pj.name})"
        if pj.kind not in ("dense", "csr"):
            raise SpecError(f"{what}: kind: {pj.kind} projections (convolution and pooling "
                            f"windows) run on the native engine only; the {engine} engine "
                            "takes explicit synapse lists (dense or csr)")
        if pj.delay < 1:
            raise SpecError(f"{what}: delay: a same-step projection (delay 0, a layered "
                            f"network's feed-forward step) cannot run on the {engine} engine, "
                            "whose spikes act from the next step on")


def prepare(graph_or_built, duration: float, threads, engine: str) -> tuple[Built, int]:
    """The checked :class:`Built` of a run and its number of steps; a SpecError for what the
    engine cannot take, a duration under one step or a bad thread count."""
    built = as_built(graph_or_built)
    check_graph(built, engine)
    n_steps = int(round(duration / built.dt))
    if n_steps <= 0:
        raise SpecError(f"duration: must be at least one step of {built.dt} ms, "
                        f"got {duration!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise SpecError(f"--threads: must be a positive integer, got {threads!r}")
    return built, n_steps


def population_values(pop, names) -> dict[str, np.ndarray]:
    """Per-neuron values (arrays of the population's size) of the model fields ``names``:
    ``Population.params`` where given, else the model's value."""
    out = {}
    for name in names:
        value = pop.params.get(name, getattr(pop.neuron, name))
        out[name] = np.broadcast_to(np.asarray(value, dtype=np.float64), (pop.size,)).copy()
    return out


def spike_result(built: Built, n_steps: int, steps: dict[str, tuple[np.ndarray, np.ndarray]],
                 *, spikes=(), rates=(), state=None, state_indices=None,
                 timings=None) -> Result:
    """The :class:`Result` of a run whose every population's spikes are ``steps``:
    population -> ``(local indices, steps)``; ``state``/``state_indices`` as in
    :class:`Result`."""
    g = built.graph
    dt = built.dt
    duration = n_steps * dt
    sorted_steps = {}
    for pop in g.populations:
        idx, st = steps.get(pop.name, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        idx = np.asarray(idx, np.int64)
        st = np.asarray(st, np.int64)
        order = np.lexsort((idx, st))  # by step, then by neuron: the native engine's order
        sorted_steps[pop.name] = (idx[order], st[order])
    trains = {name: SpikeTrains(indices=sorted_steps[name][0],
                                times=sorted_steps[name][1].astype(np.float64) * dt,
                                size=g.population(name).size, duration=duration)
              for name in spikes}
    rate_arrays = {}
    for name in rates:
        size = g.population(name).size
        counts = np.bincount(sorted_steps[name][1], minlength=n_steps)[:n_steps]
        rate_arrays[name] = counts / (size * dt / 1000.0)
    rows = []
    for q, pj in enumerate(g.projections):
        pre, _, _ = built.pairs(q)
        fan_out = np.bincount(pre, minlength=g.population(pj.pre).size)
        rows.append(LayerOps(name=pj.name, sops=float(fan_out[sorted_steps[pj.pre][0]].sum())))
    rows += [LayerOps(name=pop.name, neuron_updates=float(pop.size * n_steps),
                      spikes=float(sorted_steps[pop.name][0].size), neurons=pop.size)
             for pop in g.populations]
    return Result(dt=dt, n_steps=n_steps,
                  op_counts=OpCounts(mode="spiking", layers=tuple(rows), timesteps=n_steps),
                  spikes=trains, state=state or {}, state_indices=state_indices or {},
                  rates=rate_arrays, timings=dict(timings or {}))
