"""Figures of the teaching demos (:mod:`neurosim.demos`): all their matplotlib lives here.

Every function takes plain arrays and numbers computed by a demo, draws one figure with
labelled axes (units in brackets), legends and titles, writes it as a PNG (atomically, at
:data:`DPI`) and returns the path written.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_path  # noqa: E402

__all__ = ["DPI", "save"]

#: Resolution of every demo figure: enough to read, small enough to commit.
DPI = 100


def save(fig, path) -> Path:
    """Write ``fig`` to ``path`` as PNG (atomically) and close it."""
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------
# 1. the artificial neuron

_ACT_LABELS = {"step": "step (Heaviside)", "relu": "ReLU max(z, 0)",
               "sigmoid": "sigmoid 1/(1+e^-z)", "tanh": "tanh(z)"}
_ACT_COLORS = {"step": "tab:gray", "relu": "tab:blue", "sigmoid": "tab:orange",
               "tanh": "tab:green"}


def _neuron_diagram(ax, weights, bias, x, z, labels=None, fmt="{:g}") -> None:
    """Inputs -> weighted arrows -> sum node (+ bias) -> activation box -> output."""
    n = len(weights)
    ys = np.linspace(0.85, 0.15, n)
    sx, sy = 0.55, 0.5
    for i, (w, xi, y) in enumerate(zip(weights, x, ys)):
        name = labels[i] if labels else f"x{i + 1}"
        ax.add_patch(plt.Circle((0.12, y), 0.06, fc="white", ec="black"))
        ax.text(0.12, y, fmt.format(xi), ha="center", va="center", fontsize=9)
        ax.text(0.02, y + 0.085, name, ha="left", va="bottom", fontsize=8, color="dimgray")
        ax.annotate("", xy=(sx - 0.07, sy), xytext=(0.18, y),
                    arrowprops=dict(arrowstyle="->", lw=1 + 1.5 * abs(w) / max(abs(weights)),
                                    color="tab:red" if w < 0 else "tab:blue"))
        ay = y + (sy - y) * 0.4  # height of the arrow at the label's x
        ax.text(0.3, ay, f"w={w:g}", fontsize=8, ha="center", va="center",
                bbox=dict(fc="white", ec="none", pad=1),
                color="tab:red" if w < 0 else "tab:blue")
    ax.add_patch(plt.Circle((sx, sy), 0.07, fc="lightyellow", ec="black"))
    ax.text(sx, sy, "Σ", ha="center", va="center", fontsize=14)
    ax.annotate("", xy=(sx, sy + 0.07), xytext=(sx, 0.93), arrowprops=dict(arrowstyle="->"))
    ax.text(sx + 0.02, 0.9, f"bias b={bias:g}", fontsize=8)
    ax.annotate("", xy=(0.75, sy), xytext=(sx + 0.07, sy), arrowprops=dict(arrowstyle="->"))
    ax.text(0.675, sy + 0.04, f"z={z:.4g}", ha="center", fontsize=8)
    ax.add_patch(plt.Rectangle((0.75, sy - 0.06), 0.1, 0.12, fc="lavender", ec="black"))
    ax.text(0.8, sy, "f", ha="center", va="center", fontsize=13, style="italic")
    ax.annotate("", xy=(0.99, sy), xytext=(0.85, sy), arrowprops=dict(arrowstyle="->"))
    ax.text(0.92, sy + 0.04, "a=f(z)", ha="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.axis("off")


def artificial_neuron_figure(path, weights, bias, x, z, outputs, zs, curves) -> Path:
    """Diagram of the worked neuron and its output under each activation."""
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4.3), width_ratios=[1, 1.2])
    _neuron_diagram(a0, weights, bias, x, z)
    terms = " + ".join(f"({w:g})({xi:g})" for w, xi in zip(weights, x))
    a0.set_title(f"z = w·x + b = {terms} + {bias:g} = {z:.3g}", fontsize=9)
    for name, ys in curves.items():
        a1.plot(zs, ys, color=_ACT_COLORS[name], label=f"{_ACT_LABELS[name]}: "
                f"f({z:.2g}) = {outputs[name]:.3f}")
        a1.plot([z], [outputs[name]], "o", color=_ACT_COLORS[name])
    a1.axvline(z, color="k", ls=":", lw=1)
    a1.text(z + 0.08, -1.05, f"z = {z:.3g}", fontsize=8)
    a1.axhline(0, color="k", lw=0.5)
    a1.set_ylim(-1.15, 2.2)
    a1.set_xlabel("pre-activation z = w·x + b (dimensionless)")
    a1.set_ylabel("output a = f(z) (dimensionless)")
    a1.set_title("the same z under four activations")
    a1.legend(loc="upper left", fontsize=8)
    a1.grid(alpha=0.3)
    return save(fig, path)


def hotel_neuron_figure(path, features, weights, bias, x, z, outputs, distances, zs_dist,
                        curves_dist) -> Path:
    """Contributions of each input to the hotel-price neuron, and price vs distance."""
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4.3))
    contrib = np.asarray(weights) * np.asarray(x)
    names = [f"{f}\n= {xi:g}, w = {w:g}" for f, xi, w in zip(features, x, weights)]
    names.append("bias")
    vals = np.append(contrib, bias)
    colors = ["tab:red" if v < 0 else "tab:blue" for v in vals]
    a0.bar(range(len(vals)), vals, color=colors)
    for i, v in enumerate(vals):
        a0.text(i, v + 4 if v >= 0 else v / 2, f"{v:+.0f}", ha="center", fontsize=9,
                color="black" if v >= 0 else "white")
    a0.axhline(z, color="k", ls="--", lw=1, label=f"sum z = {z:.0f} EUR")
    a0.set_xticks(range(len(vals)), names, fontsize=7)
    a0.set_ylabel("contribution w_i x_i to z (EUR)")
    a0.set_title("hotel-price neuron: what each input adds")
    a0.legend(fontsize=8)
    a0.grid(axis="y", alpha=0.3)
    a1.plot(distances, curves_dist["relu"], color=_ACT_COLORS["relu"],
            label="ReLU output (EUR): clipped at 0 far away")
    a1.plot(distances, zs_dist, color="k", ls=":", lw=1, label="pre-activation z (EUR)")
    a1.axvline(x[1], color="gray", ls="--", lw=1)
    a1.plot([x[1]], [outputs["relu"]], "o", color=_ACT_COLORS["relu"],
            label=f"this hotel: {outputs['relu']:.0f} EUR")
    a1.set_xlabel("distance to the centre (km)")
    a1.set_ylabel("predicted price (EUR)")
    a1.set_title(f"price vs distance (sigmoid: {outputs['sigmoid']:.4f}, tanh: "
                 f"{outputs['tanh']:.4f} - saturated)", fontsize=9)
    a1.grid(alpha=0.3)
    a1.legend(fontsize=8)
    return save(fig, path)
