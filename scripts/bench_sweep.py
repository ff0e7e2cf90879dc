"""Speed-up and overhead of ``neurosim sweep``: the same sweep with 1 and with 2 Dask workers,
back to back (alternating, ``--rounds`` times each), and in this process without Dask.

    python scripts/bench_sweep.py                       # the digits conversion sweep
    python scripts/bench_sweep.py --only digits --rounds 2 --inproc

Prints, per run: the load average before it, the sweep's wall time (cluster start-up apart),
the seconds its tasks spent computing, the overhead per task ``(wall workers - busy) /
tasks`` and as a share of the mean task; then the speed-up ``wall(1) / wall(2)`` and, with
``--inproc``, the overhead of running through Dask at all: ``(wall(1 worker) - wall(in
process)) / tasks``. Each run writes a fresh store in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import Executor, Future
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class InProcess(Executor):
    """Runs each task when it is submitted, in this process (the baseline without Dask)."""

    def submit(self, fn, *args, **kwargs):
        fut = Future()
        fut.set_result(fn(*args, **kwargs))
        return fut


def load() -> str:
    return "load " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def one_run(sweep, workers, warmups):
    from neurosim.sweep.executor import dask_executor
    from neurosim.sweep.run import run_sweep

    out = tempfile.mkdtemp(prefix="bench-sweep-")
    before = load()
    t0 = time.perf_counter()
    if workers == 0:
        run = run_sweep(sweep, out, InProcess(), workers=1, progress=False)
        start = 0.0
    else:
        with dask_executor(workers, None, warmups) as (ex, n, _):
            start = time.perf_counter() - t0
            run = run_sweep(sweep, out, ex, workers=n, progress=False)
    tasks = run.ran + run.trainings
    mean_task = run.busy_s / tasks
    print(f"{'in process' if workers == 0 else f'{workers} worker(s)':>12}: {before}; "
          f"sweep {run.wall_s:7.2f} s (+{start:5.2f} s cluster start), busy {run.busy_s:7.2f}"
          f" s, {tasks} tasks, mean task {mean_task:.3f} s, overhead "
          f"{run.overhead_per_task_s * 1e3:7.1f} ms per task "
          f"({100 * run.overhead_per_task_s / mean_task:.1f}% of the mean task)", flush=True)
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default="models/sweeps/conversion.toml")
    ap.add_argument("--only", default="digits")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--inproc", action="store_true", help="also run in this process")
    args = ap.parse_args()

    from neurosim.sweep.runner import limit_threads, warm, warmup_args
    from neurosim.sweep.spec import load_sweeps

    limit_threads(1)  # the in-process baseline on one core, as each worker
    (sweep,) = load_sweeps(args.sweep, args.only)
    warmups = [warmup_args(sweep)]
    warm(*warmups[0])  # compile once; every run below loads Numba's cache
    print(f"sweep {sweep.name}: {len(sweep.points)} points; {load()}")
    runs = {1: [], 2: [], 0: []}
    for _ in range(args.rounds):
        for w in (1, 2):
            runs[w].append(one_run(sweep, w, warmups))
        if args.inproc:
            runs[0].append(one_run(sweep, 0, warmups))
    ratios = [a.wall_s / b.wall_s for a, b in zip(runs[1], runs[2])]
    print("speed-up, 2 workers against 1 (sweep wall): "
          + ", ".join(f"{r:.2f}x" for r in ratios))
    for a, b in zip(runs[1], runs[0]):
        tasks = a.ran + a.trainings
        print(f"Dask (1 worker) against in process: {(a.wall_s - b.wall_s) / tasks * 1e3:.1f} "
              f"ms per task ({a.wall_s:.2f} s against {b.wall_s:.2f} s)")
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
