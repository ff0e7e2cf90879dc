"""Backpropagation through time over the records of one forward pass.

Per spiking layer ``l``, from the last to the first:

1. the gradient reaching its spikes ``g = dL/ds`` ``(n, T, m)`` becomes the gradient of its
   input current ``dI`` by the neuron's adjoint walked back in time
   (:func:`neurosim.kernels.bptt.if_backward`);
2. the layer's projection (dense, conv2d or avgpool2d: the classic layer of the same spec) is
   the classic layer applied to every step at once: ``I[t] = op(s_in[t])``. Its input gradient
   ``dL/ds_in = op^T(dI)`` is dense work (one BLAS product over the ``n T`` steps, and the
   classic col2im for a convolution); its weight gradient is accumulated from the spike lists
   (:func:`neurosim.kernels.bptt.dense_weight_grad`, :func:`~neurosim.kernels.bptt.
   conv_weight_grad`): each spike adds ``dI`` over its fan-out, so sparse activity is less
   work. Real-valued spikes (the smooth forward pass of the gradient checks) take the classic
   local backward (:data:`neurosim.rate.layers.LAYER_OPS`, im2col + BLAS) instead. With an
   analog input the first layer's current is the same at every step, so ``dW`` comes from
   ``sum_t dI[t]`` and the classic backward.

Readouts (the logits the loss sees, from the output layer):

- ``membrane``: ``z = v[T] / T``, the mean input current per step (the output integrates
  ``v[T] = sum_t (I[t] + b)`` without firing), so ``dI[t] = dL/dz / T`` at every step;
- ``count``: ``z = sum_t s[t]``, the spike counts, so ``g[t] = dL/dz`` at every step.

``cross_entropy`` takes ``z`` as logits; ``mse`` compares ``z`` (membrane) or the rate
``z / T`` (count) with the one-hot target.
"""

from __future__ import annotations

import numpy as np

from ..kernels import bptt as B
from ..kernels.conv import Window
from ..rate.layers import LAYER_OPS, conv2d_backward, conv_input_gradient, im2col
from ..rate.losses import LOSSES

__all__ = ["readout_logits", "readout_loss", "backward", "CONV_CHUNK_ELEMENTS"]

_WEIGHT_KERNELS = (B.dense_weight_grad, B.conv_weight_grad)

#: Column-matrix entries per chunk of a convolution's backward (about 256 MB of float32):
#: a conv layer's steps are lowered to columns a chunk of samples at a time.
CONV_CHUNK_ELEMENTS = 1 << 26


def readout_logits(rec, readout: str, timesteps: int):
    """``(z, potentials)`` of the output layer's record: the logits of the loss (module
    docstring) and the membrane potentials after the last step (which break ties between
    spike counts, as in the engine)."""
    if readout == "membrane":
        v = rec.u[:, -1]
        return v / np.float32(timesteps), v
    return rec.spikes.sum(axis=1, dtype=rec.u.dtype), None


def readout_loss(loss: str, z, y, readout: str, timesteps: int):
    """``(L, dL/dz)`` of logits ``z`` against labels ``y``."""
    if loss == "mse" and readout == "count":
        value, d = LOSSES["mse"](z / np.float32(timesteps), y)
        return value, d / np.float32(timesteps)
    return LOSSES[loss](z, y)


def _project_backward(layer, p, x, dz, need_dx):
    """``(dL/dx, grads)`` of a dense, conv2d or avgpool2d layer applied to the batch ``x``."""
    if layer.kind != "conv2d":
        return LAYER_OPS[layer.kind][1](layer, p, x if layer.kind == "dense" else x.shape, dz,
                                        need_dx)
    n = x.shape[0]
    c_out, oh, ow = dz.shape[1:]
    kh, kw = layer.kernel_size
    per = x.shape[1] * kh * kw * oh * ow
    chunk = max(1, CONV_CHUNK_ELEMENTS // max(per, 1))
    grads, parts = None, []
    for a in range(0, n, chunk):
        xc = x[a:a + chunk]
        cols, ohw = im2col(xc, layer.kernel_size, layer.stride, layer.padding)
        dx, g = conv2d_backward(layer, p, (cols, xc.shape, ohw), dz[a:a + chunk], need_dx)
        del cols
        if grads is None:
            grads = g
        else:
            for k in grads:
                grads[k] += g[k]
        if need_dx:
            parts.append(dx)
    return (np.concatenate(parts) if need_dx else None), grads


def _sparse_backward(layer, p, spikes, in_shape, scale, dz, need_dx, kernels):
    """``(dL/ds_in, grads)`` of a dense or conv2d layer fed by binary spikes ``(n, T, m_in)``
    (uint8) of shape ``in_shape`` with dropout factors ``scale`` (``(n, m_in)`` or ``None``);
    ``dz`` ``(n, T, *out_shape)``. The weight gradient comes from the spike lists."""
    n, n_steps = spikes.shape[:2]
    w = p["W"]
    f = w.shape[0]
    sc = np.zeros((0, spikes.shape[2]), np.float32) if scale is None else \
        np.ascontiguousarray(scale, np.float32)
    dense_grad, conv_grad = kernels
    grads = {}
    if layer.kind == "dense":
        dz = np.ascontiguousarray(dz, np.float32).reshape(n, n_steps, f)
        dwt = np.zeros((w.shape[1], f), np.float32)
        dense_grad(spikes, sc, dz, dwt)
        grads["W"] = np.ascontiguousarray(dwt.T)
        d2 = dz.reshape(-1, f)
        if "b" in p:
            grads["b"] = d2.sum(axis=0)
        dx = (d2 @ w).reshape(n, n_steps, -1) if need_dx else None
        return dx, grads
    c_in, kh, kw = w.shape[1:]
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    dzl = np.ascontiguousarray(dz.transpose(0, 1, 3, 4, 2), np.float32)  # channels last
    dwk = np.zeros((c_in, kh, kw, f), np.float32)
    conv_grad(spikes.reshape(n, n_steps, *in_shape), sc, dzl, Window(kh, kw, sh, sw, ph, pw),
              dwk)
    grads["W"] = np.ascontiguousarray(dwk.transpose(3, 0, 1, 2))
    if "b" in p:
        grads["b"] = dzl.reshape(-1, f).sum(axis=0)
    dx = None
    if need_dx:
        dz2 = np.ascontiguousarray(dzl.reshape(-1, f).T)  # (F, n T H_out W_out)
        dx = conv_input_gradient(w.reshape(f, -1).T, dz2, (n * n_steps, *in_shape),
                                 layer.kernel_size, layer.stride, layer.padding)
        dx = dx.reshape(n, n_steps, -1)
    return dx, grads


def neuron_backward(g, rec, grad, *, kernels=None):
    """``(dI, dJ)`` of one layer from ``g = dL/ds``: the gradients of its spike current and
    of its total input (through which the bias acts; ``None`` when it is ``dI``, for IF
    layers). :func:`neurosim.kernels.bptt.if_backward` or :func:`~neurosim.kernels.bptt.
    lif_backward` (``kernels``: the pair to use instead; tests pass the twins)."""
    if_kernel, lif_kernel = kernels or (B.if_backward, B.lif_backward)
    g = np.ascontiguousarray(g, rec.u.dtype)
    dcur = np.empty_like(g)
    if rec.gain is None:
        if_kernel(g, rec.u, rec.spikes, grad, dcur)
        return dcur, None
    dj = np.empty_like(g)
    lif_kernel(g, rec.u, rec.spikes, rec.gain, grad, dcur, dj)
    return dcur, dj


def _output_gradient(snet, rec, dz, grad, kernels):
    """``(dI, dJ)`` of the output layer from the logits' gradient ``dz`` (module docstring)."""
    timesteps = rec.u.shape[1]
    if snet.readout == "membrane":
        d = (dz / np.float32(timesteps))[:, None, :].astype(rec.u.dtype)
        return np.broadcast_to(d, rec.u.shape), None
    return neuron_backward(np.broadcast_to(dz[:, None, :], rec.u.shape), rec, grad,
                           kernels=kernels)


def _layer_backward(layer, p, src, in_shape, x, mask, dcur, need_dx, weight_kernels):
    """``(dL/ds_in (n, T, m_in) or None, grads)`` of one projection: ``src`` its input spikes
    ``(n, T, m_in)`` (``None``: the analog input ``x``, the same at every step)."""
    n, timesteps = dcur.shape[:2]
    out_shape = dcur.shape[2:]
    dtype = dcur.dtype
    if src is None:
        xin = x.reshape(n, *in_shape).astype(dtype, copy=False)
        if mask is not None:
            xin = xin * mask.reshape(xin.shape)
        d = np.ascontiguousarray(dcur.sum(axis=1))
        return None, _project_backward(layer, p, xin, d, False)[1]
    d = np.ascontiguousarray(dcur).reshape(n * timesteps, *out_shape)
    if src.dtype == np.uint8 and layer.kind in ("dense", "conv2d"):
        dx, grads = _sparse_backward(layer, p, np.ascontiguousarray(src), in_shape, mask,
                                     d.reshape(n, timesteps, *out_shape), need_dx,
                                     weight_kernels)
        return dx, grads
    if layer.kind == "avgpool2d":  # a fixed linear map: only the shape of its input matters
        xin = np.broadcast_to(np.zeros((), dtype), (n * timesteps, *in_shape))
    else:
        src = src.astype(dtype)
        if mask is not None:
            src = src * mask[:, None, :]
        xin = np.ascontiguousarray(src).reshape(n * timesteps, *in_shape)
    dx, grads = _project_backward(layer, p, xin, d, need_dx)
    return (None if dx is None else dx.reshape(n, timesteps, -1)), grads


def backward(snet, params, records, x, spikes_in, dz, masks, grad, *, neuron_kernels=None,
             weight_kernels=None):
    """Gradients (shaped like ``params``) of the loss whose gradient on the logits is ``dz``.

    ``records``/``x``/``spikes_in``/``masks`` are those of the forward pass
    (:meth:`neurosim.bptt.net.SpikingNet.forward`), ``grad`` the :data:`~neurosim.kernels.
    bptt.NeuronGrad` settings (its ``thr`` and ``syn_decay`` are set per layer).
    ``neuron_kernels`` (IF, LIF), ``weight_kernels`` (dense, conv): replace the compiled
    kernels (tests pass the twins).

    LIF spikes carry the amplitude ``1000 / dt`` (:mod:`neurosim.builder.layered`): the next
    layer's current is ``A W s``, so its weight and input gradients carry the factor ``A``;
    the bias of a LIF layer acts on its total input ``J`` (after the synapse), so its
    gradient is the sum of ``dJ``.
    """
    spec, net = snet.spec, snet.net
    shapes = spec.shapes
    n_layers = net.n_layers
    n, timesteps = records[-1].u.shape[:2]
    grads = [{} for _ in spec.layers]
    g = None
    for li in range(n_layers - 1, -1, -1):
        rec = records[li]
        gl = grad._replace(thr=snet.thresholds[li], syn_decay=snet.syn_decay[li])
        if li == n_layers - 1:
            dcur, dj = _output_gradient(snet, rec, dz, gl, neuron_kernels)
        else:
            dcur, dj = neuron_backward(g, rec, gl, kernels=neuron_kernels)
        i = net.spec_index[li]
        layer = spec.layers[i]
        mask = masks[li] if masks is not None else None
        src = None if (li == 0 and spikes_in is None) else \
            (spikes_in[:, :timesteps] if li == 0 else records[li - 1].spikes)
        if dj is not None and src is None:
            dcur = dj  # an analog input enters J directly, not through the synapse
        dcur = dcur.reshape(n, timesteps, *shapes[i + 1])
        dx, grads[i] = _layer_backward(layer, params[i], src, shapes[i], x, mask, dcur,
                                       li > 0, weight_kernels or _WEIGHT_KERNELS)
        amp = snet.amplitude_in[li] if layer.kind != "avgpool2d" else 1.0
        if amp != 1.0:
            grads[i]["W"] *= np.float32(amp)
        if dj is not None and "b" in grads[i]:
            f = grads[i]["b"].size
            grads[i]["b"] = dj.reshape(n * timesteps, f, -1).sum(axis=(0, 2)).astype(
                grads[i]["b"].dtype)
        if li > 0:
            g = dx if amp == 1.0 else dx * np.float32(amp)
            if mask is not None:
                g = g * mask[:, None, :]
    return grads
