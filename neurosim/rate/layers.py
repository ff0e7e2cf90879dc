"""Layer operations of the classic mode: each kind's forward and local backward side by side.

Every kind registers ``(forward, backward)`` in :data:`LAYER_OPS`:

- ``forward(layer, p, x, training, rng) -> (z, cache)``: ``x`` is the batch ``(N, *in_shape)``,
  ``p`` the layer's parameter dict, ``z`` the output *before* the activation (the network
  applies it, see :mod:`.activations`).
- ``backward(layer, p, cache, dz, need_dx) -> (dx, grads)``: ``dz = dL/dz`` in, ``dx = dL/dx``
  out (``None`` when ``need_dx`` is false, which saves the first layer's input gradient) and
  ``grads`` shaped like ``p``.

Arrays keep the dtype they come in with: float32 in training, float64 in the gradient checks.

Convolution is lowered to one matrix product (im2col): the padded input is viewed through
:func:`numpy.lib.stride_tricks.as_strided` as windows of shape ``(C, kh, kw, N, H_out, W_out)``
(no copy), copied once into the column matrix ``cols`` of shape ``(C kh kw, N H_out W_out)``,
and ``z = W_(F, C kh kw) @ cols`` is a single BLAS call. The backward pass reuses ``cols``:
``dW = dZ @ cols.T`` and ``dcols = W.T @ dZ``, folded back onto the input by ``kh * kw``
strided additions (col2im; for stride 1 over long contiguous runs, see
:func:`_wide_col2im`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["LAYER_OPS", "im2col", "col2im"]


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


def im2col(x, kernel, stride, padding):
    """Column matrix ``(C kh kw, N H_out W_out)`` of the (zero-padded) input ``x (N, C, H, W)``.

    Row ``(c, u, v)``, column ``(n, i, j)`` holds ``x_pad[n, c, i s_h + u, j s_w + v]``.
    Returns ``(cols, (H_out, W_out))``.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = _pad(np.ascontiguousarray(x), ph, pw)
    n, c, hp, wp = xp.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    s0, s1, s2, s3 = xp.strides
    win = as_strided(xp, shape=(c, kh, kw, n, oh, ow),
                     strides=(s1, s2, s3, s0, s2 * sh, s3 * sw), writeable=False)
    return np.ascontiguousarray(win).reshape(c * kh * kw, n * oh * ow), (oh, ow)


def col2im(dcols, x_shape, kernel, stride, padding, out_hw):
    """Adjoint of :func:`im2col`: add each column entry back onto the input position it came
    from; returns ``dx`` of shape ``x_shape``."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x_shape
    oh, ow = out_hw
    d = dcols.reshape(c, kh, kw, n, oh, ow)
    # accumulate channel-major (C, N, ...) so that every addition runs over contiguous memory
    dxp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            dxp[:, :, u:u + sh * (oh - 1) + 1:sh, v:v + sw * (ow - 1) + 1:sw] += d[:, u, v]
    return np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3))


#: Samples per block of the stride-1 input gradient: the block's column gradient
#: (``C kh kw x block H_out W_pad`` values, ~3 MB for 16 channels 5x5 on 14x14) stays in cache
#: between the matrix product that writes it and the additions that read it.
COL2IM_BLOCK = 8


def _wide_col2im(w2t, dz_wide, x_shape, kernel, padding):
    """Input gradient of a stride-1 convolution, ``col2im(w2t @ dz_wide)``, blockwise.

    ``w2t`` is ``W^T`` of shape ``(C kh kw, F)``; ``dz_wide`` the output gradient
    ``(F, N, H_out, W_pad)`` extended with zero columns to the padded input width ``W_pad``.
    In the flattened padded image, the inputs that output row ``i`` reads through tap
    ``(u, v)`` are the contiguous run ``[(i + u) W_pad + v, ... + W_out)``; with the zero
    extension, the whole tap row ``(c, u, v, n)`` adds onto one contiguous run of
    ``H_out W_pad`` values starting at ``u W_pad + v``. Adding runs of that length is several
    times faster than :func:`col2im`'s runs of ``W_out``, and working in blocks of
    :data:`COL2IM_BLOCK` samples keeps the column gradient in cache.
    """
    (kh, kw), (ph, pw) = kernel, padding
    n, c, h, w = x_shape
    hp, wp = h + 2 * ph, w + 2 * pw
    run = (hp - kh + 1) * wp
    f = dz_wide.shape[0]
    # one zero-padded plane per (channel, sample), with kw - 1 spare values for the runs that
    # spill past the plane's end (they only carry the zero extra columns)
    acc = np.zeros((c, n, hp * wp + kw - 1), dtype=dz_wide.dtype)
    for s in range(0, n, COL2IM_BLOCK):
        block = dz_wide[:, s:s + COL2IM_BLOCK].reshape(f, -1)
        d = (w2t @ block).reshape(c, kh, kw, -1, run)
        a = acc[:, s:s + COL2IM_BLOCK]
        for u in range(kh):
            for v in range(kw):
                start = u * wp + v
                a[:, :, start:start + run] += d[:, u, v]
    dx = acc[:, :, :hp * wp].reshape(c, n, hp, wp)[:, :, ph:ph + h, pw:pw + w]
    return np.ascontiguousarray(dx.transpose(1, 0, 2, 3))


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
    """``dW = dZ cols^T``, ``db = sum dZ``, ``dx = col2im(W^T dZ)``.

    For stride 1 the input gradient goes through the wide lowering of :func:`_wide_col2im`
    (``dZ`` padded with zero columns to the padded input width), whose additions run over
    long contiguous rows.
    """
    cols, x_shape, (oh, ow) = cache
    w = p["W"]
    f = w.shape[0]
    n = x_shape[0]
    dzt = dz.transpose(1, 0, 2, 3)  # (F, N, H_out, W_out) view
    dz2 = np.ascontiguousarray(dzt).reshape(f, -1)
    grads = {"W": (dz2 @ cols.T).reshape(w.shape)}
    if "b" in p:
        grads["b"] = dz2.sum(axis=1)
    dx = None
    if need_dx:
        w2t = w.reshape(f, -1).T
        if layer.stride == (1, 1):
            wp = x_shape[3] + 2 * layer.padding[1]
            wide = np.zeros((f, n, oh, wp), dtype=dz.dtype)
            wide[:, :, :, :ow] = dzt
            dx = _wide_col2im(w2t, wide, x_shape, layer.kernel_size, layer.padding)
        else:
            dx = col2im(w2t @ dz2, x_shape, layer.kernel_size, layer.stride, layer.padding,
                        (oh, ow))
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
    """``z[n, c, i, j] = mean_{u,v} x[n, c, i s + u, j s + v]`` (a fixed linear layer)."""
    taps, _ = _taps(layer, x.shape)
    z = x[taps[0]].copy()
    for t in taps[1:]:
        z += x[t]
    z *= x.dtype.type(1.0 / len(taps))
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
}
