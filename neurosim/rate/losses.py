"""Losses of the classic mode, each returning ``(loss, dL/d input)`` for a batch of ``N``.

- ``cross_entropy``: softmax cross-entropy on logits ``z``,
  ``L = -(1/N) sum_n log softmax(z_n)[y_n]``, computed as ``logsumexp(z) - z_y`` (shifted by the
  row maximum, so no overflow). Its gradient is ``dL/dz = (softmax(z) - onehot(y)) / N``: the
  softmax output layer and the loss are fused, which avoids dividing by tiny probabilities.
  When the output activation is not softmax its output is taken as the logits (as in
  PyTorch's ``CrossEntropyLoss``).
- ``mse``: ``L = (1 / (N K)) sum_{n,k} (a_{nk} - t_{nk})^2`` on the output ``a`` after its
  activation, with ``t = onehot(y)`` (or ``y`` itself when it is a float array of the output's
  shape); ``dL/da = 2 (a - t) / (N K)``.

Targets ``y`` are class indices (integers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax_cross_entropy", "mse", "one_hot", "LOSSES"]


def one_hot(y, k: int, dtype=np.float32) -> np.ndarray:
    """``(N,)`` class indices -> ``(N, k)`` rows of 0 with a 1 at the class."""
    out = np.zeros((len(y), k), dtype=dtype)
    out[np.arange(len(y)), y] = 1
    return out


def softmax_cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of logits ``z (N, K)`` and labels ``y (N,)``; ``(L, dL/dz)``."""
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(s[:, 0]) - shifted[rows, y]))
    grad = e / s
    grad[rows, y] -= 1
    grad *= z.dtype.type(1.0 / n)
    return loss, grad


def mse(a: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error of outputs ``a (N, K)`` against ``onehot(y)``; ``(L, dL/da)``."""
    n, k = a.shape
    t = y.astype(a.dtype) if (y.ndim == 2 and y.dtype.kind == "f") else one_hot(y, k, a.dtype)
    diff = a - t
    loss = float(np.mean(diff * diff))
    return loss, diff * a.dtype.type(2.0 / (n * k))


LOSSES = {"cross_entropy": softmax_cross_entropy, "mse": mse}
