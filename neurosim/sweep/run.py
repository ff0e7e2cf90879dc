"""Driving a sweep: submit its work to an executor, store each row as it comes back.

:func:`run_sweep` takes any :class:`concurrent.futures.Executor` (the Dask one of
:mod:`neurosim.sweep.executor` from the command line). For a compare sweep it first trains
each distinct model once (points that differ only in their compare settings share the
training) and submits a training's points as soon as it is done; a point with ``shard_size``
is submitted as shards, reduced when the last one is back. Rows go to the store
(:mod:`neurosim.sweep.store`) one by one, atomically, so a run stopped at any moment (Ctrl-C,
a lost connection) resumes with ``resume=True`` where it stopped. A live progress bar counts
the points done, running and failed.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path

from . import runner
from .runner import PointJob, TrainJob, latency_steps, reduce_shards
from .store import Store

__all__ = ["run_sweep", "SweepRun"]


@dataclass(frozen=True)
class SweepRun:
    """What a run of a sweep did: points in the sweep, already stored before (``skipped``),
    run now (``ran``), failed among all stored; wall time and the seconds its tasks spent in
    points and trainings (``busy_s``), with ``workers`` workers; the store's folder."""

    name: str
    folder: Path
    points: int
    skipped: int
    ran: int
    failed: int
    trainings: int
    wall_s: float
    busy_s: float
    workers: int

    @property
    def overhead_per_task_s(self) -> float:
        """Seconds per task not spent computing: ``(wall workers - busy) / tasks``
        (scheduling, moving arguments and rows, writing the store, idle workers at the end)."""
        tasks = self.ran + self.trainings
        return (self.wall_s * self.workers - self.busy_s) / tasks if tasks else 0.0


def _shards(point) -> list[tuple[int, int, int]] | None:
    """``(k, start, stop)`` of each shard of a sharded compare point (``None``: one task).
    The shards follow the test samples the point uses, whatever the number of workers."""
    s = point.settings
    size = s.get("shard_size")
    if not size:
        return None
    from .runner import _dataset, _spec

    ds = _dataset(_spec(point.doc, ""), s["dataset"], s["data_dir"])
    n = len(ds.x_test) if s["samples"] is None else min(s["samples"], len(ds.x_test))
    return [(k, a, min(n, a + size)) for k, a in enumerate(range(0, n, size))]


class _Progress:
    """The live bar: points done (of all), running, failed."""

    def __init__(self, total: int, done: int, failed: int, workers: int, name: str,
                 enabled: bool):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=done, desc=f"sweep {name}", unit="point",
                        disable=not enabled, dynamic_ncols=True)
        self.failed, self.workers = failed, workers

    def update(self, in_flight: int, finished: int = 0, failed: int = 0) -> None:
        self.failed += failed
        self.bar.update(finished)
        self.bar.set_postfix_str(f"running {min(in_flight, self.workers)}, queued "
                                 f"{max(0, in_flight - self.workers)}, failed {self.failed}",
                                 refresh=True)

    def close(self) -> None:
        self.bar.close()


def _describe_error(exc: BaseException) -> str:
    from ..errors import NeurosimError

    if isinstance(exc, NeurosimError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}".strip()


def run_sweep(sweep, out, executor, *, workers: int = 1, resume: bool = False,
              progress: bool = True) -> SweepRun:
    """Run every point of ``sweep`` (a :class:`neurosim.sweep.spec.Sweep`) not yet in the
    store ``out/<sweep name>`` on ``executor``; returns a :class:`SweepRun`. ``workers`` is
    the executor's size (for the progress bar and the overhead)."""
    from ..specs.io import model_from_dict

    t0 = time.perf_counter()
    store = Store(Path(out) / sweep.name, sweep)
    finished = store.open(resume)
    todo = [p for p in sweep.points if p.id not in finished]
    done_failed = 0
    if finished:
        table = store.table()
        done_failed = sum(1 for s in table.column("status").to_pylist() if s != "ok")
    bar = _Progress(len(sweep.points), len(finished), done_failed, workers, sweep.name,
                    progress)
    futures: dict = {}          # future -> ("train", key) | ("point", point, shard)
    waiting: dict = {}          # training key -> its points
    trained: dict = {}          # training key -> (params, seconds)
    ran = failed = trainings = 0
    busy = 0.0

    def submit_point(point, params, train_s):
        nonlocal ran, failed
        shards = _shards(point) if sweep.kind == "compare" else None
        if shards is None:
            fut = executor.submit(runner.run_point, PointJob(point, sweep.model_file, params))
            futures[fut] = ("point", point, None, train_s)
            return
        have = store.shards(point)
        for shard in shards:
            if shard[0] not in have:
                job = PointJob(point, sweep.model_file, params, shard)
                fut = executor.submit(runner.run_point, job)
                futures[fut] = ("point", point, shard, train_s)
        if len(have) == len(shards):  # every shard stored before an interruption
            finish(point, reduce_shards(list(have.values())), train_s)

    def finish(point, row, train_s):
        nonlocal ran, failed
        row = dict(row)
        row["train_s"] = train_s
        if row["status"] == "ok" and "curve_t" in row:
            row["latency_steps"] = latency_steps(row)
        store.put(point, row)
        ran += 1
        failed += row["status"] != "ok"
        bar.update(len(futures), finished=1, failed=int(row["status"] != "ok"))

    def fail_training(key, message):
        for point in waiting.pop(key):
            finish(point, {"point": point.id, "index": point.index,
                           "replicate": point.replicate, "seed": point.seed,
                           "status": "failed", "error": f"training: {message}",
                           "point_s": 0.0, "worker": None}, None)

    def collect(fut, more: bool):
        """Store what ``fut`` brought; ``more``: submit the points a training was waited for.
        """
        nonlocal trainings, busy
        what = futures.pop(fut)
        exc = fut.exception()
        if what[0] == "train":
            key = what[1]
            if exc is not None:
                fail_training(key, _describe_error(exc))
                return
            params, seconds = fut.result()
            trainings += 1
            busy += seconds
            store.put_training(key, model_from_dict(waiting[key][0].doc, sweep.model_file),
                               params, seconds)
            trained[key] = (params, seconds)
            if more:
                for point in waiting.pop(key):
                    submit_point(point, params, seconds)
                bar.update(len(futures))
            return
        _, point, shard, train_s = what
        if exc is not None:
            row = {"point": point.id, "index": point.index, "replicate": point.replicate,
                   "seed": point.seed, "status": "failed", "error": _describe_error(exc),
                   "point_s": 0.0, "worker": None,
                   "shard": None if shard is None else shard[0]}
        else:
            row = fut.result()
            busy += row["point_s"]
        if shard is None:
            finish(point, row, train_s)
            return
        store.put_shard(point, row)
        have = store.shards(point)
        if len(have) == len(_shards(point)):
            finish(point, reduce_shards(list(have.values())), train_s)
        else:
            bar.update(len(futures))

    try:
        for point in todo:
            if sweep.kind != "compare":
                submit_point(point, None, None)
                continue
            s = point.settings
            if s["params"] is not None:
                from ..builder.params import load_params

                _, params = load_params(Path(s["params"]) / "params.npz")
                submit_point(point, params, 0.0)
                continue
            key = runner.training_key(point, sweep.model_file)
            if key not in waiting:
                waiting[key] = []
                stored = store.training(key)
                if stored is not None:
                    trained[key] = stored
                else:
                    job = TrainJob(key, point.doc, sweep.model_file, point.seed,
                                   s["dataset"], s["data_dir"])
                    futures[executor.submit(runner.train, job)] = ("train", key)
            if key in trained:
                submit_point(point, *trained[key])
            else:
                waiting[key].append(point)
        bar.update(len(futures))
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for fut in done:
                collect(fut, more=True)
    finally:
        # Ctrl-C (or an error) here: keep what has finished, drop what has not
        for fut in [f for f in futures if f.done() and not f.cancelled()]:
            collect(fut, more=False)
        for fut in futures:
            fut.cancel()
        bar.close()
        store.write_results()
    return SweepRun(name=sweep.name, folder=store.folder, points=len(sweep.points),
                    skipped=len(finished), ran=ran, failed=failed + done_failed,
                    trainings=trainings, wall_s=time.perf_counter() - t0, busy_s=busy,
                    workers=workers)

