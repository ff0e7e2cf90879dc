"""What a worker runs: train a model, run one point (or one shard of one), warm the kernels.

Each task is a plain function of picklable arguments that calls the in-process API the
commands use (:class:`neurosim.rate.Trainer`, :func:`neurosim.compare.compare`,
:func:`neurosim.engines.simulate`) and returns plain values: a training returns its
parameters, a point returns its result row (a dict of numbers, strings and lists; the columns
are documented in :mod:`neurosim.sweep.store`). Nothing is written by a worker: the process
that drives the sweep writes the store, so workers need no shared file system.

A compare point's test set can be split into shards (setting ``shard_size``): each shard is
a task, run with the same conversion (the same normalisation samples) and its own encoder
generator, and :func:`reduce_shards` combines their rows by summation: every metric of a row
is a mean over its samples (accuracy, operations and energy per sample, rates), so the mean
over the whole test set is the sample-weighted sum of the shards' means.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["TrainJob", "PointJob", "train", "run_point", "reduce_shards", "warm", "warmup_args",
           "limit_threads", "training_key"]


@dataclass(frozen=True)
class TrainJob:
    """Train the model of ``doc`` (from ``model_file``) with ``seed`` (``None``: the model's
    seeds) on ``dataset``/``data_dir`` (``None``: the model's)."""

    key: str
    doc: dict
    model_file: str
    seed: int | None
    dataset: str | None
    data_dir: str | None


@dataclass(frozen=True)
class PointJob:
    """Run ``point`` (a :class:`neurosim.sweep.spec.Point`) of model ``model_file``;
    ``params`` the trained parameters of a compare point; ``shard`` ``(k, start, stop)``: only
    test samples ``start:stop``, as shard ``k``."""

    point: object
    model_file: str
    params: object = None
    shard: tuple[int, int, int] | None = None


def training_key(point, model_file: str) -> str:
    """Points whose trainings would be the same share one: the model document, the seed and
    the data set decide it (the compare settings do not)."""
    import hashlib
    import json

    s = point.settings
    text = json.dumps([model_file, point.doc, point.seed, s["dataset"], s["data_dir"]],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def limit_threads(n: int = 1) -> None:
    """Hold BLAS and OpenMP pools (threadpoolctl) and Numba's threads at ``n`` in this
    process, so that workers sharing a machine do not oversubscribe its cores."""
    from threadpoolctl import threadpool_limits

    from ..kernels.config import set_threads

    if _LIMITED.get("blas") != n:  # process-wide, and slow to set (it scans the libraries)
        threadpool_limits(limits=n)
        _LIMITED["blas"] = n
    set_threads(n)  # Numba's setting is per thread: the thread that runs the task


_LIMITED: dict = {}


_DATA: dict = {}


def _dataset(spec, dataset, data_dir):
    """The data set of a compare point; the last one is kept, since the points of a sweep
    mostly read the same one (loading Fashion-MNIST takes about a second)."""
    from ..data import load_data_for

    key = (dataset or spec.data.dataset, data_dir, spec.data, spec.training.seed,
           tuple(spec.input_shape), tuple(spec.output_shape))
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = load_data_for(spec, dataset, data_dir)
    return _DATA[key]


def _spec(doc: dict, model_file: str):
    import copy

    from ..specs.io import model_from_dict

    return model_from_dict(copy.deepcopy(doc), model_file)


def train(job: TrainJob):
    """Train and return ``(params, seconds)``: in classic mode, or as spiking neurons by BPTT
    when the point's document says ``training.mode = "spiking"`` (a ``direct`` point)."""
    from ..rate import Trainer

    limit_threads()
    t0 = time.perf_counter()
    spec = _spec(job.doc, job.model_file)
    ds = _dataset(spec, job.dataset, job.data_dir)
    objective = None
    if spec.training.mode == "spiking":
        from ..bptt import objective_for

        objective = objective_for(spec)
    params = Trainer(spec, seed=job.seed, progress=False, objective=objective).fit(
        ds.x_train, ds.y_train).params_
    return params, time.perf_counter() - t0


def _compare_row(point, spec, params, shard) -> dict:
    from ..compare import compare

    s = point.settings
    ds = _dataset(spec, s["dataset"], s["data_dir"])
    n = len(ds.x_test) if s["samples"] is None else min(s["samples"], len(ds.x_test))
    start, stop = (0, n) if shard is None else shard[1:]
    ds = replace(ds, x_test=ds.x_test[start:stop], y_test=ds.y_test[start:stop])
    seed = spec.training.seed if point.seed is None else point.seed
    input_rng = None
    if shard is not None:  # each shard its own encoder stream, fixed by the shard's index
        input_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(shard[0],)))
    t = s["timesteps"]
    direct = s["method"] == "direct"  # run as trained: no normalisation
    comp = compare(spec, params, ds, timesteps=(t,), encoder=s["encoder"],
                   readout=s["readout"], normalization="none" if direct else s["normalization"],
                   percentile=s["percentile"], seed=seed, progress=False,
                   record_sample=None, dt=s["dt"], input_rng=input_rng,
                   input_macs=s["input_macs"])
    o = comp.spiking_ops[t]
    return {
        # A direct point trains no classic network: its classic pass would run the spiking
        # weights as rates, so it has no classic accuracy of its own (the conversion points
        # of the same sweep and seed give the classic reference). Its classic energy is the
        # architecture's classic pass (the same for any weights but exact zeros).
        "n_samples": comp.n_samples,
        "classic_accuracy": None if direct else comp.classic_accuracy,
        "spiking_accuracy": comp.spiking_accuracy[t], "latency_ms": t * comp.dt_ms,
        "classic_macs": comp.classic_ops.macs,
        "classic_effective_macs": comp.classic_ops.effective_macs,
        "classic_energy_j": comp.classic_energy_j, "spiking_sops": o.sops,
        "spiking_input_macs": o.macs, "spiking_neuron_updates": o.neuron_updates,
        "spiking_spikes": o.spikes, "spiking_energy_j": comp.spiking_energy_j[t],
        "mean_rate": comp.mean_rate[t], "break_even_rate": comp.break_even_rate[t],
        "curve_t": [int(k) for k in comp.accuracy_curve],
        "curve_accuracy": [float(v) for v in comp.accuracy_curve.values()],
        "latency_gap": comp.latency_gap,
    }


def _finite(x):
    x = float(x)
    return x if np.isfinite(x) else None


def _simulate_row(point, spec) -> dict:
    from ..engines import simulate

    s = point.settings
    res = simulate(spec, engine=s["engine"], duration=s["duration"], seed=point.seed)
    row = {"duration_ms": res.duration, "spiking_sops": res.op_counts.sops,
           "spiking_neuron_updates": res.op_counts.neuron_updates,
           "spiking_spikes": res.op_counts.spikes}
    counted = {x.name: x for x in res.op_counts.layers}
    for pop in spec.populations:
        if pop.name not in counted:  # an input source: no neurons updated, no rate of its own
            continue
        ops = counted[pop.name]
        row[f"rate_hz.{pop.name}"] = ops.spikes / pop.size / (res.duration / 1000.0)
        tr = res.spikes.get(pop.name)
        row[f"isi_cv.{pop.name}"] = _finite(tr.cv) if tr is not None else None
    for k in ("build", "compile", "run"):
        row[f"{k}_s"] = float(res.timings.get(k, 0.0))
    return row


def run_point(job: PointJob) -> dict:
    """Run one point (or one shard of it) and return its row: the point's identity, its
    metrics, ``status`` ("ok") and ``point_s`` (seconds spent in the point). Bad input that
    only the run finds (:class:`neurosim.errors.NeurosimError`) gives ``status`` "failed"
    and the one-line ``error``; anything else is a bug and propagates."""
    import os
    import socket

    from ..errors import NeurosimError

    limit_threads()
    p = job.point
    t0 = time.perf_counter()
    row = {"point": p.id, "index": p.index, "replicate": p.replicate, "seed": p.seed,
           "shard": None if job.shard is None else job.shard[0]}
    try:
        spec = _spec(p.doc, job.model_file)
        if "populations" in p.doc:
            row |= _simulate_row(p, spec)
        else:
            row |= _compare_row(p, spec, job.params, job.shard)
        row |= {"status": "ok", "error": None}
    except NeurosimError as err:
        row |= {"status": "failed", "error": str(err)}
    row["point_s"] = time.perf_counter() - t0
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


#: Columns of a compare row that are means over the row's samples (reduced by weighted sum).
_MEANS = ("classic_accuracy", "spiking_accuracy", "classic_macs", "classic_effective_macs",
          "classic_energy_j", "spiking_sops", "spiking_input_macs", "spiking_neuron_updates",
          "spiking_spikes", "spiking_energy_j", "mean_rate", "break_even_rate")


def reduce_shards(rows: list[dict]) -> dict:
    """One row from the rows of a point's shards: sample-weighted sums of the per-sample
    means, summed sample counts and times; the accuracy curve likewise."""
    rows = sorted(rows, key=lambda r: r["shard"])
    failed = [r for r in rows if r["status"] != "ok"]
    out = dict(rows[0])
    out["shard"] = None
    out["point_s"] = float(sum(r["point_s"] for r in rows))
    out["worker"] = ",".join(sorted({r["worker"] for r in rows}))
    if failed:
        return out | {"status": "failed", "error": failed[0]["error"]}
    n = np.array([r["n_samples"] for r in rows], float)
    w = n / n.sum()
    for k in _MEANS:
        if rows[0][k] is None:  # not measured by this point (a direct point's classic side)
            continue
        out[k] = float(sum(wi * r[k] for wi, r in zip(w, rows)))
    out["n_samples"] = int(n.sum())
    out["curve_accuracy"] = [float(v) for v in
                             np.dot(w, np.array([r["curve_accuracy"] for r in rows]))]
    return out


def latency_steps(row: dict) -> int | None:
    """First recorded ``T`` at which the spiking accuracy is within the row's gap of the
    classic one (``None``: not within the point's steps, or no classic accuracy)."""
    if row["classic_accuracy"] is None:
        return None
    for t, a in zip(row["curve_t"], row["curve_accuracy"]):
        if a >= row["classic_accuracy"] - row["latency_gap"]:
            return int(t)
    return None


def warmup_args(sweep) -> tuple:
    """:func:`warm`'s arguments for ``sweep``: its model, the encoders its points use, and
    the data set of its first point."""
    p = sweep.points[0]
    if sweep.kind != "compare":
        return sweep.model_file, p.doc, (), None
    encoders = tuple(sorted({q.settings["encoder"] for q in sweep.points}))
    return sweep.model_file, p.doc, encoders, (p.settings["dataset"], p.settings["data_dir"])


def warm(model_file: str, doc: dict, encoders=("current",), data=None) -> float:
    """Compile (or load from Numba's cache) the kernels a sweep's points need, once per
    worker, on a two-sample run of the model with untrained parameters, and load the data
    set ``data`` (``(dataset, data_dir)``; ``None``: none); returns seconds."""
    from ..data import Dataset

    limit_threads()
    t0 = time.perf_counter()
    spec = _spec(doc, model_file)
    if data is not None:
        _dataset(spec, *data)
    if "populations" in doc:
        from ..engines import simulate

        simulate(spec, duration=2 * spec.simulation.dt)
        return time.perf_counter() - t0
    from ..builder.params import init_params
    from ..compare import compare

    rng = np.random.default_rng(0)
    shape = tuple(spec.input_shape)
    x = rng.random((4, *shape), dtype=np.float32)
    y = np.zeros(4, np.int64)
    ds = Dataset(name="warm-up", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2],
                 input_shape=shape, n_classes=1, description="random")
    params = init_params(spec, rng)
    for enc in encoders:
        compare(spec, params, ds, timesteps=(2,), encoder=enc, norm_samples=4, progress=False,
                record_sample=None)
    return time.perf_counter() - t0
