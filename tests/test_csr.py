"""CSR rows by counting sort (neurosim.kernels.csr) against the sorted-key twin."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.kernels.csr import pairs_to_csr, pairs_to_csr_numpy, runs_to_csr


@pytest.mark.parametrize("n_pre, n_post, n", [(7, 5, 200), (300, 1, 50), (1, 40, 100),
                                              (50, 60, 0), (1000, 800, 20_000)])
def test_pairs_give_the_sorted_rows(n_pre, n_post, n):
    """Any order of pairs, with repeats (multapses) and empty rows: the rows of the sorted
    int64 key exactly, int32 targets ascending in every row."""
    rng = np.random.default_rng(n)
    pre = rng.integers(0, n_pre, n).astype(np.int32)
    post = rng.integers(0, n_post, n).astype(np.int32)
    indptr, indices = pairs_to_csr(n_pre, n_post, pre, post)
    want_ptr, want_ind = pairs_to_csr_numpy(n_pre, n_post, pre, post)
    assert indptr.dtype == np.int64 and indices.dtype == np.int32
    np.testing.assert_array_equal(indptr, want_ptr)
    np.testing.assert_array_equal(indices, want_ind)
    for r in range(n_pre):  # hand check: each row holds its pairs' targets, ascending
        mine = indices[indptr[r]:indptr[r + 1]]
        assert np.all(np.diff(mine) >= 0)
        np.testing.assert_array_equal(np.sort(post[pre == r]), mine)


def test_runs_are_pairs_with_ascending_targets():
    rng = np.random.default_rng(1)
    n_pre, n_post, k = 40, 30, 7
    sources = rng.integers(0, n_pre, (n_post, k)).ravel()
    indptr, indices = runs_to_csr(n_pre, np.arange(n_post + 1) * k, sources)
    want = pairs_to_csr_numpy(n_pre, n_post, sources, np.repeat(np.arange(n_post), k))
    np.testing.assert_array_equal(indptr, want[0])
    np.testing.assert_array_equal(indices, want[1])
