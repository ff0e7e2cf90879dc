"""The results store of a sweep: one Parquet row per point, written as points finish.

Parquet (pyarrow) because a sweep's results are a table people filter and plot by column
(pandas, polars, DuckDB and Spark read it directly), with typed columns and list columns for
the accuracy curve. The folder of sweep ``NAME`` (under ``--out``)::

    NAME/sweep.json              the expanded sweep: fingerprint, points, their settings
    NAME/points/pNNNNN.parquet   one file per finished point (one row), written atomically
    NAME/shards/pNNNNN.K.parquet one file per finished shard of a sharded point
    NAME/train/KEY.npz           the parameters of each training (several points share one)
    NAME/results.parquet         every finished point's row, rewritten at the end
    NAME/summary.md, *.png       what people look at (:mod:`neurosim.sweep.summary`)

Each file is written to a temporary name and renamed (:mod:`neurosim.atomic`), so a run
killed at any moment leaves only whole files; a point is finished when its file exists, which
is what ``--resume`` reads (it runs failed points again). A resumed store must be of the same
sweep (same fingerprint).

Row columns: ``point`` (id), ``index``, ``replicate``, ``seed``, one column per swept key
(named by the key, e.g. ``timesteps``, ``layers.0.units``; lists as JSON text), ``values``
(every setting and path of the point, JSON), ``status`` ("ok" or "failed"), ``error``,
``point_s`` (seconds in the point, on its worker), ``train_s`` (seconds of the training it
used), ``worker``, and the metrics: for compare points ``n_samples``, ``classic_accuracy``
(null for a ``direct`` point, which trains no classic network), ``spiking_accuracy``
(fractions), ``latency_ms`` (T dt), ``latency_steps`` (first T within
``latency_gap`` of the classic accuracy), ``classic_macs``, ``classic_effective_macs``,
``classic_energy_j``, ``spiking_sops``, ``spiking_input_macs``, ``spiking_neuron_updates``,
``spiking_spikes``, ``spiking_energy_j`` (all per sample), ``mean_rate`` (spikes per neuron
per step), ``break_even_rate``, ``curve_t``/``curve_accuracy`` (the accuracy curve); for
simulation points ``duration_ms``, ``rate_hz.POP``, ``isi_cv.POP`` per population,
``spiking_sops``, ``spiking_neuron_updates``, ``spiking_spikes`` and ``build_s``,
``compile_s``, ``run_s``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_path, atomic_write_text
from ..errors import NeurosimError

__all__ = ["Store", "read_results"]


def _cell(v):
    """A Parquet cell: numbers and strings as they are, anything else as JSON text."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return json.dumps(v)


class Store:
    """The folder of one sweep (module docstring)."""

    def __init__(self, folder, sweep):
        self.folder = Path(folder)
        self.sweep = sweep

    # ----------------------------------------------------------------- opening
    def open(self, resume: bool) -> set[str]:
        """Create the store, or reopen it with ``resume``; returns the finished point ids.
        Refuses to mix sweeps: an existing store without ``resume``, or of another sweep."""
        meta = self.folder / "sweep.json"
        if meta.exists():
            if not resume:
                raise NeurosimError(f"{self.folder}: a sweep store exists; --resume to "
                                    "continue it, or another --out")
            try:
                old = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise NeurosimError(f"{meta}: unreadable store description: {err}") from None
            if old.get("fingerprint") != self.sweep.fingerprint:
                raise NeurosimError(f"{meta}: the store holds another sweep (its model, "
                                    "settings or points differ); use another --out")
            self._drop_failed()
        elif self.folder.exists() and not self.folder.is_dir():
            raise NeurosimError(f"{self.folder}: --out exists and is not a folder")
        else:
            self._describe()
        return self.finished()

    def _describe(self) -> None:
        s = self.sweep
        atomic_write_text(self.folder / "sweep.json", json.dumps({
            "name": s.name, "source": s.source, "model": s.model_file, "kind": s.kind,
            "fingerprint": s.fingerprint, "seed": s.seed, "replicates": s.replicates,
            "axes": list(s.axes),
            "points": [{"point": p.id, "label": p.label, "replicate": p.replicate,
                        "seed": p.seed, "swept": p.swept, "settings": p.settings}
                       for p in s.points]}, indent=1, default=str) + "\n")

    def finished(self) -> set[str]:
        """Ids of the points whose row is stored."""
        return {f.stem for f in (self.folder / "points").glob("p*.parquet")}

    def _drop_failed(self) -> None:
        """Resuming runs failed points again: their rows go."""
        table = self.table()
        if table is None:
            return
        for point, status in zip(table.column("point").to_pylist(),
                                 table.column("status").to_pylist()):
            if status != "ok":
                (self.folder / "points" / f"{point}.parquet").unlink(missing_ok=True)

    # ----------------------------------------------------------------- rows
    def _write_row(self, path: Path, row: dict) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{k: _cell(v) if k not in ("curve_t", "curve_accuracy")
                                       else v for k, v in row.items()}])
        with atomic_path(path, ".parquet") as tmp:
            pq.write_table(table, tmp)

    def put(self, point, row: dict) -> None:
        """Store the finished ``point``'s row (with its swept values and settings)."""
        values = point.settings | point.values
        row = {"point": point.id, "index": point.index} | {
            k: row[k] for k in row if k not in ("point", "index")}
        row |= {k: point.swept[k] for k in point.swept} | {"values": values}
        self._write_row(self.folder / "points" / f"{point.id}.parquet", row)

    def put_shard(self, point, row: dict) -> None:
        self._write_row(self.folder / "shards" / f"{point.id}.{row['shard']}.parquet", row)

    def shards(self, point) -> dict[int, dict]:
        """The stored shard rows of ``point`` (shard index -> row)."""
        import pyarrow.parquet as pq

        out = {}
        for f in (self.folder / "shards").glob(f"{point.id}.*.parquet"):
            row = pq.read_table(f).to_pylist()[0]
            out[int(row["shard"])] = row
        return out

    # ----------------------------------------------------------------- trainings
    def training_path(self, key: str) -> Path:
        return self.folder / "train" / f"{key}.npz"

    def put_training(self, key: str, spec, params, seconds: float) -> None:
        import numpy as np

        from ..builder.params import save_params

        save_params(self.training_path(key), spec, params,
                    train_s=np.array(seconds, dtype=np.float64))

    def training(self, key: str):
        """``(params, seconds)`` of a stored training, or ``None``."""
        from ..builder.params import load_params

        path = self.training_path(key)
        if not path.exists():
            return None
        _, params, extra = load_params(path, with_extra=True)
        return params, float(extra["train_s"])

    # ----------------------------------------------------------------- results
    def table(self):
        """Every stored row, ordered by point index, as one pyarrow Table (``None``: no row).
        """
        return read_results(self.folder, parts_only=True)

    def write_results(self):
        """Rewrite ``results.parquet`` from the point files; returns the table."""
        import pyarrow.parquet as pq

        table = self.table()
        if table is not None:
            with atomic_path(self.folder / "results.parquet", ".parquet") as tmp:
                pq.write_table(table, tmp)
        return table


def read_results(folder, parts_only: bool = False):
    """The results of the sweep store ``folder`` as a pyarrow Table (``table.to_pandas()``
    for a data frame), ordered by point: its point files (of which ``results.parquet`` is
    the copy written at the end), or ``results.parquet`` alone if they are gone; ``None``
    when it has no row. ``parts_only``: the point files only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    parts = sorted((folder / "points").glob("p*.parquet"))
    if not parts:
        if not parts_only and (folder / "results.parquet").exists():
            return pq.read_table(folder / "results.parquet")
        return None
    table = pa.concat_tables([pq.read_table(f) for f in parts],
                             promote_options="permissive")
    return table.sort_by("index")
