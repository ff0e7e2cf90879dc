"""Where the points run: Dask distributed, behind :class:`concurrent.futures.Executor`.

:func:`dask_executor` starts a :class:`distributed.LocalCluster` (one single-threaded worker
process per core of this machine, or ``workers``), or connects to a running cluster by its
scheduler's address, and yields ``Client.get_executor()``: the sweep only calls ``submit``
on it, so any :class:`concurrent.futures.Executor` would do. Every worker, when it starts
(and again when a killed worker is replaced), limits its BLAS, OpenMP and Numba threads to
one (each worker is one core's share) and warms the kernels the sweep needs
(:func:`neurosim.sweep.runner.warm`), so no point pays for compilation.

A worker that dies mid-point (killed, out of memory) is replaced by its nanny, and the
scheduler runs its point again elsewhere (up to ``distributed.scheduler.allowed-failures``
times, 3 by default); the point's seed is part of the point, so the retried run gives the same
row. On a real cluster (``--scheduler tcp://host:8786``) every worker needs neurosim and the
data sets at the same paths; the results are written by the process that runs the sweep.
"""

from __future__ import annotations

import contextlib
import logging
import os

from distributed import Client, LocalCluster, WorkerPlugin

__all__ = ["dask_executor", "WorkerSetup", "machine_cores", "THREAD_ENV"]

#: Environment of local worker processes: one thread for every numerical library (set before
#: they load, which is when OpenMP and Numba size their pools).
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}


def machine_cores() -> int:
    """Cores this process may run on (the default number of local workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WorkerSetup(WorkerPlugin):
    """Run on every worker at start: thread limits, then the kernels' warm-up.
    ``warmups``: :func:`~neurosim.sweep.runner.warm`'s arguments for each model the sweep
    runs. ``local``: the workers are this machine's children, which a Ctrl-C in the terminal
    reaches too; they leave it to the sweep (which stops them) instead of each printing a
    traceback."""

    name = "neurosim-sweep-setup"

    def __init__(self, warmups=(), local: bool = False):
        self.warmups = tuple(warmups)
        self.local = local

    def setup(self, worker):
        import signal
        import threading

        from .runner import limit_threads, warm

        if self.local and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        limit_threads(1)
        for args in self.warmups:
            warm(*args)


@contextlib.contextmanager
def dask_executor(workers: int | None = None, scheduler: str | None = None, warmups=()):
    """Yield ``(executor, n_workers, description)`` on a local cluster of ``workers``
    processes (default :func:`machine_cores`) or on the cluster at ``scheduler``."""
    cluster = None
    if scheduler is not None:
        client = Client(scheduler)
        n = len(client.scheduler_info().get("workers", {})) or 1
        what = f"cluster at {scheduler} ({n} workers)"
    else:
        n = workers or machine_cores()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.CRITICAL,
                               env=THREAD_ENV)
        client = Client(cluster)
        what = f"local cluster of {n} worker processes"  # a failed point is in its row
    try:
        client.register_plugin(WorkerSetup(warmups, local=cluster is not None))
        yield client.get_executor(), n, what
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
