"""``summary.md`` of a sweep store: what ran, a table of every point, and its figures.

A compare sweep gets ``pareto.png``: spiking accuracy against energy per sample and against
latency (``T dt``), each with its Pareto front (the points no other point beats on both
accuracy and cost), listed in the summary too. A simulation sweep gets ``rates.png``: the
populations' mean rates against each swept parameter and, over two numeric axes, the phase
diagram (rate over the grid, as Brunel's over g and eta).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_write_text

__all__ = ["pareto_front", "write_summary"]


def pareto_front(accuracy, cost) -> list[int]:
    """Indices of the points on the front: no other point has an accuracy at least as high
    and a cost at least as low, one of them strictly."""
    n = len(accuracy)
    return [i for i in range(n) if not any(
        accuracy[j] >= accuracy[i] and cost[j] <= cost[i]
        and (accuracy[j] > accuracy[i] or cost[j] < cost[i]) for j in range(n))]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(_fmt(v) for v in r) + " |" for r in rows)]


def write_summary(sweep, table, folder, run=None) -> Path:
    """Write ``summary.md`` (and the figures) of ``sweep``'s store ``folder`` from its
    results ``table`` (pyarrow); ``run``: the :class:`~neurosim.sweep.run.SweepRun` just
    finished, for its times."""
    folder = Path(folder)
    rows = table.to_pylist() if table is not None else []
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    axes = list(sweep.axes) + (["replicate"] if sweep.replicates > 1 else [])
    lines = [f"# Sweep {sweep.name}", ""]
    if sweep.description:
        lines += [sweep.description, ""]
    lines += [f"- sweep file: `{sweep.source}`; model: `{sweep.model_file}` ({sweep.kind})",
              f"- points: {len(sweep.points)} ({len(ok)} done, {len(failed)} failed, "
              f"{len(sweep.points) - len(rows)} not run); swept: "
              + (", ".join(f"`{a}`" for a in sweep.axes) or "nothing")
              + (f"; {sweep.replicates} replicates (seeds from SeedSequence({sweep.seed}))"
                 if sweep.replicates > 1 else "")]
    if run is not None:
        lines.append(f"- this run: {run.ran} points and {run.trainings} trainings in "
                     f"{run.wall_s:.1f} s on {run.workers} workers ({run.skipped} points "
                     f"stored before); {run.busy_s:.1f} s of work; overhead "
                     f"{run.overhead_per_task_s:.3f} s per task")
    lines.append("")
    figures = []
    if sweep.kind == "compare":
        metrics = [("classic %", "classic_accuracy", 100), ("spiking %", "spiking_accuracy",
                                                              100),
                   ("latency ms", "latency_ms", 1), ("steps to 1 pt", "latency_steps", 1),
                   ("energy uJ", "spiking_energy_j", 1e6),
                   ("classic uJ", "classic_energy_j", 1e6), ("SOPs", "spiking_sops", 1),
                   ("rate", "mean_rate", 1), ("point s", "point_s", 1),
                   ("train s", "train_s", 1)]
    else:
        pops = sorted({k.split(".", 1)[1] for r in ok for k in r if k.startswith("rate_hz.")})
        metrics = [(f"{p} Hz", f"rate_hz.{p}", 1) for p in pops] + [
            (f"{p} CV", f"isi_cv.{p}", 1) for p in pops] + [
            ("SOPs", "spiking_sops", 1), ("run s", "run_s", 1), ("point s", "point_s", 1)]

    def value(r, key, scale):
        v = r.get(key)
        return v * scale if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    body = [[r["point"], *(r.get(a) for a in axes), *(value(r, k, s) for _, k, s in metrics)]
            for r in ok]
    lines += ["## Points", "", *_table(["point", *axes, *(m[0] for m in metrics)], body), ""]
    if ok and sweep.kind == "compare":
        from ..plot.sweep import plot_pareto

        acc = [r["spiking_accuracy"] for r in ok]
        fronts = {c: pareto_front(acc, [r[c] for r in ok])
                  for c in ("spiking_energy_j", "latency_ms")}
        others = [a for a in axes if a not in ("timesteps", "replicate")]
        groups = [", ".join(f"{a}={r.get(a)}" for a in others) for r in ok]
        plot_pareto(ok, groups, fronts, folder / "pareto.png",
                    f"{sweep.name}: accuracy against energy and latency")
        figures.append("pareto.png")
        lines += ["## Pareto front: accuracy against energy", "",
                  *_table(["point", *axes, "spiking %", "energy uJ"],
                          [[ok[i]["point"], *(ok[i].get(a) for a in axes),
                            100 * ok[i]["spiking_accuracy"],
                            1e6 * ok[i]["spiking_energy_j"]]
                           for i in sorted(fronts["spiking_energy_j"],
                                           key=lambda i: ok[i]["spiking_energy_j"])]),
                  "", "Energy counts arithmetic only (MACs and accumulates under the "
                  "compare cost table); memory traffic is left out.", ""]
    elif ok and any(isinstance(ok[0].get(a), (int, float)) for a in sweep.axes):
        from ..plot.sweep import plot_rates

        plot_rates(ok, list(sweep.axes), pops, folder / "rates.png",
                   f"{sweep.name}: population rates against the swept parameters")
        figures.append("rates.png")
    if failed:
        lines += ["## Failed points", "", *(f"- {r['point']}: {r['error']}" for r in failed),
                  ""]
    if figures:
        lines += ["## Figures", "", *(f"![{f}]({f})" for f in figures), ""]
    lines += ["The rows are in `results.parquet` (one row per point; columns: "
              "neurosim.sweep.store), each point's settings in its `values` column:",
              "", "```python", "import pyarrow.parquet as pq",
              f"df = pq.read_table({json.dumps(str(folder / 'results.parquet'))}).to_pandas()",
              "```", ""]
    path = folder / "summary.md"
    atomic_write_text(path, "\n".join(lines))
    return path
