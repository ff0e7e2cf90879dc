"""The input gradient of a 2-D convolution in the classic mode: col2im.

The classic mode lowers a convolution to a matrix product (im2col, see
:mod:`neurosim.rate.layers`): ``Z = W_(F, C kh kw) @ cols`` with the column matrix ``cols`` of
shape ``(C kh kw, N H_out W_out)``::

    cols[(c kh + u) kw + v, (n H_out + i) W_out + j] = x[n, c, i s_h + u - p_h, j s_w + v - p_w]

(0 where the position falls in the zero padding). The input gradient is ``dx = col2im(W^T
dZ)``: col2im adds every entry of a column-gradient matrix back onto the input position it
came from (the adjoint of im2col). :func:`col2im_add` computes, for each tap ``(u, v)``, the
range of output rows ``i`` and columns ``j`` whose input position lies inside the image once,
so its inner loop runs branch-free; the padding never exists as an array. NumPy twin with the
same signature: :func:`neurosim.rate.layers.col2im_add_numpy`.
"""

from __future__ import annotations

import numba

from .config import JIT

__all__ = ["col2im_add"]


@numba.njit(**JIT)
def _valid_range(k, stride, pad, size, n_out):
    """Output indices ``o`` in ``[lo, hi)`` whose input index ``o stride + k - pad`` lies in
    ``[0, size)``: ``lo = ceil((pad - k) / stride)``, ``hi = floor((size - 1 + pad - k) /
    stride) + 1``, clipped to ``[0, n_out]`` (``hi >= lo``)."""
    lo = max(0, -((k - pad) // stride))  # floor division of ints rounds down, as in Python
    hi = min(n_out, (size - 1 + pad - k) // stride + 1)
    return lo, max(lo, hi)


@numba.njit(**JIT)
def col2im_add(dcols, n0, kh, kw, sh, sw, ph, pw, dx):
    """Add the column-gradient matrix ``dcols`` (``(C kh kw, nb H_out W_out)``, the columns of
    samples ``n0 .. n0 + nb - 1``) onto ``dx`` (``(N, C, H, W)``) in place: the adjoint of
    im2col; entries that came from the zero padding are dropped. ``dcols`` is scratch: its
    entries that came from the padding may be set to 0.

    Works one input plane ``dx[n, c]`` at a time (a few kB, so it stays in the L1 cache)
    while the column gradient streams through once.

    Fast path, stride 1 with "same" width (``W_out = W``): in the flattened plane, tap
    ``(u, v)`` sends column ``i W + j`` to input ``i W + j + (u - p_h) W + (v - p_w)``, a
    constant offset. Once the entries that came from the left/right padding are set to 0 (they
    would wrap onto the neighbouring row), each tap adds one contiguous run of about
    ``H_out W_out`` values, which vectorises, instead of ``H_out`` runs of ``W_out``.
    """
    _, c, h, w = dx.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    nb = dcols.shape[1] // max(oh * ow, 1)
    same = sh == 1 and sw == 1 and ow == w
    for ni in range(nb):
        for ci in range(c):
            plane = dx[n0 + ni, ci]
            flat = plane.ravel()
            for u in range(kh):
                i0, i1 = _valid_range(u, sh, ph, h, oh)
                if i0 >= i1:
                    continue
                for v in range(kw):
                    j0, j1 = _valid_range(v, sw, pw, w, ow)
                    if j0 >= j1:
                        continue
                    x0 = j0 * sw + v - pw
                    row = dcols[(ci * kh + u) * kw + v, ni * oh * ow:(ni + 1) * oh * ow]
                    if same:
                        # inside the run, the entries from the padding are the ends of
                        # row i (j >= j1) and the starts of row i + 1 (j < j0)
                        for i in range(i0, i1 - 1):
                            for q in range(i * ow + j1, (i + 1) * ow + j0):
                                row[q] = 0
                        start = i0 * ow + j0
                        n_run = (i1 - 1) * ow + j1 - start
                        src = row[start:start + n_run]
                        dst = flat[(i0 + u - ph) * w + x0:]
                        for k in range(n_run):
                            dst[k] += src[k]
                        continue
                    for i in range(i0, i1):
                        # views indexed from 0: with an offset index the addition loop stays
                        # scalar, indexed from 0 it vectorises (measured 4x faster)
                        src = row[i * ow + j0:i * ow + j1]
                        dst = plane[i * sh + u - ph, x0:]
                        if sw == 1:
                            for k in range(j1 - j0):
                                dst[k] += src[k]
                        else:
                            for k in range(j1 - j0):
                                dst[k * sw] += src[k]
