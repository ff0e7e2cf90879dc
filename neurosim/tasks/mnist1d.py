"""MNIST-1D (Greydanus 2020, "Scaling down deep learning", arXiv:2011.14439): ten 1-D digit
templates of 12 values, turned into 40-step sequences by random padding, scaling,
translation, correlated and white noise and shear. Small enough to train an RNN in a minute,
hard enough that a linear model gets about a third right.

This is an implementation of the paper's published generator description, with its default
settings (:data:`DEFAULTS`): for each sample of class ``k`` (``num_samples / 10`` per class)

1. ``x = template_k + 1e-8``, padded at its end with ``p ~ U{36, ..., 60}`` zeros;
2. resampled linearly to ``template_len + 60 = 72`` points (a random dilation);
3. multiplied by ``1 + 0.4 (u - 1/2)``, ``u ~ U(0, 1)``;
4. shifted circularly by ``s ~ U{0, ..., 47}`` positions;
5. where ``x == 0`` (the padding) replaced by correlated noise: ``0.25 N(0, 1)`` smoothed by
   a Gaussian of ``sigma = 2`` samples (reflecting edges, radius 8); white noise
   ``0.02 N(0, 1)`` added everywhere;
6. sheared: ``x -= 0.75 (u - 1/2) linspace(-1/2, 1/2, 72)``;
7. resampled linearly to ``final_seq_length = 40`` values.

The samples are shuffled, centred and scaled by the mean and standard deviation of the whole
set, then split: the first ``train_split = 0.8`` (4,000 of 5,000) for training, the rest
for testing. Every random number comes from one ``numpy.random.Generator`` seeded with
``seed`` (default 42, the paper's), so the same seed gives the same data; the draws differ
from those of the reference package (which uses NumPy's global generator), so the samples
are statistically, not bit-for-bit, the published ones.

The templates (their 12 raw values, whitened, shifted to start at 0 and divided by 6) are
the paper's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULTS", "TEMPLATES_RAW", "templates", "make_mnist1d"]

DEFAULTS = {"num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": (36, 60),
            "scale_coeff": 0.4, "max_translation": 48, "corr_noise_scale": 0.25,
            "iid_noise_scale": 2e-2, "shear_scale": 0.75, "final_seq_length": 40,
            "seed": 42}

#: The ten raw templates (digits 0..9), as printed in the paper's generator.
TEMPLATES_RAW = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
])

#: Radius of the correlated noise's Gaussian kernel, in standard deviations.
GAUSS_TRUNCATE = 4.0


def templates() -> np.ndarray:
    """The ten templates ``(10, 12)``: whitened per template, shifted so that each starts at
    0, divided by 6."""
    x = TEMPLATES_RAW - TEMPLATES_RAW.mean(axis=1, keepdims=True)
    x = x / x.std(axis=1, keepdims=True)
    return (x - x[:, :1]) / 6.0


def _resample(x: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of ``x`` (on a uniform grid over [0, 1]) at ``n`` uniform points."""
    return np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, len(x)), x)


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Convolution with a normalised Gaussian of ``sigma`` samples, truncated at
    ``GAUSS_TRUNCATE sigma``, edges reflected (``d c b a | a b c d``)."""
    r = int(GAUSS_TRUNCATE * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    return np.convolve(np.pad(x, r, mode="symmetric"), k, mode="valid")


def _transform(x: np.ndarray, rng: np.random.Generator, a: dict) -> np.ndarray:
    low, high = a["padding"]
    p = int(rng.integers(low, high + 1))
    x = np.concatenate([x + 1e-8, np.zeros(p)])
    x = _resample(x, a["template_len"] + high)
    x = x * (1 + a["scale_coeff"] * (rng.random() - 0.5))
    x = np.roll(x, int(rng.integers(0, a["max_translation"])))
    pad = x == 0
    noise = _gaussian_smooth(a["corr_noise_scale"] * rng.standard_normal(len(x)), 2.0)
    x = np.where(pad, noise, x) + a["iid_noise_scale"] * rng.standard_normal(len(x))
    x = x - a["shear_scale"] * (rng.random() - 0.5) * np.linspace(-0.5, 0.5, len(x))
    return _resample(x, a["final_seq_length"])


def make_mnist1d(**overrides):
    """``(x_train, y_train, x_test, y_test)``: float64 sequences ``(N, final_seq_length)`` and
    int64 labels, by the generator of the module docstring; ``overrides`` replace entries of
    :data:`DEFAULTS` (``seed``, ``num_samples``, ...)."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"mnist1d: unknown setting(s) {', '.join(sorted(unknown))}")
    a = {**DEFAULTS, **overrides}
    rng = np.random.default_rng(a["seed"])
    tmpl = templates()
    per_class = a["num_samples"] // len(tmpl)
    xs = np.stack([_transform(tmpl[k], rng, a) for k in range(len(tmpl))
                   for _ in range(per_class)])
    ys = np.repeat(np.arange(len(tmpl)), per_class)
    order = rng.permutation(len(ys))
    xs, ys = xs[order], ys[order]
    xs = (xs - xs.mean()) / xs.std()
    cut = int(len(ys) * a["train_split"])
    return xs[:cut], ys[:cut].astype(np.int64), xs[cut:], ys[cut:].astype(np.int64)
