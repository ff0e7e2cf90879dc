"""Draw the overview figure of a simulation in a child process started before the run.

Importing matplotlib takes about 0.6 s and loading the compiled engine about as long. Started
first, the child imports matplotlib on the second core while the parent loads the engine and
simulates; the parent then hands the recorded arrays over in an ``.npz`` file (no pickle) and
the child draws. ``neurosim simulate`` returns about half a second sooner. If the child cannot
be started or fails, :meth:`OverviewRenderer.draw` draws in the parent instead.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

__all__ = ["OverviewRenderer"]


class _Trains:
    """Spike trains read back from the hand-over file (``indices``, ``times``, ``size``)."""

    def __init__(self, indices, times, size):
        self.indices, self.times, self.size = indices, times, int(size)


def _pack(spikes, t, state, indices, rates, dt) -> dict[str, np.ndarray]:
    arrays = {"t": np.asarray(t), "dt": np.asarray(dt)}
    for name, tr in spikes.items():
        arrays[f"spikes/{name}/indices"] = np.asarray(tr.indices)
        arrays[f"spikes/{name}/times"] = np.asarray(tr.times)
        arrays[f"spikes/{name}/size"] = np.asarray(tr.size)
    for pop, vars_ in state.items():
        arrays[f"indices/{pop}"] = np.asarray(indices[pop])
        for var, arr in vars_.items():
            arrays[f"state/{pop}/{var}"] = np.asarray(arr)
    for name, r in rates.items():
        arrays[f"rates/{name}"] = np.asarray(r)
    return arrays


def _unpack(path: Path):
    spikes, state, indices, rates = {}, {}, {}, {}
    with np.load(path, allow_pickle=False) as z:
        files = {k: z[k] for k in z.files}
    for key, a in files.items():
        kind, _, rest = key.partition("/")
        if kind == "spikes":
            name, _, field = rest.rpartition("/")
            spikes.setdefault(name, {})[field] = a
        elif kind == "state":
            pop, _, var = rest.rpartition("/")
            state.setdefault(pop, {})[var] = a
        elif kind == "indices":
            indices[rest] = a
        elif kind == "rates":
            rates[rest] = a
    trains = {k: _Trains(v["indices"], v["times"], v["size"]) for k, v in spikes.items()}
    return trains, files["t"], state, indices, rates, float(files["dt"])


class OverviewRenderer:
    """``start()`` before the simulation, ``draw(...)`` after it (see the module docstring)."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None

    def start(self) -> OverviewRenderer:
        with contextlib.suppress(OSError):
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "neurosim.plot.background"], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return self

    def draw(self, path, spikes, t, state, indices, rates, dt, *, title: str) -> None:
        path = Path(path)
        proc, self._proc = self._proc, None
        if proc is not None:
            from ..atomic import atomic_savez

            handover = path.with_name(f".{path.stem}-data.npz")
            try:
                atomic_savez(handover, **_pack(spikes, t, state, indices, rates, dt))
                _, err = proc.communicate(json.dumps({"data": str(handover), "png": str(path),
                                                      "title": title}) + "\n", timeout=300)
                if proc.returncode == 0:
                    return
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
            finally:
                with contextlib.suppress(OSError):
                    handover.unlink()
        from .spikes import plot_overview  # the child failed or never started: draw here

        plot_overview(spikes, t, state, indices, rates, dt, path, title=title)

    def close(self) -> None:
        """Stop an idle child (when the run ends without a figure)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def _child() -> int:
    from .spikes import plot_overview  # the slow import, overlapped with the parent's run

    line = sys.stdin.readline()
    if not line:
        return 0  # the parent ended without a figure
    job = json.loads(line)
    spikes, t, state, indices, rates, dt = _unpack(Path(job["data"]))
    plot_overview(spikes, t, state, indices, rates, dt, job["png"], title=job["title"])
    return 0


if __name__ == "__main__":
    sys.exit(_child())
