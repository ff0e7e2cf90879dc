"""``neurosim simulate GRAPH.nir --convention NAME --input INPUT.npy --timesteps T``: run a NIR
graph as the named framework steps it.

The graph is read with NIR's type checks on (an older graph that fails them is read without,
with a warning) and translated under the convention (:mod:`neurosim.interchange.conventions`:
``snntorch``, ``norse``, ``sinabs``, ``spikingjelly``, ``exact``); ``--dt`` (ms) overrides its
step. ``INPUT.npy`` holds the input's shape (held every step) or ``(T, *shape)``; 0/1 values
are spikes, anything else analog current. Writes into ``--out`` (default ``runs/<graph
name>``), each file atomically:

- ``spikes.npz``: for each population ``P`` (named after its NIR node), ``P_steps`` and
  ``P_neurons`` (int64, one entry per spike, steps from 0, neurons in NIR's flat C-order);
- ``traces.npz`` (``--traces``): ``P_v``, shape ``(T, n)``, the membrane potential after each
  step, and ``t_ms``;
- ``summary.json``: the convention as applied (with what the file stated), dt, the input
  mode, per population its size, spikes and mean rate, the outputs, operation counts and
  timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path


def add_arguments(p) -> None:
    """The options of ``neurosim simulate`` that only NIR graphs take."""
    from ..interchange.conventions import PRESETS

    g = p.add_argument_group("NIR graphs (GRAPH.nir)")
    g.add_argument("--convention", choices=tuple(PRESETS), default=None,
                   help="how the graph is stepped: as snnTorch, Norse, sinabs or SpikingJelly "
                        "do, or exactly (required for .nir files)")
    g.add_argument("--dt", type=float, default=None, metavar="MS",
                   help="time step in ms (default: the file's, else the convention's)")
    g.add_argument("--input", default=None, metavar="INPUT.npy",
                   help="input values: the input's shape (held every step) or (T, *shape)")
    g.add_argument("--timesteps", type=int, default=None, metavar="T",
                   help="number of steps (or give --duration in ms)")
    g.add_argument("--input-mode", choices=("auto", "spikes", "current"), default="auto",
                   help="0/1 values as spikes and anything else as current (auto, default)")
    g.add_argument("--traces", action="store_true",
                   help="also write every neuron population's membrane potential "
                        "(traces.npz)")


def run(args: argparse.Namespace) -> int:
    """Simulate ``args.model``, a ``.nir`` file (module docstring)."""
    import numpy as np

    from ..errors import DataError, NeurosimError
    from ..interchange.nir_import import import_nir
    from ..runs import RunFolder, run_folder

    t_start = time.perf_counter()
    src = args.model
    if args.convention is None:
        raise NeurosimError(f"{src}: --convention: required for a NIR graph (snntorch, norse, "
                            "sinabs, spikingjelly or exact)")
    if getattr(args, "engine", "native") not in (None, "native"):
        raise NeurosimError(f"{src}: --engine: NIR graphs run on the native engine")
    if args.input is None:
        raise NeurosimError(f"{src}: --input: required (INPUT.npy)")
    if args.dt is not None and not args.dt > 0:
        raise NeurosimError(f"--dt: must be a positive number of ms, got {args.dt}")
    try:
        x = np.load(args.input, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{args.input}: no such input file") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{args.input}: not a readable .npy array ({err})") from None
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number) \
            and x.dtype != bool:
        raise DataError(f"{args.input}: input: must be a numeric array")
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        imp = import_nir(src, args.convention, dt=args.dt)
    for w in caught:  # one line each, as errors are
        print(f"neurosim simulate: warning: {w.message}", file=sys.stderr)
    t_import = time.perf_counter() - t0
    if args.timesteps is not None:
        steps = args.timesteps
    elif args.duration is not None:
        steps = int(round(args.duration / imp.dt))
    elif imp.inputs and x.ndim > len(imp.shapes[imp.inputs[0]]):
        steps = int(x.shape[0])
    else:
        raise NeurosimError(f"{src}: --timesteps: required (or --duration in ms)")
    if steps <= 0:
        raise NeurosimError(f"--timesteps: must be a positive integer, got {steps}")
    _check_memory(src, imp, steps, args.traces)
    out = run_folder(args.out, Path(src).stem)
    with RunFolder(out, "neurosim simulate") as run:
        return _run(args, imp, x, steps, out, run, t_start, t_import)


def _check_memory(src, imp, steps: int, traces: bool):
    """Refuse a run above the memory budget before it starts: state (per neuron), the drive
    of every step (``T x units`` float64, inputs included), traces (``T x neurons`` float64
    with ``--traces``) and the per-step counters."""
    import numpy as np

    from ..limits import Estimate

    n = sum(int(imp.order[name].size) for name in imp.neurons)
    units = sum(int(np.prod(p.shape)) for p in imp.graph.populations)
    est = Estimate(f"{src}: NIR graph of {n:,} neurons for {steps:,} steps")
    est.add("state", n * 8 * 16)
    est.add("drive", steps * units * 8)
    est.add("recorders", steps * 8 * len(imp.neurons))
    if traces:
        est.add("traces", steps * n * 8)
    return est.check()


def _run(args, imp, x, steps, out, run, t_start, t_import) -> int:
    src = args.model
    import numpy as np

    from ..atomic import atomic_savez, atomic_write_text
    from ..errors import DataError
    from ..interchange.nir_import import simulate_nir

    try:
        run_ = simulate_nir(imp, x, steps, traces="all" if args.traces else (),
                            input_mode=args.input_mode,
                            progress=not args.no_progress)
    except DataError as err:
        raise DataError(f"{args.input}: {err}") from None
    res = run_.result
    run.begin(stale=("traces.npz",))
    arrays = {}
    for name, (s, n) in run_.spikes.items():
        arrays[f"{name}_steps"] = s
        arrays[f"{name}_neurons"] = n
    atomic_savez(out / "spikes.npz", **arrays)
    files = ["spikes.npz"]
    if args.traces:
        atomic_savez(out / "traces.npz", t_ms=np.arange(1, steps + 1) * imp.dt,
                     **{f"{name}_v": v for name, v in run_.traces.items()})
        files.append("traces.npz")
    duration_s = steps * imp.dt / 1000.0
    pops = {}
    for name in imp.neurons:
        n_spikes = int(run_.spikes[name][0].size)
        size = int(imp.order[name].size)
        pops[name] = {"nir_node": name, "shape": list(imp.shapes[name]), "size": size,
                      "fires": name not in imp.readouts, "spikes": n_spikes,
                      "mean_rate_hz": n_spikes / size / duration_s}
    timings = dict(res.timings)
    timings["import"] = t_import
    timings["total"] = time.perf_counter() - t_start
    summary = {
        "model": imp.graph.name, "source": str(src), "engine": "native",
        "convention": imp.convention.to_dict(), "from_file": list(imp.notes),
        "dt_ms": imp.dt, "n_steps": steps, "duration_ms": steps * imp.dt,
        "input": str(args.input), "input_mode": run_.input_mode,
        "inputs": list(imp.inputs), "outputs": list(imp.outputs),
        "populations": pops, "op_counts": res.op_counts.to_dict(),
        "timings_s": timings, "files": files + ["summary.json"],
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False)
                      + "\n")
    run.finish()
    rates = ", ".join(f"{k} {v['spikes']} spikes" for k, v in pops.items())
    print(f"{imp.graph.name} ({args.convention}, dt {imp.dt:g} ms, {run_.input_mode} input): "
          f"{steps} steps; {rates}; run {timings['run']:.3f} s -> {out}")
    return 0
