"""Layer operations of the classic mode: each kind's forward and local backward side by side.

(The recurrent kinds ``rnn`` and ``lstm`` and their backpropagation through time live in
:mod:`.recurrent`.)

Every kind registers ``(forward, backward)`` in :data:`LAYER_OPS`:

- ``forward(layer, p, x, training, rng) -> (z, cache)``: ``x`` is the batch ``(N, *in_shape)``,
  ``p`` the layer's parameter dict, ``z`` the output *before* the activation (the network
  applies it, see :mod:`.activations`).
- ``backward(layer, p, cache, dz, need_dx) -> (dx, grads)``: ``dz = dL/dz`` in, ``dx = dL/dx``
  out (``None`` when ``need_dx`` is false, which saves the first layer's input gradient) and
  ``grads`` shaped like ``p``.

Arrays keep the dtype they come in with: float32 in training, float64 in the gradient checks.

Convolution is lowered to one matrix product (im2col): the compiled
:func:`neurosim.kernels.conv.im2col_fill` (NumPy twin :func:`im2col_fill_numpy`) writes the
column matrix ``cols`` of shape ``(C kh kw, N H_out W_out)``, and ``z = W_(F, C kh kw) @ cols``
is a single BLAS call. The backward pass reuses ``cols``: ``dW = dZ @ cols.T``; the input
gradient ``dx = col2im(W^T dZ)`` is computed in blocks of :data:`COL2IM_BLOCK` samples, each a
matrix product followed by the compiled scatter-add :func:`neurosim.kernels.conv.col2im_add`
(its NumPy twin is :func:`col2im_add_numpy`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..kernels.conv import Window, col2im_add, im2col_fill
from .recurrent import RECURRENT_OPS

__all__ = ["LAYER_OPS", "im2col", "col2im", "im2col_fill_numpy", "col2im_add_numpy"]


# ----------------------------------------------------------------------------- dense

def dense_forward(layer, p, x, training, rng):
    """``z = x W^T + b``; ``x`` of shape ``(N, n_in)``, ``W`` of shape ``(units, n_in)``."""
    z = x @ p["W"].T
    if "b" in p:
        z += p["b"]
    return z, x


def dense_backward(layer, p, x, dz, need_dx):
    """``dW = dz^T x``, ``db = sum_n dz``, ``dx = dz W``."""
    grads = {"W": dz.T @ x}
    if "b" in p:
        grads["b"] = dz.sum(axis=0)
    return (dz @ p["W"] if need_dx else None), grads


# ----------------------------------------------------------------------------- conv2d

def _pad(x, ph, pw):
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def im2col_fill_numpy(x, win, cols):
    """NumPy twin of :func:`neurosim.kernels.conv.im2col_fill`: write the column matrix
    ``(C kh kw, N H_out W_out)`` of ``x (N, C, H, W)`` into ``cols``.

    The padded input is viewed as windows of shape ``(C, kh, kw, N, H_out, W_out)`` (no copy)
    and copied once.
    """
    kh, kw, sh, sw, ph, pw = win
    xp = _pad(np.ascontiguousarray(x), ph, pw)
    n, c, hp, wp = xp.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    s0, s1, s2, s3 = xp.strides
    win = as_strided(xp, shape=(c, kh, kw, n, oh, ow),
                     strides=(s1, s2, s3, s0, s2 * sh, s3 * sw), writeable=False)
    np.copyto(cols.reshape(c, kh, kw, n, oh, ow), win)


def im2col(x, kernel, stride, padding):
    """Column matrix ``(C kh kw, N H_out W_out)`` of the (zero-padded) input ``x (N, C, H, W)``.

    Row ``(c, u, v)``, column ``(n, i, j)`` holds ``x_pad[n, c, i s_h + u, j s_w + v]``.
    Returns ``(cols, (H_out, W_out))``; written by the compiled
    :func:`neurosim.kernels.conv.im2col_fill`.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    x = np.ascontiguousarray(x)
    n, c, h, w = x.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    cols = np.empty((c * kh * kw, n * oh * ow), dtype=x.dtype)
    im2col_fill(x, Window(kh, kw, sh, sw, ph, pw), cols)
    return cols, (oh, ow)


def col2im_add_numpy(dcols, n0, win, dx):
    """NumPy twin of :func:`neurosim.kernels.conv.col2im_add`: add the column gradient
    ``dcols`` (``(C kh kw, nb H_out W_out)``, samples ``n0 .. n0 + nb - 1``) onto ``dx``
    (``(N, C, H, W)``) in place, each entry onto the input position it came from in
    :func:`im2col`; entries that came from the zero padding are dropped."""
    kh, kw, sh, sw, ph, pw = win
    _, c, h, w = dx.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    nb = dcols.shape[1] // max(oh * ow, 1)
    d = dcols.reshape(c, kh, kw, nb, oh, ow)
    # accumulate channel-major (C, N, ...) so that every addition runs over contiguous memory
    dxp = np.zeros((c, nb, h + 2 * ph, w + 2 * pw), dtype=dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            dxp[:, :, u:u + sh * (oh - 1) + 1:sh, v:v + sw * (ow - 1) + 1:sw] += d[:, u, v]
    dx[n0:n0 + nb] += dxp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


def col2im(dcols, x_shape, kernel, stride, padding, out_hw):
    """Adjoint of :func:`im2col`: add each column entry back onto the input position it came
    from; returns ``dx`` of shape ``x_shape``. (``out_hw`` follows from the other arguments.)"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    dx = np.zeros(x_shape, dtype=dcols.dtype)
    col2im_add_numpy(dcols, 0, Window(kh, kw, sh, sw, ph, pw), dx)
    return dx


#: Samples per block of the input gradient: the block's column gradient (``C kh kw x block
#: H_out W_out`` values, ~2.5 MB for 16 channels 5x5 on 14x14) stays in cache between the
#: matrix product that writes it and the scatter-add that reads it.
COL2IM_BLOCK = 8


def conv_input_gradient(w2t, dz2, x_shape, kernel, stride, padding):
    """``dx = col2im(w2t @ dz2)`` in blocks of :data:`COL2IM_BLOCK` samples.

    ``w2t`` is ``W^T`` of shape ``(C kh kw, F)``, ``dz2`` the output gradient as a
    ``(F, N H_out W_out)`` matrix. A plain product per block (no zero-widened operand, so no
    extra arithmetic) followed by the compiled scatter-add, whose loops skip the padding.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n = x_shape[0]
    per = dz2.shape[1] // n if n else 0
    dx = np.zeros(x_shape, dtype=dz2.dtype)
    for s in range(0, n, COL2IM_BLOCK):
        d = w2t @ dz2[:, s * per:(s + COL2IM_BLOCK) * per]
        col2im_add(d, s, Window(kh, kw, sh, sw, ph, pw), dx)
    return dx


def conv2d_forward(layer, p, x, training, rng):
    """``z[n, f, i, j] = b[f] + sum_{c,u,v} W[f, c, u, v] x_pad[n, c, i s + u, j s + v]``."""
    w = p["W"]
    f = w.shape[0]
    n = x.shape[0]
    cols, (oh, ow) = im2col(x, layer.kernel_size, layer.stride, layer.padding)
    z = w.reshape(f, -1) @ cols  # (F, N H_out W_out): one BLAS call for the whole batch
    if "b" in p:
        z += p["b"][:, None]
    z = np.ascontiguousarray(z.reshape(f, n, oh, ow).transpose(1, 0, 2, 3))
    return z, (cols, x.shape, (oh, ow))


def conv2d_backward(layer, p, cache, dz, need_dx):
    """``dW = dZ cols^T``, ``db = sum dZ``, ``dx = col2im(W^T dZ)`` (see
    :func:`conv_input_gradient`)."""
    cols, x_shape, (oh, ow) = cache
    w = p["W"]
    f = w.shape[0]
    dz2 = np.ascontiguousarray(dz.transpose(1, 0, 2, 3)).reshape(f, -1)  # (F, N H_out W_out)
    grads = {"W": (dz2 @ cols.T).reshape(w.shape)}
    if "b" in p:
        grads["b"] = dz2.sum(axis=1)
    dx = None
    if need_dx:
        dx = conv_input_gradient(w.reshape(f, -1).T, dz2, x_shape, layer.kernel_size,
                                 layer.stride, layer.padding)
    return dx, grads


# ----------------------------------------------------------------------------- pooling

def _taps(layer, x_shape):
    """Per window tap ``(u, v)`` the strided slice of the input it reads, and the out size."""
    (kh, kw), (sh, sw) = layer.pool_size, layer.stride
    _, _, h, w = x_shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    taps = [(slice(None), slice(None), slice(u, u + sh * (oh - 1) + 1, sh),
             slice(v, v + sw * (ow - 1) + 1, sw)) for u in range(kh) for v in range(kw)]
    return taps, (oh, ow)


def _tiles(layer, x_shape) -> bool:
    """Whether the pooling windows tile the input exactly (stride = window, no remainder):
    then every input lies in exactly one window."""
    (kh, kw), (sh, sw) = layer.pool_size, layer.stride
    return (kh, kw) == (sh, sw) and x_shape[2] % kh == 0 and x_shape[3] % kw == 0


def avgpool2d_forward(layer, p, x, training, rng):
    """``z[n, c, i, j] = mean_{u,v} x[n, c, i s + u, j s + v]`` (a fixed linear layer).

    The window sum is separable: first over the ``kw`` columns of each window (``kw`` strided
    slices of shape ``(N, C, H, W_out)``), then over its ``kh`` rows; that reads the input
    ``kw`` times instead of ``kh kw`` times at the output size.
    """
    (kh, kw), (sh, sw) = layer.pool_size, layer.stride
    _, _, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    rows = x[:, :, :, 0:sw * (ow - 1) + 1:sw].copy()
    for v in range(1, kw):
        rows += x[:, :, :, v:v + sw * (ow - 1) + 1:sw]
    z = rows[:, :, 0:sh * (oh - 1) + 1:sh].copy()
    for u in range(1, kh):
        z += rows[:, :, u:u + sh * (oh - 1) + 1:sh]
    z *= x.dtype.type(1.0 / (kh * kw))
    return z, x.shape


def avgpool2d_backward(layer, p, x_shape, dz, need_dx):
    """Each input in a window receives ``dz / (kh kw)``; inputs in no window receive 0."""
    taps, _ = _taps(layer, x_shape)
    share = dz * dz.dtype.type(1.0 / len(taps))
    if _tiles(layer, x_shape):  # windows tile the input: each input is written exactly once
        dx = np.empty(x_shape, dtype=dz.dtype)
        for t in taps:
            dx[t] = share
        return dx, {}
    dx = np.zeros(x_shape, dtype=dz.dtype)
    for t in taps:
        dx[t] += share
    return dx, {}


def maxpool2d_forward(layer, p, x, training, rng):
    """``z = max`` over each window; the cache keeps which tap won (the first on ties)."""
    taps, _ = _taps(layer, x.shape)
    z = x[taps[0]].copy()
    arg = np.zeros(z.shape, dtype=np.int16)
    for k, t in enumerate(taps[1:], start=1):
        s = x[t]
        better = s > z
        np.copyto(z, s, where=better)
        arg[better] = k
    return z, (arg, x.shape)


def maxpool2d_backward(layer, p, cache, dz, need_dx):
    """The gradient flows only to the winning input of each window."""
    arg, x_shape = cache
    taps, _ = _taps(layer, x_shape)
    dx = np.zeros(x_shape, dtype=dz.dtype)
    for k, t in enumerate(taps):
        dx[t] += np.where(arg == k, dz, 0)
    return dx, {}


# ----------------------------------------------------------------------------- flatten, dropout

def flatten_forward(layer, p, x, training, rng):
    """``(N, C, H, W) -> (N, C H W)`` in C order."""
    return x.reshape(x.shape[0], -1), x.shape


def flatten_backward(layer, p, x_shape, dz, need_dx):
    return dz.reshape(x_shape), {}


def dropout_forward(layer, p, x, training, rng):
    """Inverted dropout: in training ``z = x m / (1 - rate)``, ``m ~ Bernoulli(1 - rate)``
    drawn from ``rng``; the identity at inference (so no rescaling is needed there)."""
    if not training or layer.rate == 0:
        return x, None
    if rng is None:
        raise ValueError("dropout in training mode needs a random generator (rng)")
    keep = rng.random(x.shape, dtype=np.float32) >= layer.rate
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - layer.rate))
    return x * mask, mask


def dropout_backward(layer, p, mask, dz, need_dx):
    return (dz if mask is None else dz * mask), {}


LAYER_OPS = {
    "dense": (dense_forward, dense_backward),
    "conv2d": (conv2d_forward, conv2d_backward),
    "avgpool2d": (avgpool2d_forward, avgpool2d_backward),
    "maxpool2d": (maxpool2d_forward, maxpool2d_backward),
    "flatten": (flatten_forward, flatten_backward),
    "dropout": (dropout_forward, dropout_backward),
    **RECURRENT_OPS,
}
