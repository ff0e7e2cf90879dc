"""CSR rows from synapse pairs by counting sort: linear time, no int64 sort key.

The connection rules (:mod:`neurosim.builder.connectivity`) draw ``(pre, post)`` pairs in
any order and need CSR rows by source, each row's targets ascending. Sorting one int64 key
``pre * n_post + post`` costs ``O(E log E)`` and an 8-byte temporary per synapse (2.4 GB for
the full-scale microcircuit's 3e8 synapses). Two counting passes do it in ``O(E + N)`` with
one 4-byte temporary:

1. bucket the sources by target (:func:`pairs_to_csr`; ``fixed_indegree`` draws them so
   already, :func:`runs_to_csr`);
2. walk the targets in ascending order and append each one to its source's row.

Each row then holds its targets in ascending order; equal pairs (multapses) are equal
values, so the result is the sorted-key CSR exactly (:func:`pairs_to_csr_numpy`, the twin).
"""

from __future__ import annotations

import numba
import numpy as np

from .config import INLINE, JIT

__all__ = ["pairs_to_csr", "runs_to_csr", "pairs_to_csr_numpy"]


@numba.njit(**INLINE)
def _starts(keys, n):
    """``starts[k]``: the first position of key ``k`` once ``keys`` (values ``0 .. n - 1``)
    are grouped by value (a counting sort's offsets)."""
    starts = np.zeros(n + 1, np.int64)
    for e in range(keys.shape[0]):
        starts[keys[e] + 1] += 1
    for k in range(n):
        starts[k + 1] += starts[k]
    return starts


@numba.njit(**JIT)
def _by_target(pre, post, n_post):
    """``(starts, sources)``: the sources of target ``t`` are
    ``sources[starts[t]:starts[t + 1]]``, in the order of the pairs."""
    starts = _starts(post, n_post)
    fill = starts[:-1].copy()
    sources = np.empty(pre.shape[0], pre.dtype)
    for e in range(post.shape[0]):
        t = post[e]
        sources[fill[t]] = pre[e]
        fill[t] += 1
    return starts, sources


@numba.njit(**JIT)
def _rows(starts, sources, n_pre):
    """CSR by source of the target buckets of :func:`_by_target` (targets ascending)."""
    indptr = _starts(sources, n_pre)
    fill = indptr[:-1].copy()
    indices = np.empty(sources.shape[0], np.int32)
    for t in range(starts.shape[0] - 1):
        for e in range(starts[t], starts[t + 1]):
            r = sources[e]
            indices[fill[r]] = t
            fill[r] += 1
    return indptr, indices


def runs_to_csr(n_pre: int, starts: np.ndarray, sources: np.ndarray):
    """CSR by source of targets given as runs: the sources of target ``t`` are
    ``sources[starts[t]:starts[t + 1]]`` (``fixed_indegree``: ``starts = k * arange``)."""
    return _rows(np.ascontiguousarray(starts, np.int64), np.ascontiguousarray(sources), n_pre)


def pairs_to_csr(n_pre: int, n_post: int, pre: np.ndarray, post: np.ndarray):
    """``(indptr int64 (n_pre + 1,), indices int32)`` of the pairs ``(pre[e], post[e])``
    (integer arrays, values in range), rows by source, targets ascending in each row."""
    starts, sources = _by_target(np.ascontiguousarray(pre), np.ascontiguousarray(post), n_post)
    return _rows(starts, sources, n_pre)


def pairs_to_csr_numpy(n_pre: int, n_post: int, pre: np.ndarray, post: np.ndarray):
    """Twin of :func:`pairs_to_csr`: one int64 key ``pre * n_post + post``, sorted."""
    key = np.asarray(pre).astype(np.int64) * np.int64(n_post) + np.asarray(post)
    key.sort()
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // n_post, minlength=n_pre), out=indptr[1:])
    return indptr, (key % n_post).astype(np.int32)
