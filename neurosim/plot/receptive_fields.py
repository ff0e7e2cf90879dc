"""Receptive fields: each neuron's input weights drawn as an image, in a grid."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .training import _save  # noqa: E402

__all__ = ["plot_receptive_fields", "draw_fields"]


def draw_fields(ax, w: np.ndarray, shape: tuple[int, int], labels=None, title: str = "") -> None:
    """Tile the columns of ``w (n_inputs, n_neurons)`` as ``shape`` images on ``ax`` (rows of
    ``ceil(sqrt(n))``), each scaled to its own range; ``labels`` are written in a corner."""
    n = w.shape[1]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, wd = shape
    canvas = np.full((rows * (h + 1) - 1, cols * (wd + 1) - 1), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        f = w[:, k].reshape(shape)
        span = f.max() - f.min()
        canvas[r * (h + 1):r * (h + 1) + h, c * (wd + 1):c * (wd + 1) + wd] = \
            (f - f.min()) / (span if span > 0 else 1.0)
        if labels is not None:
            ax.text(c * (wd + 1) + 1, r * (h + 1) + 4, str(labels[k]), color="tab:orange",
                    fontsize=6)
    ax.imshow(canvas, cmap="gray_r", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)


def plot_receptive_fields(w: np.ndarray, shape: tuple[int, int], path, *, labels=None,
                          title: str = "receptive fields") -> None:
    """One figure of :func:`draw_fields` (PNG, written atomically)."""
    fig, ax = plt.subplots(figsize=(8, 8))
    draw_fields(ax, w, shape, labels, title)
    fig.tight_layout()
    _save(fig, path)
