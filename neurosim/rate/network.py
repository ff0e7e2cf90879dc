"""Forward and backward passes through a whole layered network in the classic (rate) mode.

Layer ``i`` computes ``z_i = op_i(a_{i-1})`` (:mod:`.layers`) and ``a_i = f_i(z_i)``
(:mod:`.activations`; layers without an activation pass ``z_i`` through). Backprop walks the
layers in reverse, each applying its activation's and its own local gradient.

Parameters and inputs share one dtype: that of the weights (float32 from
:func:`neurosim.builder.params.init_params`; float64 weights give a float64 pass, which the
gradient checks use).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, where
from ..specs.layers import RATE
from .activations import ACTIVATION_OPS, qcfs_backward, qcfs_forward
from .heap import keep_freed_memory
from .layers import LAYER_OPS
from .losses import LOSSES

__all__ = ["forward", "activations", "predict", "accuracy", "loss_and_grads", "input_gradient",
           "evaluate_loss"]

#: Samples per chunk when a whole data set goes through the network in inference mode
#: (bounds the memory of the convolution's column matrices).
INFERENCE_BATCH = 256


def _dtype(params):
    for p in params:
        if "W" in p:
            return p["W"].dtype
    return np.dtype(np.float32)


def _prepare(spec, params, x) -> np.ndarray:
    """``x`` as a C-contiguous batch ``(N, *spec.input_shape)`` of the parameters' dtype."""
    keep_freed_memory()  # every pass allocates large temporaries: see .heap
    x = np.asarray(x)
    shape = tuple(spec.input_shape)
    if x.ndim == 0 or tuple(x.shape[1:]) != shape:
        if x.ndim >= 1 and int(np.prod(x.shape[1:])) == int(np.prod(shape)):
            x = x.reshape(x.shape[0], *shape)  # e.g. flat images into a CNN
        else:
            got = tuple(x.shape[1:]) if x.ndim else ()
            raise DataError(f"{where(spec.source, field='input')}: samples of shape {shape} "
                            f"expected, got {got}")
    return np.ascontiguousarray(x, dtype=_dtype(params))


#: Relative step of the central difference that differentiates a neuron model's rate function
#: when the model gives no derivative of its own (``rate_derivative``).
RATE_FD_STEP = 1e-4


def _activate(layer, p, z):
    """``a = f(z)``: the layer's activation (a ``qcfs`` one with its clip from ``p``), or its
    neuron model's rate function (Hz)."""
    act = layer.activation_name
    if act is None:
        return z
    if act == "qcfs":
        return qcfs_forward(z, p["clip"], layer.levels)
    if act == RATE:
        return np.asarray(layer.neuron.rate(z), dtype=np.float64).astype(z.dtype, copy=False)
    return ACTIVATION_OPS[act][0](z)


def _activation_gradient(layer, p, z, a, d):
    """``(dL/dz, activation_grads)`` from ``dL/da``; ``activation_grads`` holds the gradient of
    an activation's own parameters (a ``qcfs`` clip), else is empty. A neuron model's rate
    function is differentiated by its own ``rate_derivative`` when it has one, else by a
    central difference of step ``RATE_FD_STEP (1 + |z|)``."""
    act = layer.activation_name
    if act == "qcfs":
        dz, dclip = qcfs_backward(z, a, p["clip"], d)
        return dz, {"clip": dclip}
    if act != RATE:
        return ACTIVATION_OPS[act][1](z, a, d), {}
    nrn = layer.neuron
    deriv = getattr(nrn, "rate_derivative", None)
    if deriv is not None:
        slope = deriv(z)
    else:
        z64 = np.asarray(z, np.float64)
        h = RATE_FD_STEP * (1.0 + np.abs(z64))
        slope = (nrn.rate(z64 + h) - nrn.rate(z64 - h)) / (2.0 * h)
    return (d * np.asarray(slope, np.float64)).astype(d.dtype, copy=False), {}


def _run(spec, params, x, *, training, rng, stop=None, keep=True):
    """Forward through layers ``[0, stop)``; returns ``(a_last, caches, z_last)`` with one
    ``(layer_cache, z, a)`` per layer in ``caches`` when ``keep``."""
    caches = []
    a = z = x
    for i, layer in enumerate(spec.layers[:stop]):
        z, cache = LAYER_OPS[layer.kind][0](layer, params[i], a, training, rng)
        a = _activate(layer, params[i], z)
        if keep:
            caches.append((cache, z, a))
    return a, caches, z


def _backward(spec, params, caches, d, *, d_is_z=False, need_input_grad=False):
    """Backprop ``d`` (``dL/da`` of the last cached layer, or ``dL/dz`` when ``d_is_z``)
    through the cached layers; returns ``(dL/dx, grads)``."""
    grads = [{} for _ in spec.layers]
    last = len(caches) - 1
    for i in range(last, -1, -1):
        layer = spec.layers[i]
        cache, z, a = caches[i]
        act_grads = {}
        if layer.activation_name is not None and not (i == last and d_is_z):
            d, act_grads = _activation_gradient(layer, params[i], z, a, d)
        d, grads[i] = LAYER_OPS[layer.kind][1](layer, params[i], cache, d,
                                               i > 0 or need_input_grad)
        grads[i] |= act_grads
    return d, grads


def _chunks(n, size):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def forward(spec, params, x, *, training=False, rng=None) -> np.ndarray:
    """Output of the last layer after its activation (softmax probabilities for a softmax
    output), shape ``(N, *spec.output_shape)``.

    ``training=True`` applies dropout with ``rng``; in inference mode the batch is processed
    in chunks of :data:`INFERENCE_BATCH` samples to bound memory (same result).
    """
    x = _prepare(spec, params, x)
    if training:
        return _run(spec, params, x, training=True, rng=rng, keep=False)[0]
    out = [_run(spec, params, x[s], training=False, rng=None, keep=False)[0]
           for s in _chunks(len(x), INFERENCE_BATCH)]
    return np.concatenate(out) if out else np.zeros((0, *spec.output_shape), x.dtype)


def activations(spec, params, x, *, batch_size=512) -> list[np.ndarray]:
    """Inference-mode output (after the activation) of every layer: a list with one array
    ``(N, *shape_i)`` per layer (dropout is the identity). Used for data-based normalisation
    when a trained network is converted to a spiking one. All of them are kept in memory
    (``4 N sum_i prod(shape_i)`` bytes: about 100 kB per sample for the Fashion-MNIST CNN), so
    pass a subset of a large data set."""
    x = _prepare(spec, params, x)
    per_layer: list[list[np.ndarray]] = [[] for _ in spec.layers]
    for s in _chunks(len(x), batch_size):
        _, caches, _ = _run(spec, params, x[s], training=False, rng=None)
        for i, (_, _, a) in enumerate(caches):
            per_layer[i].append(a)
    shapes = spec.shapes[1:]
    return [np.concatenate(parts) if parts else np.zeros((0, *shapes[i]), x.dtype)
            for i, parts in enumerate(per_layer)]


def predict(spec, params, x, *, batch_size=512) -> np.ndarray:
    """Class indices: arg-max of the output of each sample."""
    x = _prepare(spec, params, x)
    out = [np.argmax(_run(spec, params, x[s], training=False, rng=None, keep=False)[0]
                     .reshape(s.stop - s.start, -1), axis=1)
           for s in _chunks(len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def accuracy(spec, params, x, y) -> float:
    """Fraction of samples whose predicted class equals ``y``."""
    y = np.asarray(y)
    if len(y) == 0:
        return float("nan")
    return float(np.mean(predict(spec, params, x) == y))


def _regularisation(training, params):
    """``l1 sum|W| + l2/2 sum W^2`` over the weights (not biases), and its gradient per layer."""
    loss, grads = 0.0, []
    for p in params:
        w = p.get("W")
        if w is None or (training.l1 == 0 and training.l2 == 0):
            grads.append(None)
            continue
        g = np.zeros_like(w)
        if training.l1:
            loss += training.l1 * float(np.abs(w).sum(dtype=np.float64))
            g += w.dtype.type(training.l1) * np.sign(w)
        if training.l2:
            loss += training.l2 / 2 * float(np.vdot(w, w))
            g += w.dtype.type(training.l2) * w
        grads.append(g)
    return loss, grads


def _loss_grads(spec, params, x, y, *, training, rng):
    """``(loss, grads, output)`` of one batch; ``x`` already prepared."""
    out, caches, _ = _run(spec, params, x, training=training, rng=rng)
    tr = spec.training
    last = spec.layers[-1]
    n = out.shape[0]
    fused = tr.loss == "cross_entropy" and last.activation_name == "softmax"
    if fused:
        loss, d = LOSSES["cross_entropy"](caches[-1][1].reshape(n, -1), y)
    else:
        loss, d = LOSSES[tr.loss](out.reshape(n, -1), y)
    d = d.reshape(out.shape)
    _, grads = _backward(spec, params, caches, d, d_is_z=fused)
    reg_loss, reg_grads = _regularisation(tr, params)
    for g, rg in zip(grads, reg_grads):
        if rg is not None:
            g["W"] += rg
    return loss + reg_loss, grads, out


def evaluate_loss(spec, params, x, y, *, batch_size=INFERENCE_BATCH) -> tuple[float, float]:
    """Inference-mode ``(loss, accuracy)`` of a whole data set (loss without the l1/l2 terms),
    in chunks of ``batch_size``; ``x`` already prepared."""
    tr = spec.training
    fused = tr.loss == "cross_entropy" and spec.layers[-1].activation_name == "softmax"
    total, correct, n = 0.0, 0, len(x)
    for s in _chunks(n, batch_size):
        a, _, z = _run(spec, params, x[s], training=False, rng=None, keep=False)
        m = s.stop - s.start
        a = a.reshape(m, -1)
        loss, _ = LOSSES[tr.loss]((z.reshape(m, -1) if fused else a), y[s])
        total += loss * m
        correct += int(np.count_nonzero(np.argmax(a, axis=1) == y[s]))
    return (total / n, correct / n) if n else (float("nan"), float("nan"))


def loss_and_grads(spec, params, x, y, *, rng=None):
    """Loss of the batch ``(x, y)`` under ``spec.training`` (loss + l1/l2 terms) and its
    gradient with respect to every parameter: ``(loss, grads)``, grads shaped like ``params``.

    With ``rng`` the pass is in training mode (dropout active, drawn from ``rng``); without,
    dropout is the identity, so the result is a deterministic function of the parameters.
    """
    x = _prepare(spec, params, x)
    loss, grads, _ = _loss_grads(spec, params, x, np.asarray(y), training=rng is not None,
                                 rng=rng)
    return loss, grads


def input_gradient(spec, params, x, layer_index: int, unit) -> np.ndarray:
    """``d a[layer_index][unit] / d x`` for each sample: an array shaped like ``x``.

    ``unit`` is a flat index into the layer's output or a tuple index (``(c, i, j)`` for a
    feature map). Inference mode (dropout off). Used for feature visualisation by gradient
    ascent on the input.
    """
    x = _prepare(spec, params, x)
    n_layers = len(spec.layers)
    if not -n_layers <= layer_index < n_layers:
        raise IndexError(f"layer_index {layer_index} out of range for {n_layers} layers")
    layer_index %= n_layers
    shape = spec.shapes[layer_index + 1]
    flat = int(np.ravel_multi_index(unit, shape)) if isinstance(unit, tuple) else int(unit)
    if not 0 <= flat < int(np.prod(shape)):
        raise IndexError(f"unit {unit} out of range for layer {layer_index} of shape {shape}")
    out, caches, _ = _run(spec, params, x, training=False, rng=None, stop=layer_index + 1)
    d = np.zeros_like(out)
    d.reshape(len(x), -1)[:, flat] = 1
    dx, _ = _backward(spec, params, caches, d, need_input_grad=True)
    return dx
