"""The small convolutional network and random data set that the comparison tests share: a
conv2d (3 filters, 3x3, ReLU), 2x2 average pooling and a dense softmax layer on 1x6x6 images
of 4 classes, with untrained parameters from ``default_rng(0)``."""

from __future__ import annotations

import numpy as np

from neurosim.builder.params import init_params
from neurosim.data import Dataset
from neurosim.specs import AvgPool2D, Conv2D, Dense, Flatten, Network


def toy_conv(n_train: int, n_test: int = 20):
    """``(spec, params, dataset)`` with ``n_train`` training and ``n_test`` test images."""
    rng = np.random.default_rng(0)
    spec = Network(name="toy", input_shape=(1, 6, 6), layers=(
        Conv2D(filters=3, kernel_size=3, padding=1, activation="relu"), AvgPool2D(pool_size=2),
        Flatten(), Dense(units=4, activation="softmax")))
    params = init_params(spec, rng)
    n = n_train + n_test
    x = rng.random((n, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 4, n)
    ds = Dataset(name="toy", x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:],
                 y_test=y[n_train:], input_shape=(1, 6, 6), n_classes=4,
                 description="random images")
    return spec, params, ds
