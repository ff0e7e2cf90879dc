"""Optimizers: in-place parameter updates with their state kept as arrays.

One class per optimizer, found through the registry :data:`OPTIMIZERS` under the name model
files use (``[training] optimizer = "adam"``). An optimizer works on a flat list of parameter
arrays ``w_i`` and their gradients ``g_i``; its state is a dict of lists of arrays of the same
shapes (the names in its ``STATE_NAMES``) plus the step counter ``t``, so that a checkpoint can
store it without pickling. With learning rate ``lr`` (which the schedule may change every
epoch):

- :class:`SGD` (``sgd``): ``w -= lr g``.
- :class:`Momentum` (``momentum``, classical, Polyak 1964): ``v = mu v - lr g``; ``w += v``.
- :class:`Nesterov` (``nesterov``, Sutskever et al. 2013, in the form of Bengio et al. 2013):
  ``v' = mu v - lr g``; ``w += -mu v + (1 + mu) v'``; ``v = v'``.
- :class:`AdaGrad` (``adagrad``, Duchi et al. 2011): ``G += g^2``;
  ``w -= lr g / (sqrt(G) + eps)``.
- :class:`RMSprop` (``rmsprop``, Tieleman & Hinton 2012): ``E = rho E + (1 - rho) g^2``;
  ``w -= lr g / (sqrt(E) + eps)``.
- :class:`Adam` (``adam``, Kingma & Ba 2015): ``m = b1 m + (1 - b1) g``;
  ``v = b2 v + (1 - b2) g^2``; ``w -= lr m_hat / (sqrt(v_hat) + eps)`` with
  ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.

The arithmetic runs in the parameters' dtype (float32 in training); the updates use the
gradient arrays as scratch space (a step clobbers them).
"""

from __future__ import annotations

import inspect
from typing import ClassVar

import numpy as np

from ..errors import SpecError

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam",
           "OPTIMIZERS", "register", "get_optimizer", "make_optimizer"]


class Optimizer:
    """Base of the optimizers: ``step(weights, grads, lr)`` updates in place.

    ``state`` maps each of ``STATE_NAMES`` to a list of arrays, one per parameter array
    (zeros at the start); ``t`` counts steps (Adam's bias correction). A subclass's
    constructor takes ``weights`` and its hyper-parameters as keyword-only arguments named as
    the :class:`~neurosim.specs.network.Training` fields they come from (see
    :meth:`from_training`), and its :meth:`update` is the rule.
    """

    name: ClassVar[str] = ""
    #: The state arrays this optimizer keeps (one per parameter array, same shape).
    STATE_NAMES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, weights: list[np.ndarray]):
        self.state = {k: [np.zeros_like(w) for w in weights] for k in self.STATE_NAMES}
        self.t = 0

    @classmethod
    def from_training(cls, training, weights: list[np.ndarray]) -> Optimizer:
        """This optimizer with the hyper-parameters of a ``Training`` spec: each keyword-only
        parameter of the constructor read from the ``Training`` field of that name."""
        names = [p.name for p in inspect.signature(cls).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY]
        return cls(weights, **{k: getattr(training, k) for k in names})

    def step(self, weights: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        """One update of every ``weights[i]`` (in place) from ``grads[i]`` (may be clobbered)."""
        self.t += 1
        self.update(weights, grads, lr, weights[0].dtype.type)

    def update(self, weights: list[np.ndarray], grads: list[np.ndarray], lr: float,
               real: type) -> None:
        """The rule of step ``self.t`` (already counted), in the scalar type ``real`` of the
        parameters."""
        raise NotImplementedError

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


#: The optimizers by model-file name, in the order of ``neurosim.specs.network.OPTIMIZERS``.
OPTIMIZERS: dict[str, type[Optimizer]] = {}


def register(cls: type[Optimizer]) -> type[Optimizer]:
    """Add an optimizer class to :data:`OPTIMIZERS` under its ``name`` (usable as a
    decorator)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__}: an optimizer needs a name")
    OPTIMIZERS[cls.name] = cls
    return cls


@register
class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr g``. No state."""

    name: ClassVar[str] = "sgd"

    def update(self, weights, grads, lr, real):
        lr_ = real(lr)
        for w, g in zip(weights, grads):
            g *= lr_
            w -= g


@register
class Momentum(Optimizer):
    """Classical momentum (Polyak 1964): ``v = mu v - lr g``; ``w += v``
    (``mu = momentum``)."""

    name: ClassVar[str] = "momentum"
    STATE_NAMES: ClassVar[tuple[str, ...]] = ("v",)

    def __init__(self, weights: list[np.ndarray], *, momentum: float = 0.9):
        super().__init__(weights)
        self.momentum = momentum

    def update(self, weights, grads, lr, real):
        lr_, mu = real(lr), real(self.momentum)
        for w, g, v in zip(weights, grads, self.state["v"]):
            v *= mu
            g *= lr_
            v -= g
            w += v


@register
class Nesterov(Momentum):
    """Nesterov momentum (Sutskever et al. 2013, in the form of Bengio et al. 2013):
    ``v' = mu v - lr g``; ``w += -mu v + (1 + mu) v'``; ``v = v'`` (``mu = momentum``).
    The state and hyper-parameter of :class:`Momentum`, a look-ahead rule."""

    name: ClassVar[str] = "nesterov"

    def update(self, weights, grads, lr, real):
        lr_, mu = real(lr), real(self.momentum)
        for w, g, v in zip(weights, grads, self.state["v"]):
            w -= mu * v
            v *= mu
            g *= lr_
            v -= g
            w += real(1 + self.momentum) * v


@register
class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al. 2011): ``G += g^2``; ``w -= lr g / (sqrt(G) + eps)``."""

    name: ClassVar[str] = "adagrad"
    STATE_NAMES: ClassVar[tuple[str, ...]] = ("G",)

    def __init__(self, weights: list[np.ndarray], *, eps: float = 1e-8):
        super().__init__(weights)
        self.eps = eps

    def update(self, weights, grads, lr, real):
        lr_, eps = real(lr), real(self.eps)
        for w, g, acc in zip(weights, grads, self.state["G"]):
            acc += g * g
            g *= lr_
            g /= np.sqrt(acc) + eps
            w -= g


@register
class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012): ``E = rho E + (1 - rho) g^2``;
    ``w -= lr g / (sqrt(E) + eps)``."""

    name: ClassVar[str] = "rmsprop"
    STATE_NAMES: ClassVar[tuple[str, ...]] = ("E",)

    def __init__(self, weights: list[np.ndarray], *, rho: float = 0.9, eps: float = 1e-8):
        super().__init__(weights)
        self.rho, self.eps = rho, eps

    def update(self, weights, grads, lr, real):
        lr_, rho, eps = real(lr), real(self.rho), real(self.eps)
        for w, g, e in zip(weights, grads, self.state["E"]):
            e *= rho
            e += real(1 - self.rho) * (g * g)
            g *= lr_
            g /= np.sqrt(e) + eps
            w -= g


@register
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``w -= lr m_hat / (sqrt(v_hat) + eps)``, ``m_hat = m / (1 - b1^t)``,
    ``v_hat = v / (1 - b2^t)`` (``b1 = beta1``, ``b2 = beta2``).

    Computed as ``w -= lr' m / (sqrt(v) + eps')`` with ``lr' = lr sqrt(1 - b2^t) / (1 - b1^t)``
    and ``eps' = eps sqrt(1 - b2^t)``, the same quantity.
    """

    name: ClassVar[str] = "adam"
    STATE_NAMES: ClassVar[tuple[str, ...]] = ("m", "v")

    def __init__(self, weights: list[np.ndarray], *, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(weights)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def update(self, weights, grads, lr, real):
        b1, b2 = self.beta1, self.beta2
        # fold both bias corrections into the step size (one scalar, no extra arrays)
        step = real(lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t))
        eps_hat = real(self.eps * np.sqrt(1 - b2 ** self.t))
        for w, g, m, v in zip(weights, grads, self.state["m"], self.state["v"]):
            m *= real(b1)
            m += real(1 - b1) * g
            v *= real(b2)
            g *= g
            g *= real(1 - b2)
            v += g
            np.sqrt(v, out=g)
            g += eps_hat
            np.divide(m, g, out=g)
            g *= step
            w -= g


def get_optimizer(name: str) -> type[Optimizer]:
    """The optimizer class registered as ``name``; a :class:`SpecError` listing the known ones
    if none is."""
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise SpecError(f"optimizer: unknown {name!r} (known: {', '.join(OPTIMIZERS)})") \
            from None


def make_optimizer(training, weights: list[np.ndarray]) -> Optimizer:
    """The optimizer a :class:`~neurosim.specs.network.Training` spec asks for, with its
    hyper-parameters."""
    return get_optimizer(training.optimizer).from_training(training, weights)
