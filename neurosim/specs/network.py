"""The network spec: input shape, layers, initialisation, data and training settings.

A :class:`Network` is a frozen description. It holds no weights (see
:mod:`neurosim.builder.params`) and no state (see :mod:`neurosim.spike`). Shapes are inferred and
checked when it is created, so a spec that exists is a spec that fits together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SpecError, where
from .layers import Dense, Layer, Shape

__all__ = ["Init", "Training", "DataSettings", "Network", "MODES", "READOUTS", "RESET_GRADIENTS",
           "OPTIMIZERS", "LOSSES", "SCHEDULES", "INITS", "DATASETS", "SCALINGS"]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
LOSSES = ("cross_entropy", "mse")
SCHEDULES = ("constant", "step", "cosine")
INITS = ("he", "glorot")
DATASETS = ("digits", "mnist", "fashion-mnist", "kmnist", "mnist1d", "spike-timing", "npz")
SCALINGS = ("unit", "standard")
MODES = ("classic", "spiking")
READOUTS = ("membrane", "count")
RESET_GRADIENTS = ("detach", "keep")


def _check_choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"{name}: must be one of {', '.join(choices)}, got {value!r}")


def _check_number(value, name, *, low=None, high=None, integer=False, low_open=False):
    ok_type = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name}: must be {kind}, got {value!r}")
    if value != value:  # NaN
        raise ValueError(f"{name}: must not be NaN")
    if not integer and value in (float("inf"), float("-inf")):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if integer and not -2**63 <= value < 2**63:  # stored as int64 (checkpoints, seeds)
        raise ValueError(f"{name}: must fit a 64-bit integer, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name}: must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name}: must be <= {high}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Init:
    """Weight initialisation. Biases start at zero.

    - ``he``: ``W ~ N(0, 2 / fan_in)`` (He et al. 2015), for ReLU layers.
    - ``glorot``: ``W ~ U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio 2010).
    """

    weights: str = "he"
    seed: int = 0

    def __post_init__(self):
        _check_choice(self.weights, INITS, "weights")
        _check_number(self.seed, "seed", low=0, integer=True)


@dataclass(frozen=True, kw_only=True)
class Training:
    """How the classic mode trains the network.

    ``learning_rate`` is the initial step size; the ``step`` schedule multiplies it by ``gamma``
    every ``step_size`` epochs, the ``cosine`` schedule anneals it to
    ``lr * (1 + cos(pi * epoch / epochs)) / 2``. ``momentum`` serves the momentum and Nesterov
    optimizers, ``beta1``/``beta2`` Adam, ``rho`` RMSprop, ``eps`` AdaGrad, RMSprop and Adam.
    ``l1``/``l2`` add ``l1 * sum|W| + l2 / 2 * sum W^2`` over weights (not biases) to the loss.
    Early stopping ends training when the validation loss has not improved for ``patience``
    epochs (0: never) and restores the best parameters. ``clip_norm > 0`` clips the gradient
    by its global norm before each step (Pascanu et al. 2013): ``g <- g * min(1, clip_norm /
    ||g||_2)`` over all parameters at once (0: no clipping), what keeps backpropagation
    through time from exploding.
    """

    loss: str = "cross_entropy"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float = 0.9
    eps: float = 1e-8
    schedule: str = "constant"
    step_size: int = 10
    gamma: float = 0.1
    batch_size: int = 64
    epochs: int = 20
    l1: float = 0.0
    l2: float = 0.0
    patience: int = 0
    validation_fraction: float = 0.1
    clip_norm: float = 0.0
    seed: int = 0
    mode: str = "classic"
    timesteps: int = 8
    dt: float = 1.0
    surrogate: str = "fast_sigmoid"
    surrogate_slope: float = 0.0
    encoder: str = "current"
    readout: str = "membrane"
    reset_gradient: str = "detach"
    bptt_window: int = 0

    def __post_init__(self):
        _check_choice(self.loss, LOSSES, "loss")
        _check_choice(self.mode, MODES, "mode")
        _check_choice(self.readout, READOUTS, "readout")
        _check_choice(self.reset_gradient, RESET_GRADIENTS, "reset_gradient")
        _check_number(self.timesteps, "timesteps", low=1, integer=True)
        _check_number(self.dt, "dt", low=0.0, low_open=True)
        _check_number(self.surrogate_slope, "surrogate_slope", low=0.0)
        _check_number(self.bptt_window, "bptt_window", low=0, integer=True)
        _check_choice(self.optimizer, OPTIMIZERS, "optimizer")
        _check_choice(self.schedule, SCHEDULES, "schedule")
        _check_number(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        for name in ("momentum", "beta1", "beta2", "rho"):
            _check_number(getattr(self, name), name, low=0.0, high=1.0)
        _check_number(self.eps, "eps", low=0.0, low_open=True)
        _check_number(self.gamma, "gamma", low=0.0, low_open=True)
        _check_number(self.step_size, "step_size", low=1, integer=True)
        _check_number(self.batch_size, "batch_size", low=1, integer=True)
        _check_number(self.epochs, "epochs", low=0, integer=True)
        _check_number(self.l1, "l1", low=0.0)
        _check_number(self.l2, "l2", low=0.0)
        _check_number(self.clip_norm, "clip_norm", low=0.0)
        _check_number(self.patience, "patience", low=0, integer=True)
        _check_number(self.validation_fraction, "validation_fraction", low=0.0, high=0.9)
        _check_number(self.seed, "seed", low=0, integer=True)


@dataclass(frozen=True, kw_only=True)
class DataSettings:
    """Which data set a model is meant for, and how its inputs are scaled.

    ``unit`` scales pixel values to [0, 1] (digits: /16, IDX images: /255); ``standard``
    subtracts the training mean and divides by the training standard deviation per feature.
    """

    dataset: str = "digits"
    scaling: str = "unit"

    def __post_init__(self):
        _check_choice(self.dataset, DATASETS, "dataset")
        _check_choice(self.scaling, SCALINGS, "scaling")


@dataclass(frozen=True, kw_only=True)
class Network:
    """A layered network: ``input_shape`` then ``layers`` in order.

    ``source`` is the file the spec was read from (or ``None``); it is used only to name the
    file in error messages.
    """

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    init: Init = field(default_factory=Init)
    training: Training = field(default_factory=Training)
    data: DataSettings = field(default_factory=DataSettings)
    source: str | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.input_shape or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0
                                       for s in self.input_shape):
            raise SpecError(f"{where(self.source, field='input_shape')}: must be a non-empty "
                            f"list of positive integers, got {list(self.input_shape)}")
        if len(self.input_shape) not in (1, 2, 3):
            raise SpecError(f"{where(self.source, field='input_shape')}: must be (n,), "
                            f"(steps, features) or (channels, height, width), got "
                            f"{list(self.input_shape)}")
        if not self.layers:
            raise SpecError(f"{where(self.source, field='layers')}: a network needs at least "
                            "one layer")
        _ = self.shapes  # infer every shape now, so an impossible spec never exists
        last = self.layers[-1]
        if last.activation_name is None:
            raise SpecError(f"{where(self.source, len(self.layers) - 1, last.kind)}: the last "
                            "layer must be dense or conv2d (a layer with weights)")
        for i, layer in enumerate(self.layers[:-1]):
            if layer.activation_name == "softmax":
                raise SpecError(f"{where(self.source, i, layer.kind, 'activation')}: softmax is "
                                "allowed only in the output layer")

    @property
    def shapes(self) -> list[Shape]:
        """``[input_shape, shape after layer 0, shape after layer 1, ...]``."""
        shapes = [self.input_shape]
        for i, layer in enumerate(self.layers):
            try:
                shapes.append(tuple(layer.output_shape(shapes[-1])))
            except ValueError as err:
                raise SpecError(f"{where(self.source, i, layer.kind)}: {err}") from None
        return shapes

    @property
    def output_shape(self) -> Shape:
        return self.shapes[-1]

    @property
    def n_classes(self) -> int:
        return int(self.output_shape[0]) if isinstance(self.layers[-1], Dense) else 0

    def param_shapes(self) -> list[dict[str, Shape]]:
        """Per layer, the shapes of its learned parameters (``{}`` for parameter-free layers)."""
        shapes = self.shapes
        return [layer.param_shapes(shapes[i]) for i, layer in enumerate(self.layers)]
