"""Sweeps: many runs of one model, spread over the cores of a machine or over a cluster.

A sweep file names a model and the settings or model fields to vary
(:mod:`neurosim.sweep.spec`); each point is a training plus a comparison (layered models) or
a simulation (networks of populations), run by :mod:`neurosim.sweep.runner` on workers of a
Dask cluster (:mod:`neurosim.sweep.executor`), driven by :mod:`neurosim.sweep.run`, which
stores one Parquet row per point as it finishes (:mod:`neurosim.sweep.store`) and ends with
``summary.md`` and figures (:mod:`neurosim.sweep.summary`).

>>> from neurosim.sweep import load_sweeps
>>> [s.name for s in load_sweeps("models/sweeps/conversion.toml")]  # doctest: +SKIP
['digits', 'fashion']
"""

from __future__ import annotations

from .spec import Point, Sweep, load_sweeps, loads_sweeps
from .store import read_results

__all__ = ["Point", "Sweep", "load_sweeps", "loads_sweeps", "read_results", "run_sweep",
           "dask_executor"]


def __getattr__(name: str):
    # the driver and the executor import tqdm and Dask: only when a sweep runs
    if name == "run_sweep":
        from .run import run_sweep

        return run_sweep
    if name == "dask_executor":
        from .executor import dask_executor

        return dask_executor
    raise AttributeError(f"module 'neurosim.sweep' has no attribute {name!r}")
