"""Connectivity: which presynaptic neuron reaches which target, as CSR rows (pre-major).

A projection from ``n_pre`` to ``n_post`` neurons becomes ``indptr`` (``n_pre + 1``, int64)
and ``indices`` (population-local targets, int32, ascending within a row), so that the
event-driven engine walks exactly the row of a neuron that spiked. ``all_to_all`` needs no
indices (dense rows: row ``i`` targets ``0 .. n_post - 1``).

NEST's rules (``nest.Connect`` ``rule``), each vectorised NumPy whose cost and memory grow
with the number of synapses (no per-synapse Python objects; the full-scale cortical
microcircuit's 3e8 synapses are drawn in arrays):

- ``pairwise_bernoulli`` (``random``, Brian2's ``connect(p=...)``): every ordered pair
  independently with probability ``p``, drawn by geometric skipping over the
  ``n_pre * n_post`` pairs;
- ``fixed_indegree``: every target draws ``k`` sources uniformly (distinct ones unless
  ``multapses``);
- ``fixed_outdegree``: every source draws ``k`` targets uniformly (likewise);
- ``fixed_total_number``: ``n`` synapses, each pair drawn uniformly among all pairs (with
  ``multapses``) or ``n`` distinct pairs;
- ``one_to_one``: ``i -> i``; ``all_to_all``.

``autapses = False`` excludes ``i -> i`` (a projection of a population onto itself): the
offending draws are drawn again, so the counts stay exact. Rows are sorted by target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels.csr import pairs_to_csr, pairs_to_csr_numpy, runs_to_csr

__all__ = ["Connectivity", "all_to_all", "one_to_one", "random_connectivity",
           "fixed_indegree", "fixed_outdegree", "fixed_total_number", "connectivity_from_pairs"]


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


#: Synapses from which a projection's rows are built by the compiled counting sort
#: (:mod:`neurosim.kernels.csr`, linear time, one int32 temporary per synapse); below, by
#: NumPy's sort of one int64 key, as fast at that size and free of the compiled code's
#: first-use cost in a process (Numba's start, about 0.3 s). The rows are the same.
COMPILED_CSR_FROM = 1 << 20


def _rows_from_pre(n_pre: int, n_post: int, pre: np.ndarray, post: np.ndarray) -> Connectivity:
    """CSR of pairs in any order, rows sorted by target (:data:`COMPILED_CSR_FROM`)."""
    rows = pairs_to_csr if np.size(pre) >= COMPILED_CSR_FROM else pairs_to_csr_numpy
    indptr, indices = rows(n_pre, n_post, pre, post)
    return Connectivity(n_pre, n_post, indptr, indices)


def _draw_rows(rng, n_rows: int, k: int, n_choices: int, *, multapses: bool,
               forbid: np.ndarray | None) -> np.ndarray:
    """``(n_rows, k)`` uniform draws from ``range(n_choices)``; without ``multapses`` no value
    twice in a row; ``forbid[r]`` (or none) is never drawn in row ``r``. Redraws only the
    offending entries, so the cost stays that of the draws for ``k << n_choices``."""
    if not multapses and 2 * k > n_choices:  # dense rows: a partial permutation per row
        out = np.empty((n_rows, k), np.int64)
        for r in range(n_rows):
            pool = np.arange(n_choices) if forbid is None else np.delete(
                np.arange(n_choices), forbid[r])
            out[r] = rng.choice(pool, size=k, replace=False)
        return out
    out = rng.integers(0, n_choices, size=(n_rows, k))
    for _ in range(10000):
        # the order inside a row is free (rows are sorted into CSR later): sort in place and
        # redraw the repeats and the forbidden values
        bad = np.zeros(out.shape, bool) if forbid is None else out == forbid[:, None]
        if not multapses:
            out.sort(axis=1)
            bad[:, 1:] |= out[:, 1:] == out[:, :-1]
        n_bad = int(bad.sum())
        if n_bad == 0:
            return out
        out[bad] = rng.integers(0, n_choices, size=n_bad)
    raise RuntimeError("connection draws did not settle")  # pragma: no cover


def fixed_indegree(n_pre: int, n_post: int, k: int, rng: np.random.Generator, *,
                   autapses: bool = True, multapses: bool = False) -> Connectivity:
    """Every target gets ``k`` sources, chosen uniformly (distinct unless ``multapses``)."""
    forbid = None if autapses else np.arange(n_post)
    pre = _draw_rows(rng, n_post, k, n_pre, multapses=multapses, forbid=forbid).ravel()
    if pre.size < COMPILED_CSR_FROM:
        return _rows_from_pre(n_pre, n_post, pre, np.repeat(np.arange(n_post), k))
    indptr, indices = runs_to_csr(n_pre, np.arange(n_post + 1, dtype=np.int64) * k, pre)
    return Connectivity(n_pre, n_post, indptr, indices)


def fixed_outdegree(n_pre: int, n_post: int, k: int, rng: np.random.Generator, *,
                    autapses: bool = True, multapses: bool = True) -> Connectivity:
    """Every source reaches ``k`` targets, chosen uniformly (distinct unless ``multapses``)."""
    forbid = None if autapses else np.arange(n_pre)
    post = _draw_rows(rng, n_pre, k, n_post, multapses=multapses, forbid=forbid)
    post.sort(axis=1)
    indptr = np.arange(n_pre + 1, dtype=np.int64) * k
    return Connectivity(n_pre, n_post, indptr, post.ravel().astype(np.int32))


def fixed_total_number(n_pre: int, n_post: int, n: int, rng: np.random.Generator, *,
                       autapses: bool = True, multapses: bool = True) -> Connectivity:
    """``n`` synapses between pairs drawn uniformly (``n`` distinct pairs unless
    ``multapses``); drawn in chunks of at most 2^24 so the int64 temporaries stay small."""
    pre = np.empty(n, np.int32 if n_pre < 2 ** 31 else np.int64)
    post = np.empty(n, np.int32)
    chunk = 1 << 24
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        pre[a:b] = rng.integers(0, n_pre, size=b - a)
        post[a:b] = rng.integers(0, n_post, size=b - a)
        if not autapses:
            bad = np.flatnonzero(pre[a:b] == post[a:b]) + a
            while bad.size:
                post[bad] = rng.integers(0, n_post, size=bad.size)
                bad = bad[pre[bad] == post[bad]]
    conn = _rows_from_pre(n_pre, n_post, pre, post)
    if multapses:
        return conn
    while True:  # distinct pairs: drop repeats and draw that many again
        p0, p1 = conn.pairs()
        key = p0 * n_post + p1
        keep = np.concatenate([[True], key[1:] != key[:-1]])
        missing = n - int(keep.sum())
        if missing == 0:
            return conn
        extra = fixed_total_number(n_pre, n_post, missing, rng, autapses=autapses)
        e0, e1 = extra.pairs()
        conn = _rows_from_pre(n_pre, n_post, np.concatenate([p0[keep], e0]),
                              np.concatenate([p1[keep], e1]))
