"""Counter-based random numbers: a value is a pure function of ``(key, neuron, step)``.

Sources and background drives draw their numbers from :func:`counter_uniform` rather than
from one sequential generator, so a run gives the same spikes whatever the order in which
neurons are updated, and however they are split over threads or processes: the number of
neuron ``i`` at step ``n`` never depends on what was drawn before it.

The mixing function is SplitMix64's finaliser (Steele, Lea and Flood 2014), applied twice:
``u = mix(key + mix(i * G + step)) / 2^64`` (top 53 bits), ``G`` the 64-bit golden ratio.
Keys come from the simulation seed (:func:`stream_key`). The text of each function runs on
NumPy ``uint64`` arrays (the twins) and, compiled, on scalars: one definition.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import INLINE

__all__ = ["mix64", "counter_uniform", "poisson_count", "poisson_count_numpy", "stream_key"]

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0 ** -53


def _mix64(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _counter_uniform(key, i, step):
    """A uniform number in ``[0, 1)`` for ``(key, i, step)`` (all ``uint64``). The two
    rounds of :func:`mix64` are written out: the compiled twin cannot call a Python
    function."""
    z = i * _G + step
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = key + (z ^ (z >> _S31))
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return (z >> _S11) * _TO_UNIT


mix64 = numba.njit(**INLINE)(_mix64)
counter_uniform = numba.njit(**INLINE)(_counter_uniform)


@numba.njit(**INLINE)
def poisson_count(u, lam):
    """The Poisson(``lam``) count whose distribution function first exceeds ``u``
    (inversion: about ``lam + 1`` iterations)."""
    k = 0
    p = np.exp(-lam)
    f = p
    while u > f and k < 100000:
        k += 1
        p *= lam / k
        f += p
    return k


def counter_uniform_numpy(key, i, step):
    """Twin of :func:`counter_uniform` on arrays (same bits)."""
    with np.errstate(over="ignore"):
        return _counter_uniform(np.asarray(key, np.uint64), np.asarray(i, np.uint64),
                                np.asarray(step, np.uint64))


def poisson_count_numpy(u, lam):
    """Twin of :func:`poisson_count` on arrays (the same operations in the same order)."""
    u = np.asarray(u, np.float64)
    lam = np.broadcast_to(np.asarray(lam, np.float64), u.shape)
    k = np.zeros(u.shape, np.int64)
    p = np.exp(-lam)
    f = p.copy()
    live = u > f
    while live.any():
        k[live] += 1
        p[live] *= lam[live] / k[live]
        f[live] += p[live]
        live &= u > f
    return k


def stream_key(seed: int, *labels: int) -> int:
    """A 63-bit key for the stream of ``labels`` (population, channel) under ``seed``;
    never 0. From :class:`numpy.random.SeedSequence`, so keys of different labels are
    independent."""
    ss = np.random.SeedSequence([int(seed), *map(int, labels)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)) | 1
