"""Figures of a classic-vs-spiking comparison (:class:`neurosim.compare.Comparison`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_path  # noqa: E402
from .text import literal  # noqa: E402

__all__ = ["plot_comparison", "plot_accuracy", "plot_operations", "plot_firing_rates",
           "plot_raster", "plot_pareto"]


def _save(fig, path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return Path(path)


def plot_accuracy(comp, path) -> Path:
    """Spiking accuracy against the number of time steps, classic accuracy as a line."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ts = np.array(sorted(comp.accuracy_curve))
    ax.plot(ts, [100 * comp.accuracy_curve[t] for t in ts], "-", color="C1", lw=1.5,
            label=f"spiking ({comp.encoder} input, {comp.readout} readout)")
    ax.plot(comp.timesteps, [100 * comp.spiking_accuracy[t] for t in comp.timesteps], "o",
            color="C1", label="spiking at the requested T")
    ax.axhline(100 * comp.classic_accuracy, color="C0", ls="--",
               label=f"classic ({100 * comp.classic_accuracy:.2f}%)")
    ax.axhspan(100 * (comp.classic_accuracy - comp.latency_gap), 100 * comp.classic_accuracy,
               color="C0", alpha=0.1,
               label=f"within {100 * comp.latency_gap:g} point of classic")
    if comp.latency is not None:
        ax.axvline(comp.latency, color="grey", lw=0.8, ls=":",
                   label=f"latency: {comp.latency} steps")
    ax.set_xscale("log")
    low = min(100 * min(comp.accuracy_curve[t] for t in ts if t >= min(comp.timesteps)) - 5,
              100 * comp.classic_accuracy - 10)
    ax.set_ylim(max(0.0, low), 100.5)
    ax.set(xlabel="time steps T (log scale)", ylabel="test accuracy (%)",
           title=f"{literal(comp.model)}: accuracy vs time steps ({comp.n_samples} test samples)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_operations(comp, path) -> Path:
    """Operations per sample per layer (at the longest T) and energy per sample per mode."""
    t = comp.timesteps[-1]
    spk = {x.name: x for x in comp.spiking_ops[t].layers}
    rows = [c for c in comp.classic_ops.layers if c.macs > 0 or c.name in spk]
    names = [c.name for c in rows] + ["total"]
    series = {
        "classic dense MACs": [c.macs for c in rows] + [comp.classic_ops.macs],
        "classic effective MACs": [c.effective_macs for c in rows]
        + [comp.classic_ops.effective_macs],
        f"spiking SOPs (T={t})": [spk[c.name].sops if c.name in spk else 0 for c in rows]
        + [comp.spiking_ops[t].sops],
        f"spiking analog-input MACs (T={t})": [spk[c.name].macs if c.name in spk else 0
                                               for c in rows] + [comp.spiking_ops[t].macs],
        f"neuron updates (T={t})": [spk[c.name].neuron_updates if c.name in spk else 0
                                    for c in rows] + [comp.spiking_ops[t].neuron_updates],
    }
    fig, (ax, ax_l, ax_e) = plt.subplots(1, 3, figsize=(19, 4.8),
                                         gridspec_kw={"width_ratios": [3, 2.2, 2]})
    x = np.arange(len(names))
    width = 0.8 / len(series)
    for k, (label, vals) in enumerate(series.items()):
        v = np.asarray(vals, float)
        ax.bar(x + (k - (len(series) - 1) / 2) * width, np.where(v > 0, v, np.nan), width,
               label=label)
    ax.set_yscale("log")
    ax.set_xticks(x, names, rotation=20)
    ax.set(xlabel="layer", ylabel="operations per sample (log scale)",
           title=f"operations per sample, per layer (spiking at T={t})")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)

    tab = comp.energy_table
    e_spk = comp.spiking_layer_energy_j[t]
    per_layer = {  # joules, as computed by compare()
        "classic (dense MACs)": [comp.classic_layer_energy_j[c.name] for c in rows],
        "classic (effective MACs)": [comp.classic_layer_effective_energy_j[c.name]
                                     for c in rows],
        f"spiking T={t}": [e_spk.get(c.name, 0.0) for c in rows],
    }
    xl = np.arange(len(rows))
    wl = 0.8 / len(per_layer)
    for k, (label, vals) in enumerate(per_layer.items()):
        v = np.asarray(vals) * 1e6
        ax_l.bar(xl + (k - (len(per_layer) - 1) / 2) * wl, np.where(v > 0, v, np.nan), wl,
                 label=label)
    ax_l.set_yscale("log")
    ax_l.set_xticks(xl, [c.name for c in rows], rotation=20)
    ax_l.set(xlabel="layer", ylabel="energy per sample (uJ, log scale)",
             title=f"energy per sample, per layer (spiking at T={t})")
    ax_l.grid(alpha=0.3, axis="y")
    ax_l.legend(fontsize=7)

    labels = ["classic\n(dense)", "classic\n(effective)"] + [f"spiking\nT={s}"
                                                            for s in comp.timesteps]
    energies = [comp.classic_energy_j, comp.classic_effective_energy_j] + \
        [comp.spiking_energy_j[s] for s in comp.timesteps]
    colors = ["C0", "C0"] + ["C1"] * len(comp.timesteps)
    bars = ax_e.bar(np.arange(len(labels)), np.asarray(energies) * 1e6, color=colors)
    bars[1].set_alpha(0.5)
    ax_e.set_xticks(np.arange(len(labels)), labels, fontsize=8)
    ax_e.set(ylabel="energy per sample (uJ)",
             title=f"total energy per sample ({tab.name};\nmemory traffic excluded)")
    ax_e.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return _save(fig, path)


def plot_firing_rates(comp, path) -> Path:
    """Mean firing rate per layer (spikes per neuron per step) at each requested T."""
    names = list(comp.firing_rates[comp.timesteps[-1]])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.arange(len(names))
    width = 0.8 / len(comp.timesteps)
    for k, t in enumerate(comp.timesteps):
        ax.bar(x + (k - (len(comp.timesteps) - 1) / 2) * width,
               [comp.firing_rates[t][n] for n in names], width, label=f"T={t}")
    t_last = comp.timesteps[-1]
    be = comp.break_even_rate[t_last]
    note = ""
    if be > 0:
        ax.axhline(be, color="k", ls="--", lw=1, label=f"break-even mean rate at T={t_last}")
    else:
        # a negative break-even rate means the analog input alone costs more than the classic
        # pass: no firing rate can break even, so there is no line to draw
        note = f"\nbreak-even at T={t_last}: never (analog input alone > classic pass)"
    ax.axhline(comp.mean_rate[t_last], color="grey", ls=":", lw=1,
               label=f"mean rate of spike-sending neurons at T={t_last}")
    top = max([comp.firing_rates[t][n] for t in comp.timesteps for n in names]
              + [comp.mean_rate[t_last], max(be, 0.0)])
    ax.set_ylim(0.0, 1.5 * top if top > 0 else 1.0)  # headroom for the note and legend
    ax.set_xticks(x, names, rotation=20)
    ax.set(xlabel="layer", ylabel="firing rate (spikes per neuron per step)",
           title=f"{literal(comp.model)}: firing rate per layer{note}")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return _save(fig, path)


def plot_raster(comp, path) -> Path:
    """One sample's spike raster per layer, next to the classic activations of that layer."""
    raster, acts = comp.raster, comp.raster_activations
    n = len(raster)
    fig, axes = plt.subplots(n, 2, figsize=(12, 2.2 * n + 0.8), squeeze=False,
                             gridspec_kw={"width_ratios": [3, 1]})
    for li, (r, a) in enumerate(zip(raster, acts)):
        ax, ax_a = axes[li]
        t_idx, n_idx = np.nonzero(r)
        ax.scatter(t_idx, n_idx, s=1.0, marker="|", color="k", linewidths=0.5)
        ax.set_xlim(-0.5, r.shape[0] - 0.5)
        ax.set_ylim(-0.5, r.shape[1] - 0.5)
        silent = li == n - 1 and comp.readout == "membrane"
        ax.set(ylabel=f"{comp.layer_names[li]}\nneuron"
               + ("\n(non-spiking:\nmembrane readout)" if silent else ""))
        if li == 0:
            ax.set_title(f"spike raster of test sample (label {comp.raster_label})")
        ax_a.plot(a, np.arange(a.size), ".", ms=1.5, color="C0", label="classic activation")
        ax_a.plot(r.sum(axis=0) / r.shape[0], np.arange(r.shape[1]), ".", ms=1.5,
                  color="C1", label="spike rate (per step)")
        ax_a.set_ylim(-0.5, a.size - 0.5)
        if li == 0:
            ax_a.set_title("classic activation vs spike rate")
            ax_a.legend(fontsize=7, markerscale=5)
        if li == n - 1:
            ax.set_xlabel("time step")
            ax_a.set_xlabel("classic activation / lambda; spikes per step")
    fig.tight_layout()
    return _save(fig, path)


def plot_comparison(comp, out_dir) -> list[Path]:
    """All comparison figures into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    paths = [plot_accuracy(comp, out / "accuracy_vs_timesteps.png"),
             plot_operations(comp, out / "operations_energy.png"),
             plot_firing_rates(comp, out / "firing_rates.png")]
    if comp.raster is not None:
        paths.append(plot_raster(comp, out / "raster.png"))
    return paths


def plot_pareto(mc, path) -> Path:
    """Accuracy against energy per sample, one point per (method, T) of a
    :class:`neurosim.methods.MethodComparison`; the classic network as a star, its energy as a
    vertical line (left of it spiking pays) and the band within the gap of its accuracy; each
    method's cheapest point within the gap circled."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    uj = 1e6
    for k, m in enumerate(mc.methods):
        e = [p.energy_j * uj for p in m.points]
        a = [100 * p.accuracy for p in m.points]
        ax.plot(e, a, "-o", color=f"C{k + 1}", ms=3, lw=1, label=m.name)
        for p in m.points[::max(1, len(m.points) // 6)]:
            ax.annotate(f"T={p.timesteps}", (p.energy_j * uj, 100 * p.accuracy),
                        fontsize=6, color=f"C{k + 1}", xytext=(2, -8),
                        textcoords="offset points")
        if m.cheapest is not None:
            ax.plot(m.cheapest.energy_j * uj, 100 * m.cheapest.accuracy, "o", ms=11,
                    mfc="none", mec=f"C{k + 1}", mew=1.5)
    ax.plot(mc.classic_energy_j * uj, 100 * mc.classic_accuracy, "*", ms=14, color="C0",
            label=f"classic ({100 * mc.classic_accuracy:.2f}%)")
    ax.axvline(mc.classic_energy_j * uj, color="C0", ls="--", lw=0.8)
    ax.axhspan(100 * (mc.classic_accuracy - mc.gap), 100 * mc.classic_accuracy, color="C0",
               alpha=0.1, label=f"within {100 * mc.gap:g} point of classic")
    ax.set_xscale("log")
    best = max(p.accuracy for m in mc.methods for p in m.points)
    ax.set_ylim(max(0.0, 100 * min(best, mc.classic_accuracy) - 15), 100.5)
    ax.set(xlabel=f"energy per sample (uJ, log; table {mc.energy_table}, input MACs "
                  f"{mc.input_macs_counted or 'none: spike input'})",
           ylabel="test accuracy (%)",
           title=f"{mc.model}: accuracy vs energy, one point per (method, T); circled: "
                 "cheapest within the gap")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
