"""Layer specs: what each layer of a layered network is, without any weights or state.

Shapes: a flat layer has shape ``(n,)``; an image-like layer has shape ``(C, H, W)``
(channels first). Every layer infers its output shape from its input shape and raises
``ValueError`` naming the field when the two do not fit; :class:`~neurosim.specs.network.Network`
adds the file and layer index to the message.

Output size of a convolution or pooling along one axis (floor division, as in PyTorch):
``out = (in + 2 * padding - kernel) // stride + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..neurons.base import NeuronModel
from .activations import ACTIVATIONS, QCFS_LEVELS

#: The activation of a layer that names a neuron model: that model's rate function (Hz).
RATE = "rate"

__all__ = ["Layer", "Dense", "Conv2D", "AvgPool2D", "MaxPool2D", "Flatten", "Dropout",
           "Rnn", "Lstm", "RecurrentLIF", "LAYER_KINDS", "Shape", "RNN_NONLINEARITIES"]

Shape = tuple[int, ...]


def _positive_int(value, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{field}: must be a positive integer, got {value!r}")


def _pair(value, field: str) -> tuple[int, int]:
    """Accept ``k`` or ``(kh, kw)``; return ``(kh, kw)``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{field}: must be an integer or a pair of integers, got {value!r}")
        pair = (value[0], value[1])
    else:
        pair = (value, value)
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{field}: must be an integer or a pair of integers, got {value!r}")
    return pair  # type: ignore[return-value]


def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS and name != RATE:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"activation: unknown activation {name!r} (known: {known})")


def _check_neuron(layer) -> None:
    """A layer names either a classic activation or a neuron model; with a model its
    activation is that model's rate function (``activation = "rate"``)."""
    if layer.neuron is None:
        if layer.activation == RATE:
            raise ValueError("activation: rate is the rate function of a neuron model; name "
                             "one (neuron = \"lif\" or a table)")
        return
    if not isinstance(layer.neuron, NeuronModel):
        raise ValueError(f"neuron: must be a neuron model, got {layer.neuron!r}")
    if layer.activation not in ("identity", RATE):
        raise ValueError(f"activation: a layer with a neuron model uses that model's rate "
                         f"function; leave activation out (got {layer.activation!r})")
    if not layer.neuron.has_rate:
        raise ValueError(f"neuron: {layer.neuron.kind} has no closed-form rate function, so "
                         "the classic mode cannot train it as a layer")
    object.__setattr__(layer, "activation", RATE)


def _check_levels(layer) -> None:
    """``levels`` (``L``) belongs to the ``qcfs`` activation: default
    :data:`~neurosim.specs.activations.QCFS_LEVELS` there, refused elsewhere."""
    if layer.activation != "qcfs":
        if layer.levels is not None:
            raise ValueError(f"levels: only the qcfs activation has levels (activation is "
                             f"{layer.activation!r})")
        return
    if layer.levels is None:
        object.__setattr__(layer, "levels", QCFS_LEVELS)
    _positive_int(layer.levels, "levels")


def _activation_params(layer) -> dict[str, Shape]:
    """Learned parameters of the activation itself: a ``qcfs`` layer's clip ``lambda``."""
    return {"clip": (1,)} if layer.activation == "qcfs" else {}


def _window_out(shape: Shape, kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int], what: str) -> tuple[int, int]:
    if len(shape) != 3:
        raise ValueError(f"input shape {shape} is not an image (C, H, W); {what} needs one")
    _, h, w = shape
    oh = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    ow = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    if oh <= 0 or ow <= 0:
        raise ValueError(f"kernel_size: window {kernel} does not fit input {h}x{w} "
                         f"with padding {padding}")
    return oh, ow


@dataclass(frozen=True, kw_only=True)
class Layer:
    """Base of all layer specs. ``kind`` is the name used in model files."""

    kind: ClassVar[str] = ""

    def output_shape(self, input_shape: Shape) -> Shape:
        raise NotImplementedError

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """Shapes of the learned parameters (empty for layers without any)."""
        return {}

    def macs(self, input_shape: Shape) -> int:
        """Multiply-accumulates of one classic pass of one sample through this layer (the
        definition of :mod:`neurosim.monitor.opcounts`; activation functions not counted). 0
        for layers that compute nothing (flatten, dropout)."""
        return 0

    def initial_bias(self, shape: Shape) -> np.ndarray:
        """The bias a fresh network starts from (float64): zeros, except where a layer kind
        says otherwise (the LSTM's forget gate)."""
        return np.zeros(shape)

    @property
    def activation_name(self) -> str | None:
        return getattr(self, "activation", None)

    @property
    def spiking_neuron(self) -> NeuronModel | None:
        """The neuron model this layer runs as when it spikes: its ``neuron``, else its
        activation's spiking twin (``relu``: IF, ``lif``: the LIF of LIF layers), else
        ``None``."""
        neuron = getattr(self, "neuron", None)
        if neuron is not None:
            return neuron
        act = self.activation_name
        return ACTIVATIONS[act].twin if act in ACTIVATIONS else None


@dataclass(frozen=True, kw_only=True)
class Dense(Layer):
    """Fully connected: ``a = f(W x + b)``, ``W`` of shape ``(units, n_in)``.

    ``f`` is the ``activation``, or, when the layer names a ``neuron`` model (the registry of
    :mod:`neurosim.neurons`, as populations do), that model's rate function (Hz); spiking, the
    layer runs as that model. ``levels``: the ``L`` of a ``qcfs`` activation (whose clip is the
    learned parameter ``clip``). MACs per sample: ``n_in * units``.
    """

    kind: ClassVar[str] = "dense"
    units: int
    activation: str = "identity"
    use_bias: bool = True
    neuron: NeuronModel | None = None
    levels: int | None = None

    def __post_init__(self):
        _positive_int(self.units, "units")
        _check_activation(self.activation)
        _check_neuron(self)
        _check_levels(self)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1:
            raise ValueError(f"input shape {input_shape} is not flat; add a flatten layer before "
                             "this dense layer")
        return (self.units,)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        shapes = {"W": (self.units, input_shape[0])}
        if self.use_bias:
            shapes["b"] = (self.units,)
        return shapes | _activation_params(self)

    def macs(self, input_shape: Shape) -> int:
        """``n_in * units``: one MAC per weight."""
        self.output_shape(input_shape)  # refuses an input that is not flat
        return int(input_shape[0] * self.units)


@dataclass(frozen=True, kw_only=True)
class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every DL library), channels first.

    ``y[o, i, j] = f(b[o] + sum_{c, u, v} W[o, c, u, v] * x_pad[c, i*s + u, j*s + v])``;
    ``f`` as for :class:`Dense` (an activation, or a neuron model's rate function).
    MACs per sample: ``C_in * kh * kw * C_out * H_out * W_out``.
    """

    kind: ClassVar[str] = "conv2d"
    filters: int
    kernel_size: int | tuple[int, int] = 3
    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] = 0
    activation: str = "identity"
    use_bias: bool = True
    neuron: NeuronModel | None = None
    levels: int | None = None

    def __post_init__(self):
        _positive_int(self.filters, "filters")
        object.__setattr__(self, "kernel_size", _pair(self.kernel_size, "kernel_size"))
        object.__setattr__(self, "stride", _pair(self.stride, "stride"))
        object.__setattr__(self, "padding", _pair(self.padding, "padding"))
        for name in ("kernel_size", "stride"):
            if min(getattr(self, name)) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if min(self.padding) < 0:
            raise ValueError(f"padding: must be >= 0, got {self.padding}")
        _check_activation(self.activation)
        _check_neuron(self)
        _check_levels(self)

    def output_shape(self, input_shape: Shape) -> Shape:
        oh, ow = _window_out(input_shape, self.kernel_size, self.stride, self.padding, "conv2d")
        return (self.filters, oh, ow)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        shapes = {"W": (self.filters, input_shape[0], *self.kernel_size)}
        if self.use_bias:
            shapes["b"] = (self.filters,)
        return shapes | _activation_params(self)

    def macs(self, input_shape: Shape) -> int:
        """``C_in kh kw C_out H_out W_out``: one MAC per weight tap of every output, padding
        taps included."""
        c_out, h_out, w_out = self.output_shape(input_shape)
        kh, kw = self.kernel_size
        return int(input_shape[0] * kh * kw * c_out * h_out * w_out)


@dataclass(frozen=True, kw_only=True)
class _Pool2D(Layer):
    pool_size: int | tuple[int, int] = 2
    stride: int | tuple[int, int] | None = None  # None: equal to pool_size

    def __post_init__(self):
        object.__setattr__(self, "pool_size", _pair(self.pool_size, "pool_size"))
        stride = self.pool_size if self.stride is None else _pair(self.stride, "stride")
        object.__setattr__(self, "stride", stride)
        if min(self.pool_size) <= 0 or min(self.stride) <= 0:
            raise ValueError(f"pool_size/stride: must be positive, got {self.pool_size}, "
                             f"{self.stride}")

    def output_shape(self, input_shape: Shape) -> Shape:
        oh, ow = _window_out(input_shape, self.pool_size, self.stride, (0, 0), self.kind)
        return (input_shape[0], oh, ow)

    def macs(self, input_shape: Shape) -> int:
        """``kh kw C H_out W_out``: one operation per window input of every output (an
        accumulate for average pooling, a comparison for max pooling)."""
        c, h_out, w_out = self.output_shape(input_shape)
        kh, kw = self.pool_size
        return int(kh * kw * c * h_out * w_out)


@dataclass(frozen=True, kw_only=True)
class AvgPool2D(_Pool2D):
    """Average pooling over ``pool_size`` windows: a linear layer with fixed weights 1/(kh*kw)."""

    kind: ClassVar[str] = "avgpool2d"


@dataclass(frozen=True, kw_only=True)
class MaxPool2D(_Pool2D):
    """Max pooling over ``pool_size`` windows (no spiking twin: use avgpool2d to spike)."""

    kind: ClassVar[str] = "maxpool2d"


@dataclass(frozen=True, kw_only=True)
class Flatten(Layer):
    """Reshape ``(C, H, W)`` to ``(C*H*W,)`` in C order (channel-major)."""

    kind: ClassVar[str] = "flatten"

    def output_shape(self, input_shape: Shape) -> Shape:
        n = 1
        for s in input_shape:
            n *= s
        return (n,)


@dataclass(frozen=True, kw_only=True)
class Dropout(Layer):
    """Inverted dropout during training (keep with probability ``1 - rate``, scale by
    ``1 / (1 - rate)``); the identity at inference and in spiking mode."""

    kind: ClassVar[str] = "dropout"
    rate: float = 0.5

    def __post_init__(self):
        if isinstance(self.rate, bool) or not isinstance(self.rate, (int, float)) \
                or not 0.0 <= self.rate < 1.0:
            raise ValueError(f"rate: must be in [0, 1), got {self.rate!r}")

    def output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


#: The nonlinearities of an Elman RNN layer: ``tanh`` (the classic one) and ``relu`` (the one
#: that converts to a recurrent integrate-and-fire layer).
RNN_NONLINEARITIES = ("tanh", "relu")


def _sequence(input_shape: Shape, kind: str) -> tuple[int, int]:
    if len(input_shape) != 2:
        raise ValueError(f"input shape {input_shape} is not a sequence (steps, features); "
                         f"{kind} needs one (input_shape = [T, F], or a layer before it with "
                         "return_sequences = true)")
    return int(input_shape[0]), int(input_shape[1])


@dataclass(frozen=True, kw_only=True)
class _Recurrent(Layer):
    """Base of the recurrent layers: a sequence ``(T, F)`` in, the last hidden state
    ``(units,)`` out, or every hidden state ``(T, units)`` with ``return_sequences``. The
    hidden state starts at zero for every sample. The nonlinearity acts inside the recurrence,
    so the layer has no activation of its own (``activation_name`` is ``None``)."""

    units: int
    return_sequences: bool = False
    use_bias: bool = True
    #: Number of gate blocks of ``units`` rows in ``W``, ``U`` and ``b``.
    gates: ClassVar[int] = 1

    def __post_init__(self):
        _positive_int(self.units, "units")

    def output_shape(self, input_shape: Shape) -> Shape:
        steps, _ = _sequence(input_shape, self.kind)
        return (steps, self.units) if self.return_sequences else (self.units,)

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        _, features = _sequence(input_shape, self.kind)
        rows = self.gates * self.units
        shapes = {"W": (rows, features), "U": (rows, self.units)}
        if self.use_bias:
            shapes["b"] = (rows,)
        return shapes

    def macs_per_step(self, input_shape: Shape) -> int:
        """``gates * units * (F + units)``: the input and the recurrent matrix products of one
        step of one sample."""
        _, features = _sequence(input_shape, self.kind)
        return int(self.gates * self.units * (features + self.units))

    def macs(self, input_shape: Shape) -> int:
        """``T * macs_per_step``: every step of the sequence (the first step's recurrent
        product multiplies the zero initial state and is counted too, as every library
        does)."""
        steps, _ = _sequence(input_shape, self.kind)
        return steps * self.macs_per_step(input_shape)


@dataclass(frozen=True, kw_only=True)
class Rnn(_Recurrent):
    """Elman recurrent layer: ``h_t = f(W x_t + U h_{t-1} + b)``, ``h_0 = 0``, ``f`` the
    ``nonlinearity`` (``tanh`` or ``relu``). ``W (units, F)``, ``U (units, units)``.
    MACs per step and sample: ``units * (F + units)``."""

    kind: ClassVar[str] = "rnn"
    nonlinearity: str = "tanh"

    def __post_init__(self):
        super().__post_init__()
        if self.nonlinearity not in RNN_NONLINEARITIES:
            raise ValueError(f"nonlinearity: must be one of {', '.join(RNN_NONLINEARITIES)}, "
                             f"got {self.nonlinearity!r}")


@dataclass(frozen=True, kw_only=True)
class Lstm(_Recurrent):
    """Long short-term memory layer (Hochreiter & Schmidhuber 1997, with the forget gate of
    Gers et al. 2000), gates stacked in the order input, forget, cell, output::

        [i, f, g, o] = [sig, sig, tanh, sig](W x_t + U h_{t-1} + b)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0

    ``W (4 units, F)``, ``U (4 units, units)``, ``b (4 units,)``; the forget gate's bias starts
    at ``forget_bias`` (1, Jozefowicz et al. 2015) so that the cell remembers from the start.
    MACs per step and sample: ``4 units (F + units)``."""

    kind: ClassVar[str] = "lstm"
    gates: ClassVar[int] = 4
    forget_bias: float = 1.0

    def initial_bias(self, shape: Shape) -> np.ndarray:
        b = np.zeros(shape)
        b[self.units:2 * self.units] = self.forget_bias
        return b


@dataclass(frozen=True, kw_only=True)
class RecurrentLIF(_Recurrent):
    """A recurrent layer of spiking LIF neurons, with adaptive thresholds when ``adaptation``
    is not 0 (the ALIF units of LSNNs, Bellec et al. 2018). One step of ``dt`` ms per step of
    the sequence (or ``hold`` steps per row, :mod:`neurosim.bptt.recurrent`); per neuron
    ``j``::

        I_j[t] = sum_i W_ji x_i[t] + sum_k U_jk z_k[t-1] + b_j      (z[-1] = 0: delay 1)
        B_j[t] = rho B_j[t-1] + (1 - rho) z_j[t-1],   A_j[t] = v_th + beta B_j[t]
        u_j[t] = alpha v_j[t-1] + I_j[t],   z_j[t] = H(u_j[t] - A_j[t])
        v_j[t] = u_j[t] - A_j[t] z_j[t]                              (reset by subtraction)

    with ``alpha = exp(-dt / tau_m)`` (1 when ``tau_m = inf``: the IF neuron),
    ``rho = exp(-dt / tau_adapt)``, ``beta = adaptation``; ``I`` is the potential added per
    step (the input gain of deep-learning frameworks, ``v <- alpha v + I``), potentials in
    units of the threshold. ``tau_m``, ``tau_adapt`` in ms. The recurrent weights ``U`` form a
    projection of delay one step (the spikes of step ``t - 1`` reach step ``t``). It has no
    classic twin of its own: it is trained directly as spiking neurons (``mode = "spiking"``);
    the classic ``rnn`` of the same size is its classic counterpart. ``W (units, F)``,
    ``U (units, units)``; operations per step and sample: ``units F`` MACs (analog input) and
    ``units`` SOPs per recurrent spike."""

    kind: ClassVar[str] = "rlif"
    tau_m: float = 20.0
    v_th: float = 1.0
    adaptation: float = 0.0
    tau_adapt: float = 200.0

    def __post_init__(self):
        super().__post_init__()
        for name in ("tau_m", "v_th", "tau_adapt"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not value > 0 or value != value:
                raise ValueError(f"{name}: must be a positive number, got {value!r}")
        a = self.adaptation
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 <= a < float("inf"):
            raise ValueError(f"adaptation: must be a finite number >= 0, got {a!r}")
        if self.return_sequences:
            raise ValueError("return_sequences: an rlif layer is read out by the layer after "
                             "it at every step; leave return_sequences out")

    def decays(self, dt: float) -> tuple[float, float]:
        """``(alpha, rho)`` for a step of ``dt`` ms (module equations)."""
        return float(np.exp(-dt / self.tau_m)), float(np.exp(-dt / self.tau_adapt))


LAYER_KINDS: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Dense, Conv2D, AvgPool2D, MaxPool2D, Flatten, Dropout, Rnn, Lstm,
                              RecurrentLIF)
}
