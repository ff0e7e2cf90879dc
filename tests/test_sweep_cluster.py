"""Sweeps on a two-worker Dask LocalCluster: the rows are those of serial in-process runs of
the same points, bit for bit, also when a worker process is killed in the middle of a point
(its point is retried on the worker that replaces it)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import distributed
import pytest
from test_sweep import SIM_SWEEP, TIMING, TINY_EI, TINY_MLP, rows_of

from neurosim.cli import main
from neurosim.sweep import loads_sweeps, read_results
from neurosim.sweep.executor import THREAD_ENV, WorkerSetup
from neurosim.sweep.run import run_sweep
from neurosim.sweep.runner import PointJob, TrainJob, reduce_shards, run_point, train, warmup_args


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR,
                                       env=THREAD_ENV)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def serial_rows(sw):
    """The rows of every point of ``sw`` run one after the other in this process."""
    out = []
    trained = {}
    for p in sw.points:
        params = None
        if sw.kind == "compare":
            s = p.settings
            key = (p.seed, str(p.doc))
            if key not in trained:
                trained[key] = train(TrainJob("", p.doc, sw.model_file, p.seed, s["dataset"],
                                              s["data_dir"]))[0]
            params = trained[key]
        size = p.settings.get("shard_size")
        if size:
            n = p.settings["samples"]
            row = reduce_shards([run_point(PointJob(p, sw.model_file, params,
                                                    (k, a, min(n, a + size))))
                                 for k, a in enumerate(range(0, n, size))])
        else:
            row = run_point(PointJob(p, sw.model_file, params))
        out.append({k: v for k, v in row.items() if k not in TIMING})
    return out


def assert_same(stored, serial):
    """Every column of the serial rows, identical (not close: same seeds, same code)."""
    assert len(stored) == len(serial)
    for got, want in zip(stored, serial):
        assert {k: got[k] for k in want} == want


def test_compare_sweep_on_two_workers_matches_serial(client, tmp_path):
    (tmp_path / "mlp.toml").write_text(TINY_MLP)
    text = """
[sweep.conv]
model = "mlp.toml"
[sweep.conv.settings]
samples = 48
shard_size = 16
[sweep.conv.axes]
timesteps = [8, 16]
encoder = ["current", "poisson"]
"""
    (sw,) = loads_sweeps(text, tmp_path / "sweep.toml")
    client.register_plugin(WorkerSetup([warmup_args(sw)]))
    run = run_sweep(sw, tmp_path / "out", client.get_executor(), workers=2, progress=False)
    assert (run.ran, run.trainings, run.failed) == (4, 1, 0)
    table = read_results(tmp_path / "out" / "conv")
    rows = table.to_pylist()
    # both workers ran points (a sharded point's row names every worker of its shards)
    workers = {w for r in rows for w in r["worker"].split(",")}
    assert len(workers) == 2
    assert_same(rows_of(table), serial_rows(sw))


def test_killed_worker_point_is_retried_with_the_same_results(client, tmp_path, models_dir):
    # CUBA (4,000 neurons) for 4 s of simulated time: about half a second per point here,
    # so the kill lands while points run
    text = f"""
[sweep.cuba]
model = "{models_dir / 'cuba.toml'}"
[sweep.cuba.settings]
duration = 4000.0
"simulation.monitors.state" = []
"simulation.monitors.rates" = []
[sweep.cuba.axes]
"projections.inh_exc.weight" = [-0.07, -0.11]
"populations.exc.neuron.v_rest" = [-49.5, -49.0]
"""
    (sw,) = loads_sweeps(text, tmp_path / "sweep.toml")
    client.register_plugin(WorkerSetup([warmup_args(sw)]))
    folder = tmp_path / "out" / "cuba" / "points"
    killed = {}

    def kill_a_busy_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = {a: ts for a, ts in client.processing().items() if ts}
            if folder.exists() and any(folder.glob("*.parquet")) and busy:
                addr = next(iter(busy))
                pid = client.run(os.getpid, workers=[addr])[addr]
                killed.update(pid=pid, tasks=len(busy[addr]))
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    run = run_sweep(sw, tmp_path / "out", client.get_executor(), workers=2, progress=False)
    killer.join()
    assert killed["tasks"] >= 1  # the worker was running (or holding) a point when killed
    assert (run.ran, run.failed) == (4, 0)  # every point finished, none failed
    assert_same(rows_of(read_results(tmp_path / "out" / "cuba")), serial_rows(sw))


def test_command_on_a_cluster_by_address(client, tmp_path, capsys):
    """``neurosim sweep --scheduler ADDRESS``: the same command on a running cluster, its
    summary and figure; a second run with --resume has nothing left to do."""
    (tmp_path / "ei.toml").write_text(TINY_EI)
    path = tmp_path / "sweep.toml"
    path.write_text(SIM_SWEEP)
    out = tmp_path / "out"
    args = ["sweep", str(path), "--scheduler", client.scheduler.address, "--out", str(out),
            "--no-progress"]
    assert main(args) == 0
    assert "sweep rates: 8 points run, 0 stored before, 0 failed" in capsys.readouterr().out
    summary = (out / "rates" / "summary.md").read_text()
    assert "| p00007 | -0.4 | -45 | 1 | 2.75 |" in summary and "![rates.png](rates.png)" in summary
    assert (out / "rates" / "rates.png").stat().st_size > 0
    assert main([*args, "--resume"]) == 0
    assert "0 points run, 8 stored before" in capsys.readouterr().out
