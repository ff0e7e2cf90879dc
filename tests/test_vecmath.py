"""The vectorisable exp and x / expm1(x) (neurosim.kernels.vecmath) against NumPy's."""

from __future__ import annotations

import numba
import numpy as np

from neurosim.kernels.config import LOOP
from neurosim.kernels.vecmath import exp_v, x_over_expm1_v


@numba.njit(**(LOOP | {"cache": False}))
def _map(fn_code, x, out):
    for i in range(x.shape[0]):
        out[i] = exp_v(x[i]) if fn_code == 0 else x_over_expm1_v(x[i])


def _run(code, x):
    out = np.empty_like(x)
    _map(code, x, out)
    return out


def test_exp_within_two_ulp_over_its_range():
    x = np.concatenate([np.linspace(-708.0, 709.0, 200_001), [0.0, -0.0, 1.0, -1.0, 1e-300,
                                                               np.log(2.0), 0.5 * np.log(2.0)],
                        np.random.default_rng(0).normal(0.0, 5.0, 10_000)])
    got, want = _run(0, x), np.exp(x)
    assert np.all(np.abs(got - want) <= 2 * np.spacing(want))
    assert _run(0, np.array([0.0]))[0] == 1.0
    # clipped beyond the range: finite, no overflow to inf or underflow to 0
    ends = _run(0, np.array([-1000.0, 1000.0]))
    assert np.all(np.isfinite(ends)) and ends[0] > 0


def test_x_over_expm1_is_continuous_through_zero():
    """The series near 0 and the direct form elsewhere agree with ``x / expm1(x)`` to a few
    ulp, and the limit 1 at 0 (the HH rates' 0/0 points)."""
    x = np.concatenate([np.linspace(-60.0, 60.0, 100_001), [0.0, 1e-12, -1e-12, 1e-9, 0.0999,
                                                          0.1, -0.1, 0.101, 1e-3, -1e-3]])
    got = _run(1, x)
    safe = np.where(x == 0.0, 1.0, x)
    want = np.where(x == 0.0, 1.0, safe / np.expm1(safe))
    np.testing.assert_allclose(got, want, rtol=3e-15)
    assert _run(1, np.array([0.0]))[0] == 1.0
