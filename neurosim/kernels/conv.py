"""Lowering of a 2-D convolution to a matrix product in the classic mode: im2col, col2im.

The classic mode computes a convolution as ``Z = W_(F, C kh kw) @ cols`` (see
:mod:`neurosim.rate.layers`), with the column matrix ``cols`` of shape
``(C kh kw, N H_out W_out)``::

    cols[(c kh + u) kw + v, (n H_out + i) W_out + j] = x[n, c, i s_h + u - p_h, j s_w + v - p_w]

(0 where the position falls in the zero padding). :func:`im2col_fill` writes it; the input
gradient is ``dx = col2im(W^T dZ)``, where :func:`col2im_add` adds every entry of a
column-gradient matrix back onto the input position it came from (the adjoint of im2col).
Both compute, for each tap ``(u, v)``, the range of output rows ``i`` and columns ``j`` whose
input position lies inside the image once, so their inner loops run branch-free; the padding
never exists as an array. NumPy twins with the same signatures:
:func:`neurosim.rate.layers.im2col_fill_numpy` and :func:`neurosim.rate.layers.col2im_add_numpy`.
"""

from __future__ import annotations

from collections import namedtuple

import numba

from .config import JIT

__all__ = ["im2col_fill", "col2im_add"]


#: A sliding window's geometry: kernel ``kh x kw``, stride ``sh, sw``, zero padding ``ph, pw``.
Window = namedtuple("Window", ["kh", "kw", "sh", "sw", "ph", "pw"])


@numba.njit(**JIT)
def _valid_range(k, stride, pad, size, n_out):
    """Output indices ``o`` in ``[lo, hi)`` whose input index ``o stride + k - pad`` lies in
    ``[0, size)``: ``lo = ceil((pad - k) / stride)``, ``hi = floor((size - 1 + pad - k) /
    stride) + 1``, clipped to ``[0, n_out]`` (``hi >= lo``)."""
    lo = max(0, -((k - pad) // stride))  # floor division of ints rounds down, as in Python
    hi = min(n_out, (size - 1 + pad - k) // stride + 1)
    return lo, max(lo, hi)


@numba.njit(**JIT)
def im2col_fill(x, win, cols):
    """Write the column matrix of ``x`` (``(N, C, H, W)``, C-contiguous) into ``cols``
    (``(C kh kw, N H_out W_out)``, C-contiguous) for a ``kh x kw`` kernel, stride
    ``(sh, sw)`` and zero padding ``(ph, pw)``; every entry of ``cols`` is written.

    Fast path, stride 1 with "same" width (``W_out = W``): the adjoint of the one in
    :func:`col2im_add`. Column ``i W + j`` of tap ``(u, v)`` reads input ``i W + j +
    (u - p_h) W + (v - p_w)`` of the flattened plane, so each tap copies one contiguous run per
    plane (it vectorises) and then zeroes the entries that came from the padding (those wrapped
    from the neighbouring row, and the rows above or below the image).
    """
    kh, kw, sh, sw, ph, pw = win
    n, c, h, w = x.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    same = sh == 1 and sw == 1 and ow == w
    xf = x.ravel()  # a view: x is C-contiguous
    for ci in range(c):
        for u in range(kh):
            i0, i1 = _valid_range(u, sh, ph, h, oh)
            for v in range(kw):
                j0, j1 = _valid_range(v, sw, pw, w, ow)
                x0 = j0 * sw + v - pw
                taprow = cols[(ci * kh + u) * kw + v]
                for ni in range(n):
                    row = taprow[ni * oh * ow:(ni + 1) * oh * ow]
                    if i0 >= i1 or j0 >= j1:
                        row[:] = 0
                        continue
                    if same:
                        start = i0 * ow + j0
                        n_run = (i1 - 1) * ow + j1 - start
                        src = xf[(ni * c + ci) * h * w + (i0 + u - ph) * w + x0:]
                        dst = row[start:start + n_run]
                        for k in range(n_run):
                            dst[k] = src[k]
                        for q in range(start):
                            row[q] = 0
                        for i in range(i0, i1 - 1):
                            for q in range(i * ow + j1, (i + 1) * ow + j0):
                                row[q] = 0
                        for q in range(start + n_run, oh * ow):
                            row[q] = 0
                        continue
                    for i in range(oh):
                        out = row[i * ow:(i + 1) * ow]
                        if i < i0 or i >= i1:
                            out[:] = 0
                            continue
                        out[:j0] = 0
                        out[j1:] = 0
                        # views indexed from 0, as in col2im_add
                        dst = out[j0:j1]
                        src = x[ni, ci, i * sh + u - ph, x0:]
                        for k in range(j1 - j0):
                            dst[k] = src[k * sw]


@numba.njit(**JIT)
def col2im_add(dcols, n0, win, dx):
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
    kh, kw, sh, sw, ph, pw = win
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
