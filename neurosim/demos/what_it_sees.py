"""What a trained network "sees": weights, feature visualisation, and memorisation.

On scikit-learn's 8x8 digits, a classic network (64 inputs, 32 ReLU hidden units, 10 softmax
outputs) is trained with :class:`neurosim.rate.Trainer`. Then:

1. **First-layer weights as images.** Each hidden unit computes ``relu(w . x + b)``: its
   64 weights, drawn as an 8x8 image, are the pattern of pixels that excites it (positive)
   or inhibits it (negative).
2. **Feature visualisation** (Erhan, Bengio, Courville & Vincent 2009; Simonyan, Vedaldi &
   Zisserman 2014): starting from faint noise, the *input* is changed by gradient ascent to
   excite one chosen neuron, ``x <- clip(x + eta * (da/dx - lambda * x), 0, 1)``, with
   ``da/dx`` from :func:`neurosim.rate.input_gradient`. The L2 term keeps the image small
   and the clip keeps pixels in their range [0, 1]. For an output neuron the quantity
   raised is its *logit* (the input of the softmax). Measured: the neuron's activation
   before and after (a rise of well over 10-fold).
3. **Memorisation** (Zhang et al. 2017, "Understanding deep learning requires rethinking
   generalization"): the same network trained on only 20 images (2 per class) for many epochs
   fits them perfectly and is far more confident on them than on unseen digits; the
   visualisations of its output neurons look like its own training images. Measured: the
   mean probability given to the true class on training vs unseen images, and the
   correlation of each class's visualisation with that class's training images vs the other
   classes' training images.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..data import load_dataset
from ..rate import Trainer, accuracy, activations, forward, input_gradient
from ..specs import Network
from .common import digits_mlp

__all__ = ["digits_spec", "logit_spec", "visualise", "run", "correlation",
           "VIS_STEPS", "VIS_LR", "VIS_L2", "VIS_START"]

#: Gradient-ascent settings: iterations, step size, L2 weight, amplitude of the start noise.
VIS_STEPS = 300
VIS_LR = 0.05
VIS_L2 = 1.0
VIS_START = 0.02


def digits_spec(*, hidden: int = 32, epochs: int = 40, seed: int = 0, batch_size: int = 32,
                learning_rate: float = 0.005, l2: float = 1e-4) -> Network:
    """The demo's digits classifier: 64 -> ``hidden`` ReLU -> 10 softmax, Adam."""
    return digits_mlp((hidden,), name="digits-what-it-sees", epochs=epochs, seed=seed,
                      batch_size=batch_size, learning_rate=learning_rate, l2=l2)


def logit_spec(spec: Network) -> Network:
    """The same network with an identity output: its last activations are the logits."""
    last = replace(spec.layers[-1], activation="identity")
    return replace(spec, layers=(*spec.layers[:-1], last))


def visualise(spec, params, layer_index: int, unit: int, rng, *, steps: int = VIS_STEPS,
              lr: float = VIS_LR, l2: float = VIS_L2, start: float = VIS_START):
    """Gradient ascent on the input to excite ``unit`` of layer ``layer_index``.

    Starts from ``start * U(0, 1)`` noise; returns ``(x, trace)`` with ``trace`` the unit's
    activation at each iteration (index 0: on the starting noise).
    """
    x = (start * rng.random((1, *spec.input_shape))).astype(np.float32)
    trace = []
    for _ in range(steps):
        trace.append(float(activations(spec, params, x)[layer_index].reshape(-1)[unit]))
        g = input_gradient(spec, params, x, layer_index, unit)
        x = np.clip(x + lr * (g - l2 * x), 0.0, 1.0).astype(np.float32)
    trace.append(float(activations(spec, params, x)[layer_index].reshape(-1)[unit]))
    return x[0], np.asarray(trace)


def correlation(a, b) -> float:
    """Pearson correlation of two images (flattened)."""
    a = np.ravel(a) - np.mean(a)
    b = np.ravel(b) - np.mean(b)
    den = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / den) if den > 0 else 0.0


def _true_class_probability(spec, params, x, y) -> np.ndarray:
    p = forward(spec, params, x)
    return p[np.arange(len(y)), y]


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Train the two networks, visualise what their neurons respond to, and plot."""
    from ..plot import teaching

    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    data = load_dataset("digits", seed=seed)

    # 1. a well-trained network and its first-layer weights
    spec = digits_spec(epochs=15 if quick else 40, seed=seed)
    params = Trainer(spec, progress=False).fit(data.x_train, data.y_train,
                                               data.x_test, data.y_test).params_
    test_acc = accuracy(spec, params, data.x_test, data.y_test)

    # 2. feature visualisation: hidden units and output logits
    steps = 150 if quick else VIS_STEPS
    hidden = spec.layers[0].units
    start_act = activations(spec, params, np.full((1, 64), VIS_START / 2, np.float32))[0][0]
    # hidden units that respond to faint noise at all (a silent ReLU has no gradient),
    # the eight with the largest weight norms among them
    alive = np.flatnonzero(start_act > 0)
    norms = np.linalg.norm(params[0]["W"], axis=1)
    chosen = alive[np.argsort(-norms[alive])][:8] if alive.size else np.arange(min(8, hidden))
    hidden_vis = [visualise(spec, params, 0, int(u), rng, steps=steps) for u in chosen]
    lspec = logit_spec(spec)
    out_vis = [visualise(lspec, params, 1, c, rng, steps=steps) for c in range(10)]
    rises = np.array([t[-1] / t[0] if t[0] > 0 else np.inf for _, t in hidden_vis])
    probs_vis = forward(spec, params, np.stack([x for x, _ in out_vis]))
    vis_class_prob = probs_vis[np.arange(10), np.arange(10)]

    # 3. memorisation: 2 training images per class, many epochs
    per_class = 2
    idx = np.concatenate([np.flatnonzero(data.y_train == c)[:per_class] for c in range(10)])
    x_small, y_small = data.x_train[idx], data.y_train[idx]
    mspec = digits_spec(epochs=300 if quick else 600, seed=seed, batch_size=len(idx),
                        learning_rate=0.01, l2=0.0)
    mparams = Trainer(mspec, progress=False).fit(x_small, y_small, x_small, y_small).params_
    conf_train = _true_class_probability(mspec, mparams, x_small, y_small)
    conf_test = _true_class_probability(mspec, mparams, data.x_test, data.y_test)
    mem_train_acc = accuracy(mspec, mparams, x_small, y_small)
    mem_test_acc = accuracy(mspec, mparams, data.x_test, data.y_test)
    mem_vis = [visualise(logit_spec(mspec), mparams, 1, c, rng, steps=steps)
               for c in range(10)]
    r_own = np.array([np.mean([correlation(mem_vis[c][0], x) for x in x_small[y_small == c]])
                      for c in range(10)])
    r_other = np.array([np.mean([correlation(mem_vis[c][0], x)
                                 for x in x_small[y_small != c]]) for c in range(10)])
    # the same for the well-trained network's visualisations (its own class's training
    # images, averaged over all of them): a generalising net's ideal is less literal
    r_own_general = np.array([np.mean([correlation(out_vis[c][0], x) for x in
                                       data.x_train[data.y_train == c]]) for c in range(10)])

    figures = [
        teaching.first_layer_weights_figure(out / "what_it_sees_weights.png",
                                            params[0]["W"].reshape(-1, 8, 8), test_acc),
        teaching.feature_visualisation_figure(
            out / "what_it_sees_features.png",
            [x.reshape(8, 8) for x, _ in hidden_vis], [t for _, t in hidden_vis], chosen,
            [x.reshape(8, 8) for x, _ in out_vis], [t for _, t in out_vis], vis_class_prob),
        teaching.memorisation_figure(
            out / "what_it_sees_memorisation.png", x_small.reshape(-1, 8, 8), y_small,
            [x.reshape(8, 8) for x, _ in mem_vis], conf_train, conf_test, r_own, r_other,
            mem_train_acc, mem_test_acc),
    ]
    return {
        "test_accuracy": test_acc,
        "hidden_units_visualised": chosen.tolist(),
        "hidden_activation_start": [float(t[0]) for _, t in hidden_vis],
        "hidden_activation_end": [float(t[-1]) for _, t in hidden_vis],
        "hidden_min_rise_factor": float(rises.min()),
        "output_logit_start": [float(t[0]) for _, t in out_vis],
        "output_logit_end": [float(t[-1]) for _, t in out_vis],
        "output_vis_class_probability_mean": float(vis_class_prob.mean()),
        "memorised_train_images": int(len(idx)),
        "memorised_train_accuracy": mem_train_acc,
        "memorised_test_accuracy": mem_test_acc,
        "confidence_train_mean": float(conf_train.mean()),
        "confidence_unseen_mean": float(conf_test.mean()),
        "vis_corr_own_class_train": float(r_own.mean()),
        "vis_corr_other_class_train": float(r_other.mean()),
        "general_net_vis_corr_own_class_train": float(r_own_general.mean()),
        "figures": [str(f) for f in figures],
    }
