"""``neurosim sweep SWEEP.toml``: run the points of a sweep file on a Dask cluster.

Every point of every sweep in the file (``--only NAME``: one of them) is checked before any
work starts. The points then run on a local cluster of ``--workers`` processes (default: one
per core) or on the cluster whose scheduler is at ``--scheduler``; each sweep's store is the
folder ``--out/NAME`` (default ``runs/sweep-<file stem>/NAME``): ``results.parquet`` (one
row per point), ``summary.md`` and its figures (:mod:`neurosim.sweep.store`). Ctrl-C leaves
every finished point stored; ``--resume`` runs only the others.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run a sweep file's points on a local or remote Dask cluster",
        description="Run every point of a sweep file (models/sweeps/*.toml) on a Dask "
                    "cluster; one Parquet row per point, summary.md and figures.")
    p.add_argument("sweep", help="sweep file (models/sweeps/*.toml)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster at ADDRESS (tcp://host:8786) instead")
    p.add_argument("--out", default=None,
                   help="folder of the stores (default runs/sweep-<file stem>)")
    p.add_argument("--only", default=None, metavar="NAME", help="run only sweep NAME")
    p.add_argument("--resume", action="store_true",
                   help="continue the stores in --out: run only the points not finished")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import NeurosimError
    from ..sweep.spec import load_sweeps

    if args.workers is not None and args.workers < 1:
        raise NeurosimError(f"--workers: must be >= 1, got {args.workers}")
    if args.workers is not None and args.scheduler is not None:
        raise NeurosimError("--workers: a cluster at --scheduler has its own workers")
    sweeps = load_sweeps(args.sweep, args.only)  # every point checked: before any work
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{Path(args.sweep).stem}"
    if out.exists() and not out.is_dir():
        raise NeurosimError(f"{out}: --out exists and is not a folder")
    for sw in sweeps:
        if (out / sw.name / "sweep.json").exists() and not args.resume:
            raise NeurosimError(f"{out / sw.name}: a sweep store exists; --resume to "
                                "continue it, or another --out")

    from ..sweep.executor import dask_executor
    from ..sweep.run import run_sweep
    from ..sweep.runner import warm, warmup_args
    from ..sweep.summary import write_summary

    warmups = [warmup_args(sw) for sw in sweeps]
    for model_file, doc, encoders, _ in warmups:
        warm(model_file, doc, encoders)  # compiled once here; workers load Numba's cache
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        with dask_executor(args.workers, args.scheduler, warmups) as (executor, n, what):
            print(f"running on a {what}", file=sys.stderr)
            for sw in sweeps:
                res = run_sweep(sw, out, executor, workers=n, resume=args.resume,
                                progress=progress)
                summary = write_summary(sw, res_table(res), res.folder, res)
                print(f"sweep {sw.name}: {res.ran} points run, {res.skipped} stored before, "
                      f"{res.failed} failed, in {res.wall_s:.1f} s on {n} workers -> "
                      f"{summary}")
    except KeyboardInterrupt:
        again = f"neurosim sweep {args.sweep} --out {out}" + (
            f" --only {args.only}" if args.only else "")
        print(f"neurosim sweep: interrupted; every finished point is stored in {out}. "
              f"Continue with: {again} --resume", file=sys.stderr)
        return 130
    return 0


def res_table(res):
    from ..sweep.store import read_results

    return read_results(res.folder)
