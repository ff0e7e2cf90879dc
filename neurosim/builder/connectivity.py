"""Connectivity: which presynaptic neuron reaches which target, as CSR rows (pre-major).

A projection from ``n_pre`` to ``n_post`` neurons becomes ``indptr`` (``n_pre + 1``, int64)
and ``indices`` (population-local targets, int32, ascending within a row), so that the
event-driven engine walks exactly the row of a neuron that spiked. ``all_to_all`` needs no
indices (dense rows: row ``i`` targets ``0 .. n_post - 1``).

- ``random``: every ordered pair independently with probability ``p`` (Brian2's
  ``connect(p=...)``), drawn by geometric skipping over the ``n_pre * n_post`` pairs, so the
  cost grows with the number of synapses, not pairs.
- ``fixed_indegree``: every target draws ``k`` distinct sources uniformly.
- ``one_to_one``: ``i -> i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Connectivity", "all_to_all", "one_to_one", "random_connectivity",
           "fixed_indegree", "connectivity_from_pairs"]


@dataclass(frozen=True)
class Connectivity:
    """CSR rows of one projection; ``dense`` means every row holds every target in order."""

    n_pre: int
    n_post: int
    indptr: np.ndarray
    indices: np.ndarray | None
    dense: bool = False

    @property
    def n_synapses(self) -> int:
        return int(self.indptr[-1])

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pre, post)`` index arrays of every synapse, in row order."""
        pre = np.repeat(np.arange(self.n_pre), np.diff(self.indptr))
        post = (np.tile(np.arange(self.n_post), self.n_pre) if self.dense
                else self.indices.astype(np.int64))
        return pre, post


def all_to_all(n_pre: int, n_post: int) -> Connectivity:
    return Connectivity(n_pre, n_post, np.arange(n_pre + 1, dtype=np.int64) * n_post, None,
                        dense=True)


def one_to_one(n: int) -> Connectivity:
    return Connectivity(n, n, np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int32))


def connectivity_from_pairs(n_pre: int, n_post: int, pre, post) -> Connectivity:
    """CSR from synapse pairs (sorted by row, then target)."""
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    order = np.lexsort((post, pre))
    counts = np.bincount(pre, minlength=n_pre)
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return Connectivity(n_pre, n_post, indptr, post[order].astype(np.int32))


def random_connectivity(n_pre: int, n_post: int, p: float, rng: np.random.Generator, *,
                        autapses: bool = True) -> Connectivity:
    """Each of the ``n_pre * n_post`` pairs with probability ``p``; ``autapses=False`` drops
    ``i -> i`` (for a projection of a population onto itself)."""
    total = n_pre * n_post
    if p <= 0 or total == 0:
        flat = np.zeros(0, dtype=np.int64)
    elif p >= 1:
        flat = np.arange(total, dtype=np.int64)
    else:
        # Gaps between successive chosen pairs are geometric; draw a few more than expected
        # and top up until the pairs run out.
        chunks = []
        pos = -1
        expect = int(total * p + 6 * np.sqrt(total * p) + 16)
        while True:
            gaps = rng.geometric(p, size=expect)
            idx = pos + np.cumsum(gaps)
            chunks.append(idx[idx < total])
            if idx[-1] >= total:
                break
            pos = int(idx[-1])
        flat = np.concatenate(chunks)
    pre = flat // n_post
    post = flat % n_post
    if not autapses:
        keep = pre != post
        pre, post = pre[keep], post[keep]
    counts = np.bincount(pre, minlength=n_pre)
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return Connectivity(n_pre, n_post, indptr, post.astype(np.int32))  # already row-sorted


def fixed_indegree(n_pre: int, n_post: int, k: int, rng: np.random.Generator, *,
                   autapses: bool = True) -> Connectivity:
    """Every target gets ``k`` distinct sources, chosen uniformly."""
    pre = np.empty(n_post * k, dtype=np.int64)
    for j in range(n_post):
        if autapses:
            src = rng.choice(n_pre, size=k, replace=False)
        else:
            src = rng.choice(n_pre - 1, size=k, replace=False)
            src[src >= j] += 1
        pre[j * k:(j + 1) * k] = src
    post = np.repeat(np.arange(n_post, dtype=np.int64), k)
    return connectivity_from_pairs(n_pre, n_post, pre, post)
