"""``neurosim simulate MODEL.toml``: run a network of populations (CUBA, COBA, ...).

Writes into ``--out`` (default ``runs/<model name>``): ``spikes.npz`` (for each recorded
population ``P``, ``P_steps`` and ``P_neurons``, one entry per spike; on the native engine
streamed to part files in the folder during the run and assembled at the end, so memory stays
bounded; Ctrl-C stops the run, keeps what was simulated in every file and exits with 130;
:mod:`neurosim.monitor.spikefile`), ``summary.json`` (spike
counts, mean rates and ISI CV per population, operation counts as an ``OpCounts`` with mode
"spiking" — one row per projection with its synaptic operations, one per population with its
neuron updates and spikes — and timings: build, compile (or cache load), run, total), and the
figures ``raster.png``, ``traces.png``, ``rates.png`` for what the model's monitors record.
The time loop runs compiled, in chunks, under a progress bar. ``--engine nest|brian2`` runs
the same graph in NEST or Brian2 (:mod:`neurosim.engines`) and writes the same files, with
``"engine"`` in the summary; with NEST's operation counts computed from the recorded spikes.
"""

from __future__ import annotations

import argparse
import json
import math
import time

#: The figure this command draws (removed first, so a failed redraw leaves none).
FIGURE = "overview.png"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate", help="run a network of spiking populations",
        description="Simulate a population network (models/cuba.toml, models/coba.toml) and "
                    "write summary.json and raster/trace/rate figures.")
    p.add_argument("model", help="model file with [[populations]] and [[projections]], or a "
                   "NIR graph (GRAPH.nir)")
    p.add_argument("--duration", type=float, default=None,
                   help="simulated time in ms (default: the model's [simulation] duration)")
    p.add_argument("--out", default=None, help="output folder (default runs/<model name>)")
    p.add_argument("--seed", type=int, default=None, help="override the simulation seed")
    p.add_argument("--no-plots", action="store_true", help="write summary.json only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--variant", default=None,
                   help="one of the model's [variants] (models/brunel2000.toml: SR, AI, "
                        "SI_fast, SI_slow)")
    p.add_argument("--scale", type=float, default=None,
                   help="scale neurons and in-degrees by S in (0, 1], weights by 1/sqrt(S), "
                        "with DC compensation of the mean input (models/microcircuit.toml)")
    p.add_argument("--engine", choices=("native", "nest", "brian2"), default="native",
                   help="run on neurosim's own engine (default), in NEST or in Brian2 "
                        "(README: Engines)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads: of the native engine (partitioned by target neuron, the same "
                        "results on any number; docs/engine.md), of NEST, or Brian2 "
                        "cpp_standalone's OpenMP threads")
    p.add_argument("--device", choices=("runtime", "cpp_standalone"), default=None,
                   help="Brian2 device (default runtime)")
    from .simulate_nir import add_arguments

    add_arguments(p)  # GRAPH.nir: --convention, --dt, --input, --timesteps, ...
    p.set_defaults(func=run)


def _finite_or_none(x):
    """JSON has no NaN: an undefined statistic (too few spikes for an ISI CV) is null."""
    return float(x) if x == x and abs(x) != float("inf") else None


def _engine_options(args) -> dict:
    """``--threads`` and ``--device`` for the engines that take them."""
    from ..errors import NeurosimError

    opts = {}
    if args.threads is not None:
        if args.threads < 1:
            raise NeurosimError(f"--threads: must be >= 1, got {args.threads}")
        opts["threads"] = args.threads
    if args.device is not None:
        if args.engine != "brian2":
            raise NeurosimError("--device: Brian2's devices are for --engine brian2")
        opts["device"] = args.device
    return opts


#: Options that only a NIR graph takes (``neurosim simulate GRAPH.nir``).
NIR_ONLY = ("convention", "dt", "input", "timesteps", "input_mode", "traces")


def run(args: argparse.Namespace) -> int:
    if str(args.model).endswith(".nir"):  # a NIR graph: its own module
        from .simulate_nir import run as run_nir

        for name in ("variant", "scale"):
            if getattr(args, name, None) is not None:
                from ..errors import NeurosimError

                raise NeurosimError(f"{args.model}: --{name}: an option for model files; a "
                                    "NIR graph has no variants and is not scaled")

        return run_nir(args)
    given = [f"--{name.replace('_', '-')}" for name in NIR_ONLY
             if getattr(args, name, None) not in (None, False, "auto")]
    if given:
        from ..errors import NeurosimError

        raise NeurosimError(f"{args.model}: {given[0]}: an option for NIR graphs (GRAPH.nir); "
                            "a model file sets its own dt, duration and inputs")
    t_start = time.perf_counter()
    renderer = None
    if not args.no_plots:  # first of all, before the engine's imports
        from ..plot.background import OverviewRenderer

        renderer = OverviewRenderer().start()  # imports matplotlib while the engine runs
    try:
        return _simulate(args, t_start, renderer)
    finally:
        if renderer is not None:
            renderer.close()


def _simulate(args, t_start, renderer) -> int:
    from ..builder.lower import check_network_memory
    from ..errors import NeurosimError
    from ..runs import RunFolder, run_folder
    from ..specs.io import load_model
    from ..specs.populations import PopulationNetwork

    if args.duration is not None and not (args.duration > 0 and math.isfinite(args.duration)):
        raise NeurosimError(f"--duration: must be a positive, finite number of ms, got "
                            f"{args.duration}")
    if args.seed is not None and args.seed < 0:
        raise NeurosimError(f"--seed: must be >= 0, got {args.seed}")
    spec = load_model(args.model, variant=args.variant)
    if not isinstance(spec, PopulationNetwork):
        raise NeurosimError(f"{args.model}: simulate runs population networks "
                            "([[populations]]); layered models run with evaluate/compare")
    if args.scale is not None:
        from ..builder.scaling import scale_network

        spec = scale_network(spec, args.scale)
    if args.duration is not None and args.duration < spec.simulation.dt:
        raise NeurosimError(f"--duration: {args.duration} ms is shorter than one step "
                            f"(dt = {spec.simulation.dt} ms in {args.model})")
    check_network_memory(spec, args.duration)
    out = run_folder(args.out, spec.name)
    with RunFolder(out, "neurosim simulate") as run:  # writable and ours, before the run
        return _run(args, spec, out, run, t_start, renderer)


def _run(args, spec, out, run, t_start, renderer) -> int:
    import sys

    import numpy as np

    from ..atomic import atomic_savez, atomic_write_text
    from ..engines import simulate
    from ..plot.text import literal

    progress = not args.no_progress and sys.stderr.isatty()
    options = _engine_options(args)
    streamed = args.engine == "native" and bool(spec.simulation.monitors.spikes)
    if streamed:
        options.update(spike_file=out / "spikes.npz", interruptible=True)
    run.begin(stale=(FIGURE,))  # the engine streams spikes.npz into the folder from here on
    res = simulate(spec, engine=args.engine, duration=args.duration, seed=args.seed,
                   progress=progress, **options)
    if args.engine == "nest":
        from ..engines.nest_engine import root_process

        if not root_process():  # under mpirun: process 0 writes the files
            return 0
    pops = {}
    for pop in spec.populations:
        if pop.neuron.kind == "poisson_generator":  # a device, lowered to background drives
            continue
        tr = res.spikes.get(pop.name)
        ops = next(x for x in res.op_counts.layers if x.name == pop.name)
        pops[pop.name] = {
            "size": pop.size, "neuron": pop.neuron.kind, "spikes": int(ops.spikes),
            "mean_rate_hz": (ops.spikes / pop.size / (res.duration / 1000.0)
                             if res.duration > 0 else 0.0),
            "isi_cv": _finite_or_none(tr.cv) if tr is not None else None,
        }
    figures = []
    if renderer is not None and (res.spikes or res.rates or res.state):
        renderer.draw(out / FIGURE, res.spikes, res.t, res.state, res.state_indices,
                      res.rates, res.dt,
                      title=f"{literal(spec.name)}: spike raster, population rates, recorded "
                            "state")
        figures.append(FIGURE)
    timings = dict(res.timings)
    timings["total"] = time.perf_counter() - t_start
    summary = {
        "model": spec.name, "source": str(args.model), "engine": args.engine,
        "dt_ms": res.dt,
        "duration_ms": res.duration, "n_steps": res.n_steps, "interrupted": res.interrupted,
        "seed": spec.simulation.seed if args.seed is None else args.seed,
        "variant": spec.variant, "scale": 1.0 if args.scale is None else args.scale,
        "populations": pops,
        "op_counts": res.op_counts.to_dict(),
        "synaptic_events_per_s": (res.op_counts.sops / timings["run"]
                                  if timings["run"] > 0 else None),
        "timings_s": timings, "figures": figures,
    }
    # spikes.npz: per recorded population P, P_steps and P_neurons (one entry per spike, steps
    # from 0), the file NIR graphs' runs write too (the native engine streamed it already)
    if not streamed:
        atomic_savez(out / "spikes.npz", **{
            f"{name}_{key}": arr for name, tr in res.spikes.items()
            for key, arr in (("steps", np.rint(np.asarray(tr.times) / res.dt).astype(np.int64)),
                             ("neurons", np.asarray(tr.indices, np.int64)))})
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False)
                      + "\n")
    if not res.interrupted:  # an interrupted run's files hold what was simulated: marked
        run.finish()
    rates = ", ".join(f"{k} {v['mean_rate_hz']:.2f} Hz" for k, v in pops.items())
    stopped = " (interrupted: what was simulated is saved)" if res.interrupted else ""
    print(f"{spec.name}: {res.duration:g} ms{stopped}, {rates}; {res.op_counts.sops:.0f} "
          f"synaptic events; run {timings['run']:.3f} s (build {timings['build']:.3f} s, "
          f"compile {timings['compile']:.3f} s) -> {out}")
    return 130 if res.interrupted else 0
