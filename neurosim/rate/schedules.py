"""Learning-rate schedules: the step size used in epoch ``e`` (counted from 0).

- ``constant``: ``lr_e = lr``.
- ``step``: ``lr_e = lr * gamma ** floor(e / step_size)``.
- ``cosine`` (Loshchilov & Hutter 2017, without restarts): ``lr_e = lr (1 + cos(pi e / E)) / 2``
  for ``E`` epochs in all, so the first epoch uses ``lr`` and the rate falls towards 0.
"""

from __future__ import annotations

import math

__all__ = ["learning_rate"]


def learning_rate(training, epoch: int, epochs: int | None = None) -> float:
    """Step size of ``epoch`` under ``training.schedule`` (``epochs`` defaults to
    ``training.epochs``)."""
    lr = training.learning_rate
    if training.schedule == "constant":
        return lr
    if training.schedule == "step":
        return lr * training.gamma ** (epoch // training.step_size)
    total = training.epochs if epochs is None else epochs
    return lr * (1 + math.cos(math.pi * epoch / max(total, 1))) / 2
