"""NIR's maps evaluated with NumPy: what Affine, Linear, Scale, Flatten, Conv1d/Conv2d,
SumPool2d and AvgPool2d compute on a batch, and the layout of image-shaped states.

The importer (:mod:`neurosim.interchange.nir_import`) uses these to compose chains of maps it
has no projection kind for (evaluated on the identity) and to push analog input through the
maps to the first neurons. Conventions are PyTorch's: cross-correlation, ``"same"`` padding
split with the extra pixel after, average pooling counting the padding.
"""

from __future__ import annotations

import numpy as np

__all__ = ["apply_node", "apply_chain", "channels_last", "pair", "conv_padding"]


def pair(value, n: int = 2) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64).ravel()
    if arr.size == 1:
        arr = np.repeat(arr, n)
    return tuple(int(v) for v in arr[:n])


def conv_padding(node, kernel, dilation) -> tuple[tuple[int, int], ...]:
    """``(before, after)`` zero padding per spatial axis (PyTorch's rule for ``"same"``)."""
    pad = node.padding
    if isinstance(pad, bytes):
        pad = pad.decode()
    if isinstance(pad, str):
        if pad == "valid":
            return tuple((0, 0) for _ in kernel)
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    p = pair(pad, len(kernel))
    return tuple((v, v) for v in p)


def _conv(x, weight, bias, stride, pads, dilation, groups):
    """Cross-correlation of ``x`` (B, C, *spatial) with ``weight`` (O, C/groups, *kernel)."""
    nd = weight.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0), *pads])
    kernel = weight.shape[2:]
    out_sp = [(x.shape[2 + a] - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1
              for a in range(nd)]
    c_out = weight.shape[0]
    out = np.zeros((x.shape[0], c_out, *out_sp))
    cg, og = weight.shape[1], c_out // groups
    for tap in np.ndindex(*kernel):
        sl = tuple(slice(tap[a] * dilation[a], tap[a] * dilation[a]
                         + stride[a] * (out_sp[a] - 1) + 1, stride[a]) for a in range(nd))
        patch = x[(slice(None), slice(None), *sl)]
        for gi in range(groups):
            w = weight[gi * og:(gi + 1) * og, :, *tap]
            out[:, gi * og:(gi + 1) * og] += np.einsum("bc...,oc->bo...",
                                                      patch[:, gi * cg:(gi + 1) * cg], w)
    if bias is not None:
        out += np.asarray(bias, np.float64).reshape(1, c_out, *([1] * nd))
    return out


def _pool(x, kernel, stride, padding, average):
    x = np.pad(x, [(0, 0), (0, 0), *[(p, p) for p in padding]])
    out_sp = [(x.shape[2 + a] - kernel[a]) // stride[a] + 1 for a in range(2)]
    out = np.zeros((*x.shape[:2], *out_sp))
    for u, v in np.ndindex(*kernel):
        out += x[:, :, u:u + stride[0] * (out_sp[0] - 1) + 1:stride[0],
                 v:v + stride[1] * (out_sp[1] - 1) + 1:stride[1]]
    return out / (kernel[0] * kernel[1]) if average else out


def apply_node(node, x: np.ndarray) -> np.ndarray:
    """NIR map ``node`` applied to a batch ``x`` of shape ``(B, *input_shape)`` (float64)."""
    import nir

    if isinstance(node, (nir.Affine, nir.Linear)):
        w = np.asarray(node.weight, np.float64)
        y = x.reshape(x.shape[0], -1) @ w.T
        return y + np.asarray(node.bias, np.float64) if isinstance(node, nir.Affine) else y
    if isinstance(node, nir.Scale):
        return x * np.asarray(node.scale, np.float64)
    if isinstance(node, nir.Flatten):
        nd = x.ndim - 1
        a = int(node.start_dim) % nd + 1
        b = int(node.end_dim) % nd + 1
        return x.reshape(*x.shape[:a], -1, *x.shape[b + 1:])
    if isinstance(node, (nir.Conv2d, nir.Conv1d)):
        w = np.asarray(node.weight, np.float64)
        nd = w.ndim - 2
        dil = pair(node.dilation, nd)
        return _conv(x, w, node.bias, pair(node.stride, nd),
                     conv_padding(node, w.shape[2:], dil), dil, int(node.groups))
    if isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
        return _pool(x, pair(node.kernel_size), pair(node.stride), pair(node.padding),
                     isinstance(node, nir.AvgPool2d))
    return x  # Delay (its delay is counted apart), nested Input/Output: the identity


def apply_chain(nodes, chain, x):
    for name in chain:
        x = apply_node(nodes[name], x)
    return x


def channels_last(shape) -> np.ndarray:
    """For each state index of a population of NIR shape ``shape``, its NIR flat (C-order)
    index: channels-last ``(y * W + x) * C + c`` for ``(C, H, W)`` shapes, the identity
    otherwise."""
    shape = tuple(int(s) for s in shape)
    n = int(np.prod(shape)) if shape else 1
    if len(shape) == 3:
        return np.arange(n).reshape(shape).transpose(1, 2, 0).ravel()
    return np.arange(n)
