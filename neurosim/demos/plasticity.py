"""Plasticity: receptive fields that emerge under STDP, next to backprop-trained weights.

1. **STDP without labels** (Diehl & Cook 2015; :mod:`neurosim.learning.wta`): a Poisson
   image drives excitatory LIF neurons with adaptive thresholds that inhibit each other
   through their inhibitory partners; the winner's input synapses are changed by the triplet
   rule, so each neuron's weights drift towards the images it wins: prototypes of digits
   emerge, without any label.
2. **Backprop** of a network with a hidden layer of the *same size* (784 inputs, as many
   ReLU units as excitatory neurons, 10 softmax outputs) on the same images, with labels:
   its first-layer weights are tuned to what separates classes, so they look like strokes
   and contrasts, not like digits.

Measured: the test accuracy of both (the STDP network read out by labelling each neuron with
the class it answers most); how much each weight image resembles a digit, as the correlation
of each neuron's weights with the closest class-mean training image (mean over neurons), for
the STDP weights before and after learning and the backprop weights. Data: the MNIST test
split folder (first images to learn, last 2,000 to test).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import load_dataset
from ..learning.wta import WtaLearner, label_neurons, predict_labels
from ..rate import Trainer, accuracy
from ..specs import Dense, Init, Network, Training
from ..specs.plasticity import WtaModel, WtaNeurons, WtaTraining

__all__ = ["run", "best_class_correlation", "SIZES"]

#: (excitatory neurons, learning images, test images) in full and quick mode.
SIZES = {False: (100, 2000, 2000), True: (36, 400, 500)}


def best_class_correlation(w: np.ndarray, class_means: np.ndarray) -> float:
    """Mean over neurons (columns of ``w``) of the highest Pearson correlation of the
    neuron's weights with one of the class-mean images (rows of ``class_means``)."""
    a = (w - w.mean(axis=0)) / (w.std(axis=0) + 1e-12)
    b = (class_means - class_means.mean(axis=1, keepdims=True)) / \
        (class_means.std(axis=1, keepdims=True) + 1e-12)
    corr = b @ a / w.shape[0]
    return float(corr.max(axis=0).mean())


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    from ..plot.receptive_fields import draw_fields
    from ..plot.teaching import plt, save

    out = Path(out_dir)
    n_exc, n_learn, n_test = SIZES[quick]
    ds = load_dataset("mnist", flat=True)
    x, y = ds.x_train[:n_learn], ds.y_train[:n_learn]
    xt, yt = ds.x_test[:n_test], ds.y_test[:n_test]
    class_means = np.stack([x[y == k].mean(axis=0) for k in range(10)])

    model = WtaModel(name="plasticity", network=WtaNeurons(n_exc=n_exc),
                     training=WtaTraining(images=n_learn, seed=seed))
    learner = WtaLearner(model, progress=False)
    w0 = learner._fresh()[1]
    learner.fit(x)
    labels, _ = label_neurons(learner.responses(x, progress=False), y)
    stdp_acc = float(np.mean(predict_labels(learner.responses(xt, seed=seed + 2,
                                                              progress=False), labels) == yt))

    spec = Network(name="plasticity-backprop", input_shape=(784,),
                   layers=(Dense(units=n_exc, activation="relu"),
                           Dense(units=10, activation="softmax")),
                   init=Init(weights="he", seed=seed),
                   training=Training(optimizer="adam", learning_rate=1e-3, batch_size=32,
                                     epochs=10 if quick else 20, validation_fraction=0.0,
                                     seed=seed))
    bp = Trainer(spec, progress=False).fit(x, y)
    bp_acc = accuracy(spec, bp.params_, xt, yt)
    w_bp = bp.params_[0]["W"].T.astype(np.float64)  # (784, n_exc)

    fig, axes = plt.subplots(1, 2, figsize=(12, 6.4))
    draw_fields(axes[0], learner.w_, (28, 28), labels,
                f"STDP, no labels ({n_learn} images): test accuracy {100 * stdp_acc:.1f}%")
    draw_fields(axes[1], w_bp, (28, 28), None,
                f"backprop, labels (same size, same images): {100 * bp_acc:.1f}%")
    fig.suptitle(f"{n_exc} neurons' input weights as 28x28 images")
    figures = [save(fig, out / "plasticity_fields.png")]
    return {
        "excitatory_neurons": n_exc,
        "learning_images": n_learn,
        "test_images": int(len(xt)),
        "stdp_test_accuracy": stdp_acc,
        "backprop_test_accuracy": float(bp_acc),
        "digit_likeness_stdp_before": best_class_correlation(w0, class_means),
        "digit_likeness_stdp_after": best_class_correlation(learner.w_, class_means),
        "digit_likeness_backprop": best_class_correlation(w_bp, class_means),
        "classes_with_neurons": int(np.unique(labels).size),
        "figures": [str(f) for f in figures],
    }

