"""Figures of classic-mode training: learning curves and the confusion matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_path  # noqa: E402

__all__ = ["plot_training_curves", "plot_confusion_matrix", "confusion_matrix"]


def _save(fig, path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_training_curves(history: dict, path, title: str = "training",
                         loss_label: str = "loss per sample") -> None:
    """Loss and accuracy per epoch, training and validation, side by side (PNG).

    ``loss_label`` names the loss and its unit on the y axis."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 4))
    ax_l.plot(epochs, history["loss"], "o-", ms=3, label="training (batches, training mode)")
    ax_a.plot(epochs, 100 * np.asarray(history["acc"]), "o-", ms=3,
              label="training (batches, training mode)")
    if np.any(np.isfinite(history.get("val_loss", []))):
        ax_l.plot(epochs, history["val_loss"], "s-", ms=3, label="validation")
        ax_a.plot(epochs, 100 * np.asarray(history["val_acc"]), "s-", ms=3, label="validation")
    ax_l.set(xlabel="epoch", ylabel=loss_label, title="loss")
    ax_a.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of samples of class ``i`` predicted as ``j``."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def plot_confusion_matrix(cm: np.ndarray, path, title: str = "confusion matrix",
                          labels=None) -> None:
    """Counts per (true class, predicted class), with the counts written in the cells (PNG)."""
    k = cm.shape[0]
    labels = [str(i) for i in range(k)] if labels is None else list(labels)
    fig, ax = plt.subplots(figsize=(0.55 * k + 3, 0.55 * k + 2.5))
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, label="test samples")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted class", ylabel="true class",
           title=title)
    ax.set_xticklabels(labels, rotation=45 if max(map(len, labels)) > 2 else 0, ha="right"
                       if max(map(len, labels)) > 2 else "center")
    ax.set_yticklabels(labels)
    top = cm.max() if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > top / 2 else "black")
    fig.tight_layout()
    _save(fig, path)
