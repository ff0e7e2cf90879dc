"""Figures of spiking simulations: spike raster, membrane traces, population rates."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_path  # noqa: E402
from .text import literal  # noqa: E402

__all__ = ["plot_overview", "plot_raster", "plot_traces", "plot_rates", "smooth_rate"]


def _save(fig, path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _draw_raster(ax, spikes: dict, max_neurons: int) -> None:
    offset = 0
    for name, tr in spikes.items():
        shown = min(tr.size, max_neurons)
        sel = tr.indices < shown
        ax.plot(tr.times[sel], tr.indices[sel] + offset, ".", ms=1, mew=0,
                label=f"{literal(name)} ({shown} of {tr.size} neurons)", rasterized=True)
        offset += shown
    ax.set(ylabel="neuron (stacked by population)")
    if spikes:
        ax.legend(loc="upper right", markerscale=8, fontsize=8)


def _draw_trace(ax, t, pop: str, var: str, arr, indices) -> None:
    for row, idx in zip(arr, indices, strict=True):
        ax.plot(t, row, lw=0.8, label=f"{literal(pop)}[{idx}]")
    unit = "mV" if var == "v" else ("" if var in ("m", "h", "n") else "drive units")
    ax.set(ylabel=f"{literal(pop)}: {var} ({unit})" if unit else f"{literal(pop)}: {var}")
    ax.legend(loc="upper right", fontsize=7)


def _draw_rates(ax, t, rates: dict, dt: float, width: float) -> None:
    for name, r in rates.items():
        ax.plot(t, smooth_rate(r, dt, width), lw=1,
                label=f"{literal(name)} (mean {r.mean():.1f} Hz)")
    ax.set(ylabel=f"rate (Hz, {width:g} ms window)")
    if rates:
        ax.legend(loc="upper right", fontsize=8)


def plot_overview(spikes: dict, t, state: dict, indices: dict, rates: dict, dt: float, path,
                  *, title: str = "simulation", max_neurons: int = 1000,
                  width: float = 5.0) -> None:
    """One figure on one time axis (ms): the spike raster on top, the population rates
    (Hz, smoothed over ``width`` ms) below it, then one panel per recorded state variable, so
    that a burst in the raster lines up with its rate peak and the membrane traces. Panels
    with nothing recorded are left out."""
    traces = [(pop, var, arr) for pop, vars_ in state.items() for var, arr in vars_.items()]
    rows = ([("raster", 3.0)] if spikes else []) + ([("rates", 1.4)] if rates else []) \
        + [("trace", 1.2)] * len(traces)
    if not rows:
        return
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 1.2 + 1.6 * sum(h for _, h in rows)),
                             sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [h for _, h in rows]})
    axes = list(axes[:, 0])
    if spikes:
        _draw_raster(axes.pop(0), spikes, max_neurons)
    if rates:
        _draw_rates(axes.pop(0), t, rates, dt, width)
    for ax, (pop, var, arr) in zip(axes, traces):
        _draw_trace(ax, t, pop, var, arr, indices[pop])
    fig.axes[-1].set_xlabel("time (ms)")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_raster(spikes: dict, path, *, title: str = "spike raster",
                max_neurons: int = 1000) -> None:
    """One dot per spike; populations stacked, each colour a population. ``spikes`` maps a
    population to an object with ``indices``, ``times`` (ms) and ``size``; at most
    ``max_neurons`` neurons of each are drawn so that dots stay visible."""
    fig, ax = plt.subplots(figsize=(9, 5))
    _draw_raster(ax, spikes, max_neurons)
    ax.set(xlabel="time (ms)", title=title)
    fig.tight_layout()
    _save(fig, path)


def plot_traces(t, state: dict, indices: dict, path, *, title: str = "state traces") -> None:
    """One panel per recorded variable (membrane potential in mV, synaptic inputs in the
    drive units, gates dimensionless), one line per recorded neuron."""
    panels = [(pop, var, arr) for pop, vars_ in state.items() for var, arr in vars_.items()]
    n = max(len(panels), 1)
    fig, axes = plt.subplots(n, 1, figsize=(9, 2.4 * n), sharex=True, squeeze=False)
    for ax, (pop, var, arr) in zip(axes[:, 0], panels, strict=False):
        _draw_trace(ax, t, pop, var, arr, indices[pop])
    axes[-1, 0].set_xlabel("time (ms)")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def smooth_rate(rate: np.ndarray, dt: float, width: float = 5.0) -> np.ndarray:
    """Rate (Hz) smoothed by a flat window of ``width`` ms."""
    k = max(int(round(width / dt)), 1)
    return np.convolve(rate, np.ones(k) / k, mode="same")


def plot_rates(t, rates: dict, dt: float, path, *, title: str = "population rates",
               width: float = 5.0) -> None:
    """Population rate (Hz) over time, smoothed over ``width`` ms."""
    fig, ax = plt.subplots(figsize=(9, 3.5))
    _draw_rates(ax, t, rates, dt, width)
    ax.set(xlabel="time (ms)", title=title)
    fig.tight_layout()
    _save(fig, path)
