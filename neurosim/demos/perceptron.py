"""From threshold logic to backprop: McCulloch-Pitts, Rosenblatt's perceptron, and XOR.

1. McCulloch & Pitts (1943): a unit with binary inputs, unit weights and a threshold fires
   iff ``sum_i w_i x_i >= theta``: AND is ``theta = 2``, OR is ``theta = 1`` (two inputs).
   The unit is :class:`neurosim.specs.neurons.McCullochPitts`.
2. Rosenblatt (1958): the perceptron ``y = step(w . x + b)`` learns its weights from
   examples by ``w <- w + eta (t - y) x``, ``b <- b + eta (t - y)``. It converges on any
   linearly separable problem (AND, OR) and never on XOR, which no single line separates
   (Minsky & Papert 1969): at most 3 of the 4 XOR points are ever right (accuracy <= 75%).
3. Rumelhart, Hinton & Williams (1986): one hidden layer trained by backpropagation solves
   XOR (100%). The network is a neurosim spec built in Python (dense tanh hidden layer,
   softmax output) trained by :class:`neurosim.rate.Trainer`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..rate import Trainer, accuracy, forward
from ..specs import Dense, Init, Network, Training
from ..specs.neurons import McCullochPitts

__all__ = ["INPUTS", "TARGETS", "mcculloch_pitts", "perceptron_fit", "xor_spec", "run"]

#: The four binary input pairs and the targets of the three logic functions.
INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
TARGETS = {"AND": np.array([0, 0, 0, 1]), "OR": np.array([0, 1, 1, 1]),
           "XOR": np.array([0, 1, 1, 0])}
#: Thresholds of the McCulloch-Pitts units with weights (1, 1).
MP_THRESHOLDS = {"AND": 2.0, "OR": 1.0}


def mcculloch_pitts(unit: McCullochPitts, x, weights=None) -> np.ndarray:
    """Output (0/1) of a McCulloch-Pitts unit: ``1`` iff ``sum_i w_i x_i >= theta``."""
    x = np.asarray(x, dtype=np.float64)
    w = np.ones(x.shape[-1]) if weights is None else np.asarray(weights, dtype=np.float64)
    return (x @ w >= unit.theta).astype(np.int64)


def perceptron_fit(x, t, *, epochs: int = 20, eta: float = 0.2, rng=None):
    """Rosenblatt's perceptron rule, one example at a time, from zero weights or, when
    ``rng`` is given, small random ones (uniform in [-0.5, 0.5]) and a shuffled order per
    epoch.

    Output ``y = 1 if w . x + b > 0 else 0``. Returns ``(w, b, history)`` with ``history`` the
    accuracy on ``(x, t)`` after each epoch (index 0: before training).
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t)
    w, b = np.zeros(x.shape[1]), 0.0
    if rng is not None:
        w, b = rng.uniform(-0.5, 0.5, size=x.shape[1]), float(rng.uniform(-0.5, 0.5))

    def acc():
        return float(np.mean(((x @ w + b) > 0).astype(int) == t))

    history = [acc()]
    for _ in range(epochs):
        order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
        for i in order:
            y = int(x[i] @ w + b > 0)
            w = w + eta * (t[i] - y) * x[i]
            b = b + eta * (t[i] - y)
        history.append(acc())
    return w, b, np.asarray(history)


def xor_spec(hidden: int = 4, *, seed: int = 0, epochs: int = 400) -> Network:
    """The two-layer XOR network: ``hidden`` tanh units, 2 softmax outputs, Adam."""
    return Network(
        name="xor-mlp", input_shape=(2,),
        layers=(Dense(units=hidden, activation="tanh"), Dense(units=2, activation="softmax")),
        init=Init(weights="glorot", seed=seed),
        training=Training(optimizer="adam", learning_rate=0.05, batch_size=4, epochs=epochs,
                          validation_fraction=0.0, seed=seed))


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Truth tables, perceptron learning on AND/OR/XOR, and backprop on XOR."""
    from ..plot import teaching

    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    mp = {name: mcculloch_pitts(McCullochPitts(theta=theta), INPUTS)
          for name, theta in MP_THRESHOLDS.items()}
    epochs = 20
    rosenblatt = {name: perceptron_fit(INPUTS, t, epochs=epochs, rng=rng)
                  for name, t in TARGETS.items()}

    spec = xor_spec(seed=seed, epochs=200 if quick else 400)
    x = INPUTS.astype(np.float32)
    y = TARGETS["XOR"]
    trainer = Trainer(spec, progress=False).fit(x, y, x_val=x, y_val=y)
    xor_acc = accuracy(spec, trainer.params_, x, y)
    grid = np.linspace(-0.5, 1.5, 121)
    gx, gy = np.meshgrid(grid, grid)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    p1 = forward(spec, trainer.params_, pts)[:, 1].reshape(gx.shape)

    figures = [
        teaching.perceptron_figure(out / "perceptron.png", INPUTS, TARGETS, MP_THRESHOLDS, mp,
                                   rosenblatt),
        teaching.xor_backprop_figure(out / "xor_backprop.png", INPUTS, y, grid, p1,
                                     trainer.history_, xor_acc, spec.layers[0].units),
    ]
    result = {f"mp_{k.lower()}_outputs": v.tolist() for k, v in mp.items()}
    for name, (w, b, hist) in rosenblatt.items():
        result[f"perceptron_{name.lower()}_final_accuracy"] = float(hist[-1])
        result[f"perceptron_{name.lower()}_best_accuracy"] = float(hist.max())
        result[f"perceptron_{name.lower()}_weights_bias"] = [*np.round(w, 3).tolist(),
                                                             round(float(b), 3)]
    result.update({
        "mlp_xor_accuracy": xor_acc,
        "mlp_xor_final_loss": float(trainer.history_["loss"][-1]),
        "mlp_xor_epochs": len(trainer.history_["loss"]),
        "figures": [str(f) for f in figures],
    })
    return result
