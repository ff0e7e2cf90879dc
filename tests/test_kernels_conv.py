"""The convolution kernels of the classic mode (neurosim.kernels.conv: im2col_fill, col2im_add)
against their NumPy twins (neurosim.rate.layers), on hand-made and random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.kernels.conv import Window, col2im_add, im2col_fill
from neurosim.rate.layers import col2im_add_numpy, im2col, im2col_fill_numpy

#: Both add the same numbers onto each input position, but in a different order (kernel: tap
#: by tap per plane; twin: tap by tap over the whole block, then onto dx): sums of at most
#: kh kw terms differ by a few ulps.
SUM_RTOL = {np.float32: 1e-5, np.float64: 1e-12}
SUM_ATOL = {np.float32: 1e-5, np.float64: 1e-12}

IMPLS = [col2im_add, col2im_add_numpy]
FILLS = [im2col_fill, im2col_fill_numpy]

#: Stride-1 geometries with W_out == W, which take the kernels' constant-offset fast path:
#: (x shape, kernel, padding).
SAME_WIDTH = [
    ((3, 2, 7, 6), (5, 5), (2, 2)),   # the Fashion-MNIST CNN's convolutions, in small
    ((2, 3, 5, 9), (3, 5), (1, 2)),   # uneven kernel
    ((2, 1, 4, 3), (1, 3), (0, 1)),   # no padding in height
    ((2, 2, 1, 1), (5, 5), (2, 2)),   # padding wider than the image
    ((1, 2, 6, 4), (2, 3), (0, 1)),   # even kernel height: H_out != H, W_out == W
]
SAME_WIDTH_IDS = ["5x5", "3x5", "1x3", "1x1-image", "2x3"]


def _geometry(data, max_n):
    """A random convolution geometry: ``(n, c, h, w, kh, kw, sh, sw, ph, pw, dtype)``."""
    n, c = data.draw(st.integers(1, max_n)), data.draw(st.integers(1, 3))
    h, w = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    ph, pw = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    kh = data.draw(st.integers(1, h + 2 * ph))
    kw = data.draw(st.integers(1, w + 2 * pw))
    sh, sw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    return n, c, h, w, kh, kw, sh, sw, ph, pw, dtype


@pytest.mark.parametrize("impl", FILLS, ids=["kernel", "twin"])
def test_im2col_hand_made(impl):
    # x = [[1, 2], [3, 4]], 2x2 kernel, padding 1: 3x3 outputs; tap (u, v) of output (i, j)
    # reads x[i + u - 1, j + v - 1] (0 outside). Written by hand, row by row:
    want = np.array([
        [0, 0, 0, 0, 1, 2, 0, 3, 4],  # (0, 0)
        [0, 0, 0, 1, 2, 0, 3, 4, 0],  # (0, 1)
        [0, 1, 2, 0, 3, 4, 0, 0, 0],  # (1, 0)
        [1, 2, 0, 3, 4, 0, 0, 0, 0],  # (1, 1)
    ], np.float32)
    cols = np.full((4, 9), np.nan, np.float32)
    impl(np.array([[[[1, 2], [3, 4]]]], np.float32), Window(2, 2, 1, 1, 1, 1), cols)
    np.testing.assert_array_equal(cols, want)


@pytest.mark.parametrize("impl", FILLS, ids=["kernel", "twin"])
def test_im2col_strided_hand_made(impl):
    # 3x3 image 0..8, 2x2 kernel, stride 2, padding 1 in width only: outputs (i, j) for
    # i in {0}, j in {0, 1}; tap (u, v) reads x[2 i + u, 2 j + v - 1]
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    cols = np.full((4, 2), np.nan)
    impl(x, Window(2, 2, 2, 2, 0, 1), cols)
    np.testing.assert_array_equal(cols, [[0, 1], [0, 2], [0, 4], [3, 5]])


@pytest.mark.parametrize("impl", IMPLS, ids=["kernel", "twin"])
def test_col2im_counts_covering_windows(impl):
    # 2x2 image, 2x2 kernel, padding 1, stride 1: 3x3 outputs, and every pixel lies in exactly
    # 4 windows, so a column gradient of ones adds 4 to each; the 5 padding-only taps drop.
    dx = np.zeros((1, 1, 2, 2), np.float32)
    impl(np.ones((4, 9), np.float32), 0, Window(2, 2, 1, 1, 1, 1), dx)
    np.testing.assert_array_equal(dx, np.full((1, 1, 2, 2), 4.0))


@pytest.mark.parametrize("impl", IMPLS, ids=["kernel", "twin"])
def test_col2im_strided_hand_made(impl):
    # 1x1 kernel, stride 2 on 3x3: outputs (0,0),(0,1),(1,0),(1,1) read pixels (0,0),(0,2),
    # (2,0),(2,2); the others receive nothing.
    dx = np.zeros((1, 1, 3, 3), np.float64)
    impl(np.array([[1.0, 2.0, 3.0, 4.0]]), 0, Window(1, 1, 2, 2, 0, 0), dx)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 2], [0, 0, 0], [3, 0, 4]])


@pytest.mark.parametrize("impl", IMPLS, ids=["kernel", "twin"])
def test_col2im_adds_onto_the_block_of_samples_only(impl):
    # samples n0 = 1 .. 2 of 4, onto existing values: samples 0 and 3 keep theirs
    # (1 channel, 1x2 kernel, 2x3 image, no padding: 2x2 outputs; pixel (i, j) lies in the
    # windows of outputs (i, j) and (i, j - 1)).
    dx = np.full((4, 1, 2, 3), 10.0)
    dcols = np.arange(2 * 8, dtype=np.float64).reshape(2, 8)  # rows: taps v = 0, 1
    impl(dcols, 1, Window(1, 2, 1, 1, 0, 0), dx)
    np.testing.assert_array_equal(dx[[0, 3]], 10.0)
    for k, n in enumerate((1, 2)):
        d0 = dcols[0, 4 * k:4 * k + 4].reshape(2, 2)  # tap v = 0: pixel (i, j) from (i, j)
        d1 = dcols[1, 4 * k:4 * k + 4].reshape(2, 2)  # tap v = 1: pixel (i, j + 1) from (i, j)
        want = np.full((2, 3), 10.0)
        want[:, :2] += d0
        want[:, 1:] += d1
        np.testing.assert_array_equal(dx[n, 0], want)


@pytest.mark.parametrize("shape, kernel, padding", SAME_WIDTH, ids=SAME_WIDTH_IDS)
def test_col2im_same_width_fast_path_equals_twin(shape, kernel, padding):
    # stride 1 with W_out == W takes the constant-offset path (one run per tap); it must add
    # exactly what the row-by-row twin adds, onto a block in the middle of the batch
    rng = np.random.default_rng(12)
    (kh, kw), (ph, pw) = kernel, padding
    n, c, h, w = shape
    oh, ow = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
    assert ow == w
    nb = n - 1
    dcols = rng.standard_normal((c * kh * kw, nb * oh * ow))
    start = rng.standard_normal(shape)
    got, want = start.copy(), start.copy()
    col2im_add(dcols.copy(), 1, Window(kh, kw, 1, 1, ph, pw), got)
    col2im_add_numpy(dcols, 1, Window(kh, kw, 1, 1, ph, pw), want)
    np.testing.assert_allclose(got, want, rtol=SUM_RTOL[np.float64], atol=SUM_ATOL[np.float64])
    np.testing.assert_array_equal(got[0], start[0])


@pytest.mark.parametrize("shape, kernel, padding", SAME_WIDTH, ids=SAME_WIDTH_IDS)
def test_im2col_same_width_fast_path_equals_twin(shape, kernel, padding):
    rng = np.random.default_rng(13)
    (kh, kw), (ph, pw) = kernel, padding
    n, c, h, w = shape
    oh, ow = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
    assert ow == w
    x = rng.standard_normal(shape)
    got = np.full((c * kh * kw, n * oh * ow), np.nan)  # every entry must be written
    want = np.empty_like(got)
    im2col_fill(x, Window(kh, kw, 1, 1, ph, pw), got)
    im2col_fill_numpy(x, Window(kh, kw, 1, 1, ph, pw), want)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_im2col_kernel_equals_twin(data):
    n, c, h, w, kh, kw, sh, sw, ph, pw, dtype = _geometry(data, 3)
    x = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).standard_normal(
        (n, c, h, w)).astype(dtype)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    got = np.full((c * kh * kw, n * oh * ow), np.nan, dtype)
    want = np.empty_like(got)
    im2col_fill(x, Window(kh, kw, sh, sw, ph, pw), got)
    im2col_fill_numpy(x, Window(kh, kw, sh, sw, ph, pw), want)
    np.testing.assert_array_equal(got, want)  # copies only: exactly equal


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_col2im_kernel_equals_twin_and_is_the_adjoint_of_im2col(data):
    n, c, h, w, kh, kw, sh, sw, ph, pw, dtype = _geometry(data, 4)
    n0 = data.draw(st.integers(0, n - 1))
    nb = data.draw(st.integers(1, n - n0))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    dcols = rng.standard_normal((c * kh * kw, nb * oh * ow)).astype(dtype)
    start = rng.standard_normal((n, c, h, w)).astype(dtype)
    got, want = start.copy(), start.copy()
    col2im_add(dcols.copy(), n0, Window(kh, kw, sh, sw, ph, pw), got)  # dcols is its scratch
    col2im_add_numpy(dcols, n0, Window(kh, kw, sh, sw, ph, pw), want)
    np.testing.assert_allclose(got, want, rtol=SUM_RTOL[dtype], atol=SUM_ATOL[dtype])
    # adjoint: <im2col(x), dcols> == <x, col2im(dcols)> over the block's samples
    x = rng.standard_normal((nb, c, h, w))
    cols, _ = im2col(x, (kh, kw), (sh, sw), (ph, pw))
    back = np.zeros_like(x)
    col2im_add(dcols.astype(np.float64), 0, Window(kh, kw, sh, sw, ph, pw), back)
    assert np.vdot(cols, dcols.astype(np.float64)) == pytest.approx(np.vdot(x, back), rel=1e-9,
                                                                    abs=1e-9)
