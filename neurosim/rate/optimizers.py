"""Optimizers: in-place parameter updates with their state kept as arrays.

An optimizer works on a flat list of parameter arrays ``w_i`` and their gradients ``g_i``; its
state is a dict of lists of arrays of the same shapes (plus the step counter ``t``), so that a
checkpoint can store it without pickling. With learning rate ``lr`` (which the schedule may
change every epoch):

- ``sgd``: ``w -= lr g``.
- ``momentum`` (classical, Polyak 1964): ``v = mu v - lr g``; ``w += v``.
- ``nesterov`` (Sutskever et al. 2013, in the form of Bengio et al. 2013):
  ``v' = mu v - lr g``; ``w += -mu v + (1 + mu) v'``; ``v = v'``.
- ``adagrad`` (Duchi et al. 2011): ``G += g^2``; ``w -= lr g / (sqrt(G) + eps)``.
- ``rmsprop`` (Tieleman & Hinton 2012): ``E = rho E + (1 - rho) g^2``;
  ``w -= lr g / (sqrt(E) + eps)``.
- ``adam`` (Kingma & Ba 2015): ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
  ``w -= lr m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)``,
  ``v_hat = v / (1 - b2^t)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Optimizer", "make_optimizer", "STATE_NAMES"]

#: The state arrays each optimizer keeps (one per parameter array, same shape).
STATE_NAMES = {"sgd": (), "momentum": ("v",), "nesterov": ("v",), "adagrad": ("G",),
               "rmsprop": ("E",), "adam": ("m", "v")}


class Optimizer:
    """One optimizer of ``STATE_NAMES``: ``step(weights, grads, lr)`` updates in place.

    ``state`` maps each state name to a list of arrays (zeros at the start); ``t`` counts
    steps (Adam's bias correction).
    """

    def __init__(self, name: str, weights: list[np.ndarray], *, momentum=0.9, beta1=0.9,
                 beta2=0.999, rho=0.9, eps=1e-8):
        if name not in STATE_NAMES:
            raise ValueError(f"optimizer: unknown {name!r} (known: {', '.join(STATE_NAMES)})")
        self.name = name
        self.momentum, self.beta1, self.beta2, self.rho, self.eps = \
            momentum, beta1, beta2, rho, eps
        self.state = {k: [np.zeros_like(w) for w in weights] for k in STATE_NAMES[name]}
        self.t = 0

    def step(self, weights: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        """One update of every ``weights[i]`` (in place) from ``grads[i]`` (may be clobbered)."""
        self.t += 1
        dt = weights[0].dtype.type
        lr_ = dt(lr)
        if self.name == "sgd":
            for w, g in zip(weights, grads):
                g *= lr_
                w -= g
        elif self.name == "momentum":
            mu = dt(self.momentum)
            for w, g, v in zip(weights, grads, self.state["v"]):
                v *= mu
                g *= lr_
                v -= g
                w += v
        elif self.name == "nesterov":
            mu = dt(self.momentum)
            for w, g, v in zip(weights, grads, self.state["v"]):
                # w += -mu v + (1 + mu) v'   with   v' = mu v - lr g
                w -= mu * v
                v *= mu
                g *= lr_
                v -= g
                w += dt(1 + self.momentum) * v
        elif self.name == "adagrad":
            eps = dt(self.eps)
            for w, g, acc in zip(weights, grads, self.state["G"]):
                acc += g * g
                g *= lr_
                g /= np.sqrt(acc) + eps
                w -= g
        elif self.name == "rmsprop":
            rho, eps = dt(self.rho), dt(self.eps)
            for w, g, e in zip(weights, grads, self.state["E"]):
                e *= rho
                e += dt(1 - self.rho) * (g * g)
                g *= lr_
                g /= np.sqrt(e) + eps
                w -= g
        else:  # adam
            b1, b2 = self.beta1, self.beta2
            # fold both bias corrections into the step size (one scalar, no extra arrays)
            step = dt(lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t))
            eps_hat = dt(self.eps * np.sqrt(1 - b2 ** self.t))
            for w, g, m, v in zip(weights, grads, self.state["m"], self.state["v"]):
                m *= dt(b1)
                m += dt(1 - b1) * g
                v *= dt(b2)
                g *= g
                g *= dt(1 - b2)
                v += g
                np.sqrt(v, out=g)
                g += eps_hat
                np.divide(m, g, out=g)
                g *= step
                w -= g

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Flat ``{"t": ..., "v.3": ...}`` dict of arrays for a checkpoint."""
        out = {"t": np.array(self.t, dtype=np.int64)}
        for k, arrays in self.state.items():
            for i, a in enumerate(arrays):
                out[f"{k}.{i}"] = a
        return out

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`state_arrays` (shapes must match)."""
        self.t = int(arrays["t"])
        for k, lst in self.state.items():
            for i, a in enumerate(lst):
                a[...] = arrays[f"{k}.{i}"]


def make_optimizer(training, weights: list[np.ndarray]) -> Optimizer:
    """The optimizer a :class:`~neurosim.specs.network.Training` spec asks for."""
    return Optimizer(training.optimizer, weights, momentum=training.momentum,
                     beta1=training.beta1, beta2=training.beta2, rho=training.rho,
                     eps=training.eps)
