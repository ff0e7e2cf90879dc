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
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_path  # noqa: E402

__all__ = ["DPI", "save"]

#: Resolution of every demo figure: enough to read, small enough to commit.
DPI = 100


def save(fig, path, *, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` as PNG (atomically) and close it (``tight``: let matplotlib
    fit the layout; figures with hand-set grid spacing pass ``False``)."""
    path = Path(path)
    if tight:
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


# --------------------------------------------------------------------------------------------
# 6. STDP

def _shade(ax, onsets, length, t0, t1, dt, label=None, color="gold", alpha=0.3) -> None:
    """Shade pattern segments that overlap ``[t0, t1)`` (steps), x axis in ms from ``t0``."""
    first = True
    for o in onsets:
        if o + length <= t0 or o >= t1:
            continue
        ax.axvspan((max(o, t0) - t0) * dt, (min(o + length, t1) - t0) * dt, color=color,
                   alpha=alpha, lw=0, label=label if first else None)
        first = False


def stdp_window_figure(path, fine, closed, delays, simulated, rule) -> Path:
    """The STDP window: closed form and the online rule run on single pairs."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    pos, neg = fine >= 0, fine < 0
    ax.fill_between(fine[pos], closed[pos], color="tab:blue", alpha=0.2)
    ax.fill_between(fine[neg], closed[neg], color="tab:red", alpha=0.2)
    ax.plot(fine, closed, color="k", lw=1.5,
            label=f"closed form: +{rule.a_plus:.3g} exp(-Δt/{rule.tau_plus:g} ms), "
                  f"-{rule.a_minus:.3g} exp(Δt/{rule.tau_minus:g} ms)")
    ax.plot(delays, simulated, "o", color="tab:purple", ms=5,
            label="online trace rule, one simulated pre/post pair each")
    ax.text(45, rule.a_plus * 0.55, "pre before post:\npotentiation (LTP)", color="tab:blue")
    ax.text(-98, -rule.a_minus * 0.75, "post before pre:\ndepression (LTD)", color="tab:red")
    ax.set_xlabel("Δt = t_post - t_pre (ms)")
    ax.set_ylabel("weight change Δw (weight units, w in [0, 1])")
    ax.set_title("STDP learning window (Bi & Poo 1998; Song, Miller & Abbott 2000)")
    ax.set_ylim(-1.15 * rule.a_minus, 1.6 * rule.a_plus)  # room for the legend
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return save(fig, path)


def stdp_pattern_figure(path, inputs, result, neuron, carriers, latencies, dt,
                        measure_steps) -> Path:
    """Pattern learning: input, potential before/after, selectivity, latency, weights.

    ``neuron`` is a :class:`~neurosim.learning.stdp.PatternNeuron` (its LIF gives the threshold
    and reset in mV); times in ms (``dt`` the step).
    """
    steps = inputs.spikes.shape[0]
    seg = inputs.pattern_steps
    fig = plt.figure(figsize=(12, 10))
    gs = fig.add_gridspec(3, 2)

    # (a) input raster: 100 pattern afferents (top) and 100 others, first 500 ms
    ax = fig.add_subplot(gs[0, 0])
    show = 500
    idx = np.concatenate([np.flatnonzero(carriers)[:100], np.flatnonzero(~carriers)[:100]])
    t, a = np.nonzero(inputs.spikes[:show, idx])
    col = np.where(a < 100, "tab:blue", "gray")
    ax.scatter(t * dt, a, s=1.5, c=col, marker="|")
    _shade(ax, inputs.onsets, seg, 0, show, dt, label="pattern segment")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("afferent (100 pattern carriers on top of 100 others)")
    ax.set_title("input: the pattern hides in Poisson noise (first 500 ms)")
    ax.set_xlim(0, show * dt)
    ax.legend(loc="upper right", fontsize=8)

    # (b) final weights
    ax = fig.add_subplot(gs[0, 1])
    bins = np.linspace(0, 1, 26)
    ax.hist(result.weights[carriers], bins=bins, alpha=0.7, color="tab:blue",
            label="pattern afferents")
    ax.hist(result.weights[~carriers], bins=bins, alpha=0.7, color="gray",
            label="other afferents")
    ax.set_yscale("log")
    ax.set_xlabel(f"synaptic weight after learning (weight units, initial {neuron.w_init:g})")
    ax.set_ylabel("number of synapses")
    ax.set_title("weights: STDP keeps a subset of pattern synapses")
    ax.legend(fontsize=8)

    # (c, d) potential over the first and the last second
    rec = result.window_steps
    for col_i, (v, t0, title) in enumerate(((result.potential_start, 0, "first second"),
                                            (result.potential_end, steps - rec,
                                             "last second"))):
        ax = fig.add_subplot(gs[1, col_i])
        tt = np.arange(rec) * dt
        ax.plot(tt, v, color="k", lw=0.7, label="membrane potential")
        ax.axhline(neuron.lif.v_th, color="tab:red", ls="--", lw=1,
                   label=f"threshold v_th = {neuron.lif.v_th:g} mV")
        _shade(ax, inputs.onsets, seg, t0, t0 + rec, dt, label="pattern segment")
        ax.set_xlabel(f"time from {t0 * dt / 1000:g} s (ms)")
        ax.set_ylabel("membrane potential v (mV)")
        ax.set_title(f"{title}: " + ("fires at random" if col_i == 0 else
                                     "fires inside the pattern"))
        ax.set_ylim(bottom=min(neuron.lif.v_reset, v.min()) - 1.0)
        ax.legend(fontsize=8, loc="lower left", framealpha=0.95)

    # (e) selectivity over time
    ax = fig.add_subplot(gs[2, 0])
    bin_steps = int(round(1000 / dt))
    edges = np.arange(0, steps + 1, bin_steps)
    frac, rate, chance = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = result.spike_steps[(result.spike_steps >= lo) & (result.spike_steps < hi)]
        frac.append(inputs.in_pattern[s].mean() if s.size else np.nan)
        rate.append(s.size / (bin_steps * dt * 1e-3))
        chance.append(inputs.in_pattern[lo:hi].mean())
    centers = (edges[:-1] + bin_steps / 2) * dt / 1000
    ax.plot(centers, frac, "o-", color="tab:blue", label="fraction of output spikes in pattern")
    ax.plot(centers, chance, ":", color="tab:blue", label="chance (time in pattern)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("fraction of spikes in pattern")
    ax.set_ylim(-0.02, 1.05)
    ax2 = ax.twinx()
    ax2.plot(centers, rate, "s-", color="tab:orange", ms=3, label="output rate (Hz)")
    ax2.set_ylabel("output rate (Hz)", color="tab:orange")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="center right")
    ax.set_title(f"selectivity per 1 s bin (measured over first/last "
                 f"{measure_steps * dt / 1000:g} s)")

    # (f) latency of the first spike after pattern onset
    ax = fig.add_subplot(gs[2, 1])
    onset_s = inputs.onsets * dt / 1000
    ok = ~np.isnan(latencies)
    ax.plot(onset_s[ok], latencies[ok], ".", color="tab:green", label="fired in the pattern")
    ax.plot(onset_s[~ok], np.full((~ok).sum(), seg * dt), "x", color="gray", ms=4,
            label="no spike in the pattern")
    ax.set_xlabel("time of the pattern presentation (s)")
    ax.set_ylabel("latency after pattern onset (ms)")
    ax.set_ylim(-2, seg * dt + 5)
    ax.set_title("once selective, it fires at a fixed, slowly shrinking latency", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle("A LIF neuron with STDP learns a repeating spike pattern "
                 "(after Masquelier, Guyonneau & Thorpe 2008)")
    return save(fig, path)


# --------------------------------------------------------------------------------------------
# 2. McCulloch-Pitts, perceptron, XOR

def _logic_points(ax, inputs, targets, title) -> None:
    for cls, marker, color in ((0, "o", "tab:red"), (1, "s", "tab:blue")):
        sel = np.asarray(targets) == cls
        ax.scatter(inputs[sel, 0], inputs[sel, 1], s=120, marker=marker, color=color,
                   edgecolor="k", zorder=3, label=f"target {cls}")
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_aspect("equal")
    ax.set_xlabel("input x1 (0/1)")
    ax.set_ylabel("input x2 (0/1)")
    ax.set_title(title, fontsize=10)


def _line(ax, w, b, label, color="k") -> None:
    """Draw ``w . x + b = 0`` and shade the side where it is positive."""
    xs = np.linspace(-0.5, 1.5, 50)
    gx, gy = np.meshgrid(xs, xs)
    z = w[0] * gx + w[1] * gy + b
    ax.contourf(gx, gy, (z > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                colors=["mistyrose", "lightsteelblue"], alpha=0.5)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, -(w[0] * xs + b) / w[1], color=color, label=label)
    elif abs(w[0]) > 1e-12:
        ax.axvline(-b / w[0], color=color, label=label)


def perceptron_figure(path, inputs, targets, thresholds, mp, rosenblatt) -> Path:
    """McCulloch-Pitts AND/OR, the perceptron's learning curves, its final lines."""
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    for ax, (name, theta) in zip(axes[0, :2], thresholds.items()):
        _line(ax, np.array([1.0, 1.0]), -theta + 1e-9, f"x1 + x2 = {theta:g}")
        _logic_points(ax, inputs, targets[name],
                      f"McCulloch-Pitts {name}: fire iff x1 + x2 >= {theta:g}\n"
                      f"outputs {mp[name].tolist()}")
        ax.legend(fontsize=7, loc="upper left")
    ax = axes[0, 2]
    for name, (_, _, hist) in rosenblatt.items():
        ax.plot(np.arange(len(hist)), 100 * hist, "o-", ms=3, label=name)
    ax.axhline(75, color="gray", ls="--", lw=1, label="75% (3 of 4)")
    ax.set_xlabel("epoch (one pass over the 4 examples)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-5, 105)
    ax.set_title("Rosenblatt's rule: AND, OR learned; XOR never", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for ax, (name, (w, b, hist)) in zip(axes[1], rosenblatt.items()):
        _line(ax, w, b, f"{w[0]:.2f} x1 {w[1]:+.2f} x2 {b:+.2f} = 0")
        _logic_points(ax, inputs, targets[name],
                      f"perceptron on {name}: accuracy {100 * hist[-1]:.0f}% "
                      f"(best {100 * hist.max():.0f}%)")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Threshold units: blue region = unit fires (output 1)")
    return save(fig, path)


def xor_backprop_figure(path, inputs, targets, grid, p1, history, acc, hidden) -> Path:
    """Decision map of the two-layer XOR network and its training curve."""
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4.6))
    cs = a0.contourf(grid, grid, p1, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.8)
    a0.contour(grid, grid, p1, levels=[0.5], colors="k", linewidths=1.5)
    fig.colorbar(cs, ax=a0, label="P(class 1) (probability)")
    _logic_points(a0, inputs, targets, f"2-layer net ({hidden} tanh + softmax) on XOR: "
                  f"accuracy {100 * acc:.0f}%\nblack line: decision boundary P = 0.5")
    a0.legend(fontsize=7, loc="upper left")
    epochs = np.arange(1, len(history["loss"]) + 1)
    a1.semilogy(epochs, history["loss"], color="tab:blue", label="cross-entropy loss")
    a1.set_xlabel("epoch (one Adam step on the 4 examples)")
    a1.set_ylabel("loss (nats, log scale)")
    a2 = a1.twinx()
    a2.plot(epochs, 100 * np.asarray(history["acc"]), color="tab:orange", label="accuracy")
    a2.set_ylabel("training accuracy (%)", color="tab:orange")
    a2.set_ylim(-5, 105)
    h1, l1 = a1.get_legend_handles_labels()
    h2, l2 = a2.get_legend_handles_labels()
    a1.legend(h1 + h2, l1 + l2, fontsize=8, loc="center right")
    a1.set_title("backpropagation solves XOR")
    a1.grid(alpha=0.3)
    return save(fig, path)


# --------------------------------------------------------------------------------------------
# 7. what a network sees

def _image(ax, img, title=None, cmap="gray_r", vmin=None, vmax=None, fontsize=8):
    im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)
    return im


def first_layer_weights_figure(path, weights, test_acc) -> Path:
    """First-layer weights (one 8x8 image per hidden unit), blue excites, red inhibits."""
    n = len(weights)
    cols = 8
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols + 1.2, 1.4 * rows + 0.8))
    lim = float(np.abs(weights).max())
    im = None
    for i, ax in enumerate(np.ravel(axes)):
        if i < n:
            im = _image(ax, weights[i], f"unit {i}", cmap="RdBu", vmin=-lim, vmax=lim)
        else:
            ax.axis("off")
    fig.suptitle(f"First-layer weights of a 64-32-10 digits net (test accuracy "
                 f"{100 * test_acc:.1f}%)\neach 8x8 image is one hidden unit's input weights: "
                 "blue pixels excite it, red ones inhibit it")
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.91, 0.15, 0.02, 0.7))
    fig.colorbar(im, cax=cax, label="weight (per unit of pixel intensity)")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)
    return Path(path)


def feature_visualisation_figure(path, hidden_imgs, hidden_traces, hidden_ids, out_imgs,
                                 out_traces, out_probs) -> Path:
    """Inputs optimised to excite hidden units and output neurons, and the activation rise."""
    fig = plt.figure(figsize=(12, 8))
    gs = fig.add_gridspec(3, 10, height_ratios=[1, 1.1, 1.8], left=0.07, right=0.98,
                          bottom=0.07, top=0.9, wspace=0.15, hspace=0.45)
    for i, (img, tr, u) in enumerate(zip(hidden_imgs[:8], hidden_traces, hidden_ids)):
        ax = fig.add_subplot(gs[0, i])
        _image(ax, img, f"hidden {u}\n{tr[0]:.2f} -> {tr[-1]:.1f}", vmin=0, vmax=1)
    for c, (img, tr, p) in enumerate(zip(out_imgs, out_traces, out_probs)):
        ax = fig.add_subplot(gs[1, c])
        _image(ax, img, f"output '{c}'\nlogit {tr[0]:.1f} -> {tr[-1]:.1f}\nP = {p:.2f}",
               vmin=0, vmax=1, fontsize=7)
    ax = fig.add_subplot(gs[2, :5])
    for tr, u in zip(hidden_traces, hidden_ids):
        ax.semilogy(np.maximum(tr, 1e-3), lw=1, label=f"hidden {u}")
    ax.set_xlabel("gradient-ascent iteration")
    ax.set_ylabel("activation (ReLU output, log scale)")
    ax.set_title("hidden units: activation from faint noise to optimised input", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(gs[2, 6:])  # column 5 left empty: room for the y label
    for c, tr in enumerate(out_traces):
        ax.plot(tr, lw=1, label=f"'{c}'")
    ax.set_xlabel("gradient-ascent iteration")
    ax.set_ylabel("output logit (pre-softmax)")
    ax.set_title("output neurons: logit during ascent", fontsize=10)
    ax.legend(fontsize=7, ncol=5)
    ax.grid(alpha=0.3)
    fig.suptitle("Feature visualisation: the input (pixel intensity 0-1, dark = ink) that "
                 "excites each neuron most, from faint noise")
    return save(fig, path, tight=False)


def memorisation_figure(path, train_imgs, train_labels, vis_imgs, conf_train, conf_test,
                        r_own, r_other, train_acc, test_acc) -> Path:
    """A net trained on 20 images: its training set, its output visualisations, confidence
    on seen vs unseen images, and how much each visualisation resembles its class."""
    fig = plt.figure(figsize=(12, 8.6))
    gs = fig.add_gridspec(4, 10, height_ratios=[1, 1, 1, 2.2], left=0.07, right=0.98,
                          bottom=0.07, top=0.91, wspace=0.15, hspace=0.35)
    order = np.argsort(train_labels, kind="stable")
    for k in range(2):
        for c in range(10):
            ax = fig.add_subplot(gs[k, c])
            i = order[2 * c + k] if 2 * c + k < len(order) else None
            if i is not None:
                _image(ax, train_imgs[i], f"train '{train_labels[i]}'", vmin=0, vmax=1)
    for c in range(10):
        ax = fig.add_subplot(gs[2, c])
        _image(ax, vis_imgs[c], f"vis '{c}' r={r_own[c]:.2f}", vmin=0, vmax=1)
    ax = fig.add_subplot(gs[3, :5])
    bins = np.linspace(0, 1, 21)
    ax.hist(conf_test, bins=bins, density=True, alpha=0.6, color="tab:orange",
            label=f"unseen test images (n={len(conf_test)}, mean {conf_test.mean():.2f})")
    ax.hist(conf_train, bins=bins, density=True, alpha=0.6, color="tab:blue",
            label=f"its 20 training images (mean {conf_train.mean():.2f})")
    ax.set_xlabel("probability given to the true class")
    ax.set_ylabel("density (1 / unit probability)")
    ax.set_title(f"confidence: train accuracy {100 * train_acc:.0f}%, unseen "
                 f"{100 * test_acc:.0f}%", fontsize=10)
    ax.legend(fontsize=8, loc="upper center")
    ax = fig.add_subplot(gs[3, 6:])
    xs = np.arange(10)
    ax.bar(xs - 0.2, r_own, width=0.4, color="tab:blue", label="vs its class's training images")
    ax.bar(xs + 0.2, r_other, width=0.4, color="gray", label="vs other classes' training images")
    ax.set_xticks(xs)
    ax.set_xlabel("output neuron (class)")
    ax.set_ylabel("Pearson correlation r")
    ax.set_title("visualisations resemble the memorised images", fontsize=10)
    ax.set_ylim(min(0.0, float(np.min(r_other)) - 0.05), 1.0)
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=8)
    fig.suptitle("Memorisation: a 64-32-10 net trained on 2 images per class "
                 "(pixel intensity 0-1, dark = ink)")
    return save(fig, path, tight=False)


# --------------------------------------------------------------------------------------------
# 3. LIF

def lif_trace_figure(path, t, v, current, spike_times, neuron, isi_closed) -> Path:
    """Membrane potential of a LIF neuron under a current step, with its landmarks."""
    fig, (a0, a1) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=[3, 1])
    a0.plot(t, v, color="k", lw=1.2, label="membrane potential v")
    spike_top = neuron.v_th + 20.0
    for i, s in enumerate(spike_times):
        a0.plot([s, s], [neuron.v_th, spike_top], color="tab:red", lw=1.5,
                label="spike (drawn; the model has no spike shape)" if i == 0 else None)
    a0.axhline(neuron.v_th, color="tab:red", ls="--", lw=1, label=f"threshold {neuron.v_th:g} mV")
    a0.axhline(neuron.v_reset, color="tab:blue", ls=":", lw=1,
               label=f"rest = reset {neuron.v_reset:g} mV")
    v_inf = neuron.v_rest + neuron.r_m * current.max()
    a0.axhline(v_inf, color="gray", ls="-.", lw=1,
               label=f"v_inf = v_rest + R I = {v_inf:g} mV (never reached)")
    if len(spike_times):
        s0 = spike_times[0]
        a0.axvspan(s0, s0 + neuron.t_ref, color="orange", alpha=0.4,
                   label=f"refractory period {neuron.t_ref:g} ms")
    if len(spike_times) > 2:
        s1, s2 = spike_times[1], spike_times[2]
        y = neuron.v_th + 8
        a0.annotate("", xy=(s2, y), xytext=(s1, y), arrowprops=dict(arrowstyle="<->"))
        a0.text((s1 + s2) / 2, y + 1, f"ISI {s2 - s1:.1f} ms\n(closed form {isi_closed:.2f})",
                ha="center", va="bottom", fontsize=8)
    a0.set_ylabel("v (mV)")
    a0.set_ylim(neuron.v_reset - 5, spike_top + 10)
    a0.set_title(f"LIF neuron (tau_m = {neuron.tau_m:g} ms, R = {neuron.r_m:g} MOhm) under a "
                 f"{current.max():g} nA current step")
    a0.legend(fontsize=8, loc="upper right", ncol=2)
    a0.grid(alpha=0.3)
    a1.plot(t, current, color="tab:green")
    a1.set_xlabel("time (ms)")
    a1.set_ylabel("I (nA)")
    a1.grid(alpha=0.3)
    return save(fig, path)


def lif_fi_figure(path, currents, lif_sim, if_sim, fine, lif_closed, if_closed, neuron,
                  twin) -> Path:
    """f-I curves: LIF (simulated on its closed form), IF with reset by subtraction, ReLU."""
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4.8))
    slope = float(twin.rate(1.0))
    for ax, top in ((a0, None), (a1, 2.5)):
        ax.plot(fine, slope * np.maximum(fine, 0), color="tab:orange", lw=4, alpha=0.35,
                label=f"ReLU: {slope:.1f} Hz/nA x max(I, 0)")
        ax.plot(fine, if_closed, color="tab:orange", lw=1,
                label="IF, reset by subtraction: closed form")
        ax.plot(currents, if_sim, "s", color="tab:orange", ms=4, mfc="none",
                label="IF: simulated")
        ax.plot(fine, lif_closed, color="tab:blue", lw=1.2, label="LIF: closed form 1000 / T")
        ax.plot(currents, lif_sim, "o", color="tab:blue", ms=4, label="LIF: simulated")
        ax.set_xlabel("input current I (nA)")
        ax.set_ylabel("firing rate (Hz)")
        ax.grid(alpha=0.3)
        if top is not None:
            ax.set_xlim(0, top)
            ax.set_ylim(0, slope * top * 1.05)
    rh = (neuron.v_th - neuron.v_rest) / neuron.r_m
    a1.axvline(rh, color="gray", ls=":", lw=1)
    a1.text(rh + 0.03, 5, f"rheobase {rh:g} nA", fontsize=8)
    a0.axhline(1000 / neuron.t_ref, color="gray", ls=":", lw=1)
    a0.text(0.1, 1000 / neuron.t_ref + 5, f"LIF ceiling 1 / t_ref = {1000 / neuron.t_ref:g} Hz",
            fontsize=8)
    a0.set_ylim(0, 1000 / neuron.t_ref * 1.15)
    a0.set_title("f-I curves: the IF neuron IS a ReLU; LIF is a softened one")
    a1.set_title("zoom near threshold")
    a0.legend(fontsize=8, loc="center right")
    return save(fig, path)


def rate_code_figure(path, values, example_trains, counts, expected, r_max, window_ms) -> Path:
    """Poisson rate code: example spike trains per value, and counts vs value."""
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4.6))
    for v, train in zip(values, example_trains):
        ts = np.flatnonzero(train)
        a0.plot(ts, np.full(ts.size, v), "|", color="k", ms=8)
    a0.set_xlabel("time (ms)")
    a0.set_ylabel(f"encoded value x (rate = x * {r_max:g} Hz)")
    a0.set_title("one Poisson spike train per value")
    a0.set_xlim(0, window_ms)
    mean, sd = counts.mean(axis=1), counts.std(axis=1, ddof=1)
    a1.plot(values, expected, color="tab:orange",
            label=f"expected x * {r_max:g} Hz * {window_ms / 1000:g} s")
    a1.fill_between(values, expected - np.sqrt(expected), expected + np.sqrt(expected),
                    color="tab:orange", alpha=0.2, label="Poisson ±1 SD (sqrt of mean)")
    a1.errorbar(values, mean, yerr=sd, fmt="o", color="tab:blue", capsize=3,
                label=f"measured mean ± SD over {counts.shape[1]} trials")
    a1.set_xlabel("encoded value x (dimensionless)")
    a1.set_ylabel(f"spike count in {window_ms:g} ms")
    a1.set_title("rate code: count grows linearly with the value")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    return save(fig, path)


# --------------------------------------------------------------------------------------------
# 4. Izhikevich gallery and AdEx

def izhikevich_gallery_figure(path, t, traces, names, rates, stats, step, rz_runs, t_rz,
                              rz_inputs) -> Path:
    """Six panels: five classes under the same step, and the resonator's pulse protocol."""
    fig, axes = plt.subplots(3, 2, figsize=(12, 9), sharex=True)
    for ax, (k, v) in zip(np.ravel(axes), traces.items()):
        ax.plot(t, v, color="k", lw=0.8)
        s = stats[k]
        ax.set_title(f"{k} ({names[k]}): {rates[k]:.0f} Hz, {s['bursts']} burst(s), "
                     f"last/first ISI {s['adaptation']:.2f}", fontsize=10)
        ax.set_ylabel("v (mV)")
        ax.set_ylim(-110, 40)  # room below the trace for the input current
        ax.grid(alpha=0.3)
        a2 = ax.twinx()
        a2.plot(t, step, color="tab:green", lw=1, alpha=0.6)
        a2.set_ylim(-1, 60)
        a2.set_yticks([0, 10])
        a2.set_ylabel("I (mV/ms)", color="tab:green", fontsize=8)
    ax = axes[2, 1]
    colors = {g: c for g, c in zip(rz_runs, ("tab:blue", "tab:red"))}
    for g, r in rz_runs.items():
        ax.plot(t_rz, r.traces["v"], color=colors[g], lw=1,
                label=f"pulses {g:g} ms apart: {r.n_spikes} spike(s)")
    ax.set_title("RZ (resonator): rings at ~25 Hz; fires only for pulses in phase",
                 fontsize=10)
    ax.set_ylabel("v (mV)")
    ax.set_ylim(-110, 40)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    a2 = ax.twinx()
    for g, i in rz_inputs.items():
        a2.plot(t_rz, i, color=colors[g], lw=1, alpha=0.6)
    a2.set_ylim(-0.2, 14)
    a2.set_yticks([0, float(max(i.max() for i in rz_inputs.values()))])
    a2.set_ylabel("I (mV/ms)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    fig.suptitle("Izhikevich (2003) firing patterns: same model, four parameters; "
                 "green: input current")
    return save(fig, path)


def isi_figure(path, isis, burst_ms, adex, adex_i) -> Path:
    """Interspike intervals per class (bursts = short intervals), and AdEx adaptation."""
    fig = plt.figure(figsize=(12, 7.5))
    gs = fig.add_gridspec(2, 2)
    ax = fig.add_subplot(gs[:, 0])
    markers = dict(zip(isis, "osD^v"))
    for k, isi in isis.items():
        ax.semilogy(np.arange(1, isi.size + 1), isi, marker=markers[k], ms=4, lw=1, label=k)
    ax.axhline(burst_ms, color="gray", ls="--", lw=1,
               label=f"{burst_ms:g} ms: shorter = inside a burst")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_xlabel("interval number (1 = first interval after step onset)")
    ax.set_ylabel("interspike interval (ms, log scale)")
    ax.set_title("ISIs: RS/LTS lengthen (adapt), IB one initial burst,\n"
                 "CH alternates bursts and pauses, FS short and steady", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    ax = fig.add_subplot(gs[0, 1])
    ax.plot(adex.t, adex.traces["v"], color="k", lw=0.8)
    ax.set_ylabel("v (mV)")
    ax.set_title(f"AdEx (Brette & Gerstner 2005) under a {adex_i:g} nA step", fontsize=10)
    ax.grid(alpha=0.3)
    a2 = ax.twinx()
    a2.plot(adex.t, adex.traces["w"], color="tab:purple", lw=1.2)
    a2.set_ylabel("adaptation current w (nA)", color="tab:purple")
    ax.set_xlabel("time (ms)")
    ax = fig.add_subplot(gs[1, 1])
    ax.plot(np.arange(1, adex.isi.size + 1), adex.isi, "o-", color="tab:purple")
    ax.set_xlabel("interval number")
    ax.set_ylabel("interspike interval (ms)")
    ax.set_title("AdEx: intervals grow as w builds up, then settle", fontsize=10)
    ax.grid(alpha=0.3)
    return save(fig, path)


# --------------------------------------------------------------------------------------------
# 5. Hodgkin-Huxley

def hh_action_potential_figure(path, t, traces, stim, neuron) -> Path:
    """v, gates m/h/n, ionic currents and the stimulus during one action potential."""
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True,
                             height_ratios=[2.2, 1.5, 1.8, 0.7])
    ax = axes[0]
    ax.plot(t, traces["v"], color="k", lw=1.5, label="membrane potential v")
    ax.axhline(neuron.e_na, color="tab:red", ls=":", lw=1, label=f"E_Na = {neuron.e_na:g} mV")
    ax.axhline(neuron.e_k, color="tab:blue", ls=":", lw=1, label=f"E_K = {neuron.e_k:g} mV")
    ax.axhline(traces["v"][0], color="gray", ls="--", lw=0.8,
               label=f"rest {traces['v'][0]:.1f} mV")
    k = int(np.argmax(traces["v"]))
    ax.annotate(f"peak {traces['v'][k]:.1f} mV", xy=(t[k], traces["v"][k]),
                xytext=(t[k] + 3, traces["v"][k] - 5), arrowprops=dict(arrowstyle="->"),
                fontsize=9)
    ax.set_ylabel("v (mV)")
    ax.set_title("Hodgkin-Huxley action potential (squid axon, 6.3 °C)")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    ax = axes[1]
    for g, c, what in (("m", "tab:red", "Na activation (fast)"),
                       ("h", "tab:orange", "Na inactivation (slow)"),
                       ("n", "tab:blue", "K activation (slow)")):
        ax.plot(t, traces[g], color=c, lw=1.5, label=f"{g}: {what}")
    ax.set_ylabel("gate open fraction (0-1)")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    ax = axes[2]
    for name, c, label in (("i_na", "tab:red", "I_Na = g_Na m^3 h (v - E_Na)"),
                           ("i_k", "tab:blue", "I_K = g_K n^4 (v - E_K)"),
                           ("i_l", "gray", "I_L = g_L (v - E_L)")):
        ax.plot(t, traces[name], color=c, lw=1.5, label=label)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("ionic current (uA/cm², outward +)")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    ax = axes[3]
    ax.plot(t, stim, color="tab:green")
    ax.set_ylabel("stimulus\n(uA/cm²)")
    ax.set_xlabel("time (ms)")
    ax.grid(alpha=0.3)
    return save(fig, path)


def hh_fi_figure(path, currents, rates, i_on, r_on, examples, counted_ms) -> Path:
    """HH f-I curve with its abrupt onset, and traces just below and above it."""
    fig = plt.figure(figsize=(12, 5))
    gs = fig.add_gridspec(2, 2, width_ratios=[1.2, 1])
    ax = fig.add_subplot(gs[:, 0])
    ax.plot(currents, rates, "o-", color="k", ms=3, label=f"simulated ({counted_ms:g} ms "
            "counted after warm-up)")
    ax.axvline(i_on, color="tab:red", ls="--", lw=1,
               label=f"onset {i_on:g} uA/cm²: jumps 0 -> {r_on:.0f} Hz")
    ax.set_xlabel("constant input current (uA/cm²)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title("HH f-I curve: no slow firing (class II onset)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    for row, (i, r) in enumerate(examples.items()):
        ax = fig.add_subplot(gs[row, 1])
        ax.plot(r.t, r.traces["v"], color="k", lw=0.8)
        ax.set_ylabel("v (mV)")
        ax.set_title(f"I = {i:g} uA/cm²: {r.n_spikes} spike(s) in 150 ms", fontsize=9)
        ax.set_ylim(-85, 50)
        ax.grid(alpha=0.3)
        if row == 1:
            ax.set_xlabel("time (ms)")
    return save(fig, path)


# --------------------------------------------------------------------------------------------
# 8. same input, two modes

def same_input_figure(path, image, label, acts, probs, raster, classic_pred, spike_pred,
                      timesteps) -> Path:
    """Classic activations per layer (top) and spiking rasters per layer (bottom)."""
    n_layers = len(acts)
    fig = plt.figure(figsize=(14, 7.5))
    gs = fig.add_gridspec(2, n_layers + 1, width_ratios=[0.8] + [1] * n_layers)
    ax = fig.add_subplot(gs[0, 0])
    _image(ax, image, f"input: test digit '{label}'\n(pixel intensity 0-1)", vmin=0, vmax=1,
           fontsize=10)
    for li, a in enumerate(acts):
        ax = fig.add_subplot(gs[0, li + 1])
        last = li == n_layers - 1
        vals = probs if last else a
        color = ["tab:red" if (last and k == classic_pred) else "tab:blue"
                 for k in range(vals.size)]
        ax.bar(np.arange(vals.size), vals, color=color, width=0.9)
        ax.set_xlabel("neuron index")
        ax.set_ylabel("softmax probability" if last else "ReLU activation (dimensionless)")
        ax.set_title(f"classic layer {li}: " + (f"predicts '{classic_pred}'" if last else
                                                f"{np.count_nonzero(a)}/{a.size} active"),
                     fontsize=10)
        if last:
            ax.set_xticks(range(vals.size))
        ax.grid(axis="y", alpha=0.3)
    ax = fig.add_subplot(gs[1, 0])
    ax.axis("off")
    ax.text(0.0, 0.5, "spiking mode:\n\ninput pixel i spikes\nwith probability x_i\nat each "
            f"step\n(Poisson rate code),\n{timesteps} steps;\nIF neurons,\nthreshold 1,\n"
            "reset by subtraction", fontsize=10, va="center")
    for li, r in enumerate(raster):
        ax = fig.add_subplot(gs[1, li + 1])
        t, n = np.nonzero(r)
        last = li == n_layers - 1
        col = np.where(last & (n == spike_pred), "tab:red", "k") if last else "k"
        ax.scatter(t, n, s=4 if not last else 10, marker="|", c=col)
        ax.set_xlim(0, timesteps)
        ax.set_ylim(-0.5, r.shape[1] - 0.5)
        ax.set_xlabel("time step")
        ax.set_ylabel("neuron index")
        counts = r.sum(axis=0)
        ax.set_title(f"spiking layer {li}: {int(counts.sum())} spikes" +
                     (f", predicts '{spike_pred}'" if last else ""), fontsize=10)
        if last:
            ax.set_yticks(range(r.shape[1]))
    fig.suptitle("The same digit through the same network: classic activations (top) and "
                 "spike rasters (bottom)")
    return save(fig, path)


def same_input_costs_figure(path, expected, rates, classic_ops, spk_ops, acc_classic, acc_at,
                            n_eval, e_classic, e_spiking, timesteps) -> Path:
    """Rates vs scaled activations, MACs vs SOPs per layer, accuracy vs time steps."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    ax = axes[0]
    for li, (e, r) in enumerate(zip(expected, rates)):
        ax.plot(e, r, "o", ms=4, alpha=0.7, label=f"layer {li}")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="rate = activation / lambda")
    ax.set_xlabel("classic activation / layer scale lambda (clipped to 1)")
    ax.set_ylabel(f"spike rate over {timesteps} steps (spikes/step)")
    ax.set_title("each spiking neuron fires at its scaled\nclassic activation", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[1]
    names = [x.name for x in classic_ops.layers]
    xs = np.arange(len(names))
    ax.bar(xs - 0.27, [x.macs for x in classic_ops.layers], width=0.27, color="tab:blue",
           label=f"classic MACs (total {classic_ops.macs:,.0f})")
    ax.bar(xs, [x.effective_macs for x in classic_ops.layers], width=0.27, color="lightblue",
           label=f"classic effective MACs ({classic_ops.effective_macs:,.0f})")
    ax.bar(xs + 0.27, [x.sops for x in spk_ops.layers], width=0.27, color="tab:orange",
           label=f"spiking SOPs over {timesteps} steps ({spk_ops.sops:,.0f})")
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"layer {n}" for n in names], fontsize=8)
    ax.set_ylabel("operations per image (log scale)")
    ax.set_title(f"cost of this image: classic {e_classic * 1e9:.1f} nJ, spiking "
                 f"{e_spiking * 1e9:.1f} nJ\n(4.6 pJ/MAC, 0.9 pJ/SOP, 45 nm, Horowitz 2014)",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    ax = axes[2]
    ts = sorted(acc_at)
    ax.plot(ts, [100 * acc_at[t] for t in ts], "o-", color="tab:orange", label="spiking")
    ax.axhline(100 * acc_classic, color="tab:blue", ls="--",
               label=f"classic {100 * acc_classic:.1f}%")
    ax.set_xlabel("time steps T")
    ax.set_ylabel(f"test accuracy on {n_eval} images (%)")
    low = min(min(acc_at.values()), acc_classic)
    ax.set_ylim(max(0.0, 100 * low - 5), 100.5)
    ax.set_title("spiking accuracy approaches classic as T grows", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)
