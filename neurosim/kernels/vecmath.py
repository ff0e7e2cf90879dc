"""Transcendental functions the compiler can vectorise: ``exp`` and ``x / expm1(x)``.

A loop over neurons that calls the C library's ``exp`` runs one neuron at a time: the call
cannot be vectorised (Numba has no vector math library here). :func:`exp_v` is written in
arithmetic only, so that LLVM turns a loop of it into SIMD code (4 or 8 neurons at once):

``exp(x) = 2^k exp(r)``, ``k = round(x / ln 2)``, ``r = x - k ln 2`` (``ln 2`` in two parts,
Cody and Waite, so that ``r`` is exact to the last bit), ``|r| <= ln 2 / 2``; ``exp(r)`` by its
Taylor series to ``r^13 / 13!`` (the next term is below ``5e-18``) in Horner form, and ``2^k``
built from its bits (``(k + 1023) << 52``). The result is within 2 ulp of the C library's
(tests/test_vecmath.py). Arguments are clipped to ``[-708, 709]`` (results from about
``3e-308`` to ``8e307``; the callers' arguments lie far inside).

:func:`x_over_expm1_v` is ``x / (exp(x) - 1)``, the rate-function form of Hodgkin-Huxley
models: for ``|x| < 0.1`` its series ``1 - x/2 + x^2/12 - x^4/720 + x^6/30240 - x^8/1209600
+ x^10/47900160`` (Bernoulli numbers; truncation below ``1e-22``; the direct form would lose
``eps / |x|`` there), the direct form elsewhere: within ``3e-15`` of ``x / expm1(x)``.

Under ``NUMBA_DISABLE_JIT=1`` both fall back to ``math`` (the bit cast is compiled code).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from .config import INLINE

__all__ = ["exp_v", "x_over_expm1_v"]

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.9082149292705877e-10
#: 1 / j! for j = 13 .. 2, the Taylor coefficients of exp(r) above the linear term.
_C13, _C12, _C11, _C10 = 1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0
_C9, _C8, _C7, _C6 = 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0
_C5, _C4, _C3, _C2 = 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float64 whose bit pattern is the int64 ``bits`` (an LLVM ``bitcast``)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@numba.njit(**INLINE)
def _exp_compiled(x):
    x = min(max(x, -708.0), 709.0)
    k = math.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _C13 * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _bits_to_float((np.int64(k) + 1023) << 52)


@numba.njit(**INLINE)
def _x_over_expm1_compiled(x):
    # a blend through a 0/1 mask rather than a branch, which would keep the loop scalar; the
    # direct form is taken at x + 1 where it is not used, so that it stays finite (0 * it = 0)
    near = (abs(x) < 0.1) * 1.0
    x2 = x * x
    series = 1.0 - 0.5 * x + x2 * (1.0 / 12.0 - x2 * (1.0 / 720.0 - x2 * (
        1.0 / 30240.0 - x2 * (1.0 / 1209600.0 - x2 * (1.0 / 47900160.0)))))
    xd = x + near
    return near * series + (1.0 - near) * (xd / (_exp_compiled(xd) - 1.0))


if numba.config.DISABLE_JIT:  # plain Python: the C library's functions
    def exp_v(x):
        """``exp(x)`` (module docstring)."""
        return math.exp(min(max(x, -708.0), 709.0))

    def x_over_expm1_v(x):
        """``x / (exp(x) - 1)``, 1 at ``x = 0`` (module docstring)."""
        return 1.0 if x == 0.0 else x / math.expm1(x)
else:
    exp_v = _exp_compiled
    x_over_expm1_v = _x_over_expm1_compiled

