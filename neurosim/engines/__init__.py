"""Engines for population networks: the same graph run natively, in NEST or in Brian2, with the
same :class:`~neurosim.spike.result.Result`.

>>> from neurosim.engines import simulate
>>> from neurosim.specs.io import load_model
>>> res = simulate(load_model("models/cuba.toml"), engine="nest", threads=2)  # doctest: +SKIP
>>> res.spikes["exc"].mean_rate  # doctest: +SKIP

- ``native``: :mod:`neurosim.spike.population` (compiled, event-driven; ``threads``);
- ``nest``: :mod:`neurosim.engines.nest_engine` (``threads``; MPI under ``mpirun``);
- ``brian2``: :mod:`neurosim.engines.brian2_engine` (``device`` ``runtime`` or
  ``cpp_standalone``, ``target``, ``threads``).

NEST and Brian2 are imported only when their engine runs (``pip install
'neurosim-snn[nest]'`` / ``'neurosim-snn[brian2]'``); each module's docstring says what it maps
each neuron model to and what it refuses.
"""

from __future__ import annotations

import dataclasses
import importlib
import time

__all__ = ["ENGINES", "run", "simulate"]

ENGINES = ("native", "nest", "brian2")
_MODULES = {"nest": "nest_engine", "brian2": "brian2_engine"}


def _check(engine: str):
    from ..errors import SpecError

    if engine not in ENGINES:
        raise SpecError(f"--engine: must be one of {', '.join(ENGINES)}, got {engine!r}")


def run(graph_or_built, duration: float, *, engine: str = "native", spikes=(), rates=(),
        state=(), progress: bool = False, **options):
    """Run a lowered population network (a :class:`~neurosim.graph.Graph` or its
    :class:`~neurosim.builder.model.Built`) for ``duration`` ms on ``engine``; monitors as
    :class:`neurosim.spike.population.Simulator` takes them; ``options`` go to the engine."""
    _check(engine)
    if engine != "native":
        mod = importlib.import_module(f"{__name__}.{_MODULES[engine]}")
        return mod.run(graph_or_built, duration, spikes=spikes, rates=rates, state=state,
                       progress=progress, **options)
    from ..errors import SpecError
    from ..spike.population import Simulator
    from .common import as_built

    threads = options.pop("threads", 1)
    if options:
        raise SpecError(f"--{next(iter(options)).replace('_', '-')}: the native engine takes "
                        "no such option")
    built = as_built(graph_or_built)
    sim = Simulator(built, spikes=spikes, rates=rates, state=state, threads=threads)
    sim.run(int(round(duration / built.dt)), progress=progress)
    return sim.result()


def simulate(spec, *, engine: str = "native", duration: float | None = None,
             seed: int | None = None, progress: bool = False, **options):
    """Lower and run a :class:`~neurosim.specs.populations.PopulationNetwork` with the
    monitors of its ``[simulation]`` table on ``engine`` (``duration`` and ``seed`` override
    the spec's). The native engine is :func:`neurosim.spike.population.simulate_network`;
    it also takes ``spike_file`` (stream the spikes there) and ``interruptible``."""
    _check(engine)
    from ..errors import SpecError

    if duration is not None and not duration > 0:
        raise SpecError(f"duration: must be a positive number of ms, got {duration!r}")
    native_only = {k: options.pop(k) for k in ("spike_file", "interruptible") if k in options}
    if engine == "native" and set(options) <= {"threads"}:
        from ..spike.population import simulate_network

        return simulate_network(spec, duration=duration, seed=seed, progress=progress,
                                **native_only, **options)
    from ..builder.lower import lower_populations

    t0 = time.perf_counter()
    graph = lower_populations(spec, seed=seed)
    lower_s = time.perf_counter() - t0
    mon = spec.simulation.monitors
    res = run(graph, spec.simulation.duration if duration is None else duration,
              engine=engine, spikes=mon.spikes, rates=mon.rates,
              state=[(p.population, p.variables, p.indices) for p in mon.state],
              progress=progress, **options)
    timings = dict(res.timings)
    timings["build"] = timings.get("build", 0.0) + lower_s
    return dataclasses.replace(res, timings=timings)
