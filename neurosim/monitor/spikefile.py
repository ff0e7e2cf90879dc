"""Spikes streamed to disk while a network runs, and the one spike file format.

``spikes.npz`` holds, for each recorded population ``P``, two int64 arrays with one entry per
spike: ``P_steps`` (the step of the spike, counted from 0; its time is ``step * dt`` ms) and
``P_neurons`` (the neuron's index within ``P``), in the order the spikes happened (by step,
then by neuron). ``np.load(path, allow_pickle=False)`` reads it.

A long or large run does not hold its spikes in memory: :class:`SpikeStream` writes each
batch the engine hands it as one part file (``spikes.npz.parts/part-000000.npz``, the same
arrays, written atomically) into the run folder, and :meth:`SpikeStream.assemble` joins the
parts into ``spikes.npz`` at the end, copying one part at a time straight into the archive
(memory: one part), then removes them. A run stopped by Ctrl-C assembles what it simulated;
a run killed outright leaves its parts, each a readable ``.npz``, which :func:`assemble_parts`
joins later.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, atomic_savez

__all__ = ["SpikeStream", "assemble_parts", "load_spikes", "KEYS"]

#: The two arrays of every recorded population, ``f"{P}_{key}"``.
KEYS = ("steps", "neurons")


class SpikeStream:
    """Spike parts of a run bound for ``path`` (``spikes.npz``). ``bounds``: recorded
    population name -> ``(start, end)`` global neuron indices."""

    def __init__(self, path, bounds: dict[str, tuple[int, int]]):
        self.path = Path(path)
        self.bounds = dict(bounds)
        self.folder = self.path.with_name(self.path.name + ".parts")
        if self.folder.exists():  # parts of an earlier run into the same folder
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        self.n_parts = 0
        self.counts = dict.fromkeys(self.bounds, 0)

    def write(self, neurons: np.ndarray, steps: np.ndarray) -> None:
        """One batch of spikes (global neuron indices and their steps, in order) as a part."""
        if neurons.size == 0:
            return
        arrays = {}
        for name, (a, b) in self.bounds.items():
            sel = (neurons >= a) & (neurons < b)
            arrays[f"{name}_steps"] = steps[sel].astype(np.int64)
            arrays[f"{name}_neurons"] = neurons[sel].astype(np.int64) - a
            self.counts[name] += int(arrays[f"{name}_steps"].size)
        atomic_savez(self.folder / f"part-{self.n_parts:06d}.npz", **arrays)
        self.n_parts += 1

    def assemble(self) -> Path:
        """Join the parts into ``path`` (atomically), then remove them."""
        assemble_parts(self.folder, self.path, names=tuple(self.bounds))
        return self.path


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.npz"))


def assemble_parts(folder, path, names: tuple[str, ...] | None = None) -> None:
    """Join the part files of ``folder`` (in their order) into the spike file ``path``,
    streaming each array part by part into the archive; then remove ``folder``. ``names``:
    the recorded populations (default: those found in the parts)."""
    folder, path = Path(folder), Path(path)
    parts = _parts(folder)
    if names is None:
        found = set()
        for part in parts:
            with np.load(part, allow_pickle=False) as z:
                found.update(k.rsplit("_", 1)[0] for k in z.files)
        names = tuple(sorted(found))
    sizes = dict.fromkeys(names, 0)
    for part in parts:
        with np.load(part, allow_pickle=False) as z:
            for name in names:
                if f"{name}_steps" in z.files:
                    sizes[name] += int(z[f"{name}_steps"].shape[0])
    with atomic_path(path, suffix=".npz") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name in names:
                for key in KEYS:
                    _write_member(zf, f"{name}_{key}", sizes[name], parts)
    shutil.rmtree(folder, ignore_errors=True)


def _write_member(zf: zipfile.ZipFile, key: str, size: int, parts: list[Path]) -> None:
    """``key.npy``: an int64 array of ``size`` entries, written part by part."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<i8")),
              "fortran_order": False, "shape": (size,)}
    with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, header)
        for part in parts:
            with np.load(part, allow_pickle=False) as z:
                if key in z.files:
                    f.write(np.ascontiguousarray(z[key], dtype="<i8").tobytes())


def load_spikes(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{P: (steps, neurons)}`` of a spike file."""
    with np.load(path, allow_pickle=False) as z:
        names = sorted({k.rsplit("_", 1)[0] for k in z.files})
        return {name: (z[f"{name}_steps"], z[f"{name}_neurons"]) for name in names}
