"""Figures of a sweep (:mod:`neurosim.sweep.summary` chooses them): the Pareto front of a
compare sweep, and rates against the swept parameters of a simulation sweep."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .compare import _save  # noqa: E402

__all__ = ["plot_pareto", "plot_rates"]


def plot_pareto(rows: list[dict], groups: list[str], fronts: dict[str, list[int]], path,
                title: str):
    """Spiking accuracy (%) against energy per sample (uJ, log scale) and against latency
    (ms); one colour per ``groups[i]`` (the swept values other than T); ``fronts[cost]``:
    indices of the rows on the Pareto front of accuracy against ``cost``."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    labels = sorted(set(groups))
    colours = {g: f"C{k % 10}" for k, g in enumerate(labels)}
    acc = np.array([100 * r["spiking_accuracy"] for r in rows])
    for ax, cost, scale, xlabel in (
            (axes[0], "spiking_energy_j", 1e6, "energy per sample (uJ, arithmetic only)"),
            (axes[1], "latency_ms", 1.0, "latency (ms of simulated time, T dt)")):
        x = np.array([r[cost] * scale for r in rows])
        for g in labels:
            sel = [i for i, gi in enumerate(groups) if gi == g]
            ax.plot(x[sel], acc[sel], "o", color=colours[g], alpha=0.8, label=g or "points")
        front = sorted(fronts[cost], key=lambda i: x[i])
        ax.step(x[front], acc[front], where="post", color="k", lw=1.2,
                label="Pareto front")
        if cost == "spiking_energy_j":
            ax.set_xscale("log")
            e_classic = np.mean([r["classic_energy_j"] for r in rows]) * scale
            ax.axvline(e_classic, color="grey", ls="--", lw=0.8,
                       label=f"classic pass ({e_classic:.3g} uJ)")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    have = [r["classic_accuracy"] for r in rows if r["classic_accuracy"] is not None]
    if have:  # direct points have no classic accuracy of their own
        classic = 100 * np.mean(have)
        for ax in axes:
            ax.axhline(classic, color="C0", ls=":", lw=0.8)
        axes[0].set_ylabel(f"spiking test accuracy (%); dotted: classic {classic:.2f}%")
    else:
        axes[0].set_ylabel("spiking test accuracy (%)")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_rates(rows: list[dict], axes: list[str], pops: list[str], path, title: str):
    """Mean population rates (Hz) against each numeric swept parameter (mean over the other axes'
    values, with their range shaded) and, with two numeric axes, one phase diagram (rate over
    the grid of both) per population."""
    axes = [a for a in axes if all(isinstance(r[a], (int, float)) for r in rows)]
    grid = len(axes) == 2
    n_cols = len(axes) + (len(pops) if grid else 0)
    fig, panels = plt.subplots(1, n_cols, figsize=(4.6 * n_cols, 4.2), squeeze=False)
    panels = panels[0]
    for ax, key in zip(panels, axes):
        values = sorted({r[key] for r in rows})
        for k, pop in enumerate(pops):
            per = [[r[f"rate_hz.{pop}"] for r in rows if r[key] == v] for v in values]
            mean = [np.mean(p) for p in per]
            ax.plot(values, mean, "o-", color=f"C{k}", label=pop)
            ax.fill_between(values, [min(p) for p in per], [max(p) for p in per],
                            color=f"C{k}", alpha=0.15)
        ax.set_xlabel(key)
        ax.set_ylabel("mean rate (Hz)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if grid:
        xs, ys = (sorted({r[a] for r in rows}) for a in axes)
        for ax, pop in zip(panels[len(axes):], pops):
            img = np.full((len(ys), len(xs)), np.nan)
            for i, yv in enumerate(ys):
                for j, xv in enumerate(xs):
                    sel = [r[f"rate_hz.{pop}"] for r in rows
                           if r[axes[0]] == xv and r[axes[1]] == yv]
                    if sel:
                        img[i, j] = np.mean(sel)
            im = ax.imshow(img, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
            ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
            ax.set_xlabel(axes[0])
            ax.set_ylabel(axes[1])
            ax.set_title(f"{pop}: mean rate (Hz)")
            fig.colorbar(im, ax=ax)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)
