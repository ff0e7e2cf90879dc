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


def neuron_backward(g, rec, grad, *, kernel=None):
    """``dI`` of one IF layer from ``g = dL/ds`` (:func:`neurosim.kernels.bptt.if_backward`,
    or ``kernel``: its twin)."""
    g = np.ascontiguousarray(g, rec.u.dtype)
    dcur = np.empty_like(g)
    (kernel or B.if_backward)(g, rec.u, rec.spikes, grad, dcur)
    return dcur


def backward(snet, params, records, x, spikes_in, dz, masks, grad, *, neuron_kernel=None,
             weight_kernels=None):
    """Gradients (shaped like ``params``) of the loss whose gradient on the logits is ``dz``.

    ``records``/``x``/``spikes_in``/``masks`` are those of the forward pass
    (:meth:`neurosim.bptt.net.SpikingNet.forward`), ``grad`` the :data:`~neurosim.kernels.
    bptt.NeuronGrad` settings (its ``thr`` is replaced by each layer's threshold).
    ``neuron_kernel``, ``weight_kernels`` (dense, conv): replace the compiled kernels (tests
    pass the twins).
    """
    spec, net = snet.spec, snet.net
    shapes = spec.shapes
    n_layers = net.n_layers
    n, timesteps = records[-1].u.shape[:2]
    dtype = records[-1].u.dtype
    grads = [{} for _ in spec.layers]
    g = None
    for li in range(n_layers - 1, -1, -1):
        rec = records[li]
        gl = grad._replace(thr=snet.thresholds[li])
        if li == n_layers - 1:
            if snet.readout == "membrane":
                dcur = np.broadcast_to((dz / np.float32(timesteps))[:, None, :].astype(dtype),
                                       rec.u.shape)
            else:
                dcur = neuron_backward(np.broadcast_to(dz[:, None, :], rec.u.shape), rec, gl,
                                       kernel=neuron_kernel)
        else:
            dcur = neuron_backward(g, rec, gl, kernel=neuron_kernel)
        i = net.spec_index[li]
        layer = spec.layers[i]
        out_shape = shapes[i + 1]
        mask = masks[li] if masks is not None else None
        if li == 0 and spikes_in is None:
            xin = x.reshape(n, *shapes[i]).astype(dtype, copy=False)
            if mask is not None:
                xin = xin * mask.reshape(xin.shape)
            d = np.ascontiguousarray(dcur.sum(axis=1)).reshape(n, *out_shape)
        else:
            src = spikes_in[:, :timesteps] if li == 0 else records[li - 1].spikes
            d = np.ascontiguousarray(dcur).reshape(n * timesteps, *out_shape)
            if src.dtype == np.uint8 and layer.kind in ("dense", "conv2d"):
                dx, grads[i] = _sparse_backward(layer, params[i], np.ascontiguousarray(src),
                                                shapes[i], mask,
                                                d.reshape(n, timesteps, *out_shape), li > 0,
                                                weight_kernels or _WEIGHT_KERNELS)
                if li > 0:
                    g = dx if mask is None else dx * mask[:, None, :]
                continue
            if layer.kind == "avgpool2d":  # a fixed linear map: only the shape matters
                xin = np.broadcast_to(np.zeros((), dtype), (n * timesteps, *shapes[i]))
                dx, grads[i] = _project_backward(layer, params[i], xin, d, li > 0)
                g = dx.reshape(n, timesteps, -1)
                if mask is not None:
                    g = g * mask[:, None, :]
                continue
            src = src.astype(dtype)
            if mask is not None:
                src = src * mask[:, None, :]
            xin = np.ascontiguousarray(src).reshape(n * timesteps, *shapes[i])
        dx, grads[i] = _project_backward(layer, params[i], xin, d, li > 0)
        if li > 0:
            g = dx.reshape(n, timesteps, -1)
            if mask is not None:
                g = g * mask[:, None, :]
    return grads
