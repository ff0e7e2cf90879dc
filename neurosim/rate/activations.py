"""Activation functions of the classic mode: forward ``a = f(z)`` and local backward side by side.

Each entry maps a name to ``(forward(z) -> a, backward(z, a, da) -> dz)``; ``backward`` returns
``dL/dz = f'(z) * dL/da`` (for softmax, the Jacobian-vector product). The arrays keep the
dtype of ``z`` (float32 in training, float64 in gradient checks).

- ``relu``: ``f(z) = max(z, 0)``, ``f'(z) = [z > 0]``.
- ``sigmoid``: ``f(z) = 1 / (1 + exp(-z))``, ``f' = f (1 - f)``.
- ``tanh``: ``f' = 1 - f^2``.
- ``identity``: ``f' = 1``.
- ``softmax`` (over the last axis): ``dz_i = a_i (da_i - sum_j a_j da_j)``. With the
  cross-entropy loss the trainer fuses the two (``dL/dz = p - y``), see :mod:`.losses`.
- ``lif``: the rate curve (Hz) of :data:`neurosim.neurons.lif.LIF_LAYER`,
  ``r(j) = 1000 / (t_ref + tau_m ln(1 + 1 / (j - 1)))`` for ``j > 1``, else 0, with
  ``tau_m = 20 ms`` and ``t_ref = 2 ms`` (LIF_LAYER's fields, in ms; the 1000 turns the
  interval in ms into Hz). The forward pass is ``LIF_LAYER.rate`` itself (cast back to the
  dtype of ``z``), so a trained network's rates equal the model's closed form. Its exact
  derivative ``dr/dj = r^2 tau_m / (1000 j (j - 1))`` is infinite at the threshold ``j = 1``,
  so the backward pass uses the *soft-LIF* derivative of Hunsberger & Eliasmith (2015): the
  rate curve with ``j - 1`` replaced by the softplus ``p = s ln(1 + exp((j - 1) / s))``,
  ``s =`` :data:`SOFT_LIF_SIGMA`::

      dr/dj = r_s(p)^2 tau_m / (1000 p (p + 1)) * sigmoid((j - 1) / s),
      r_s(p) = 1000 / (t_ref + tau_m ln(1 + 1 / p))      (Hz; tau_m, t_ref in ms).

  Above threshold by a few ``s`` it equals the exact derivative to float precision; below
  threshold it is small but non-zero, so silent units still learn.
- ``qcfs`` (Bu et al., ICLR 2022), with the layer's clip ``lambda`` (a learned parameter) and
  ``L`` levels: ``f(z) = (lambda / L) clip(floor(z L / lambda + 1/2), 0, L)``. The floor has a
  zero derivative almost everywhere, so the backward pass passes the gradient straight
  through it (Bengio et al. 2013, as Bu et al. do)::

      df/dz      = [0 < z < lambda]
      df/dlambda = f / lambda - z / lambda * [0 < z < lambda] + [z >= lambda]

  (with the straight-through floor, ``f = z`` inside the range, so the middle terms are the
  rounding error ``(f - z) / lambda``; above the range ``f = lambda``). Its forward and
  backward take the clip and levels: :func:`qcfs_forward`, :func:`qcfs_backward`.
"""

from __future__ import annotations

import numpy as np

from ..neurons.lif import LIF_LAYER

__all__ = ["ACTIVATION_OPS", "SOFT_LIF_SIGMA", "soft_lif_rate", "soft_lif_derivative",
           "qcfs_forward", "qcfs_backward"]

#: Smoothing width of the soft-LIF derivative, in units of the normalised input current.
SOFT_LIF_SIGMA = 0.05


def _relu(z):
    return np.maximum(z, 0)


def _relu_back(z, a, da):
    # da is always a fresh array owned by the backward pass, so it may be overwritten
    np.multiply(da, z > 0, out=da)
    return da


def _sigmoid(z):
    # exp of a non-positive number only, so no overflow for large |z|
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def _sigmoid_back(z, a, da):
    return da * a * (1 - a)


def _tanh(z):
    return np.tanh(z)


def _tanh_back(z, a, da):
    return da * (1 - a * a)


def _identity(z):
    return z


def _identity_back(z, a, da):
    return da


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_back(z, a, da):
    return a * (da - np.sum(a * da, axis=-1, keepdims=True))


def _lif(z):
    return LIF_LAYER.rate(z).astype(z.dtype, copy=False)


def _soft_rate(p):
    """``r_s(p) = 1000 / (t_ref + tau_m ln(1 + 1 / p))`` (Hz) with LIF_LAYER's ``tau_m`` and
    ``t_ref`` (ms)."""
    return 1000.0 / (LIF_LAYER.t_ref + LIF_LAYER.tau_m * np.log1p(1 / p))


def soft_lif_rate(j, sigma: float = SOFT_LIF_SIGMA):
    """Soft-LIF rate (Hz): the LIF curve with ``j - 1`` replaced by a softplus of width sigma."""
    j = np.asarray(j)
    return _soft_rate(sigma * np.logaddexp(0, (j - 1) / sigma))


def soft_lif_derivative(j, sigma: float = SOFT_LIF_SIGMA):
    """``d soft_lif_rate / dj`` (Hz per unit current), the surrogate derivative of ``lif``:
    ``r_s(p)^2 tau_m / (1000 p (p + 1)) * sigmoid((j - 1) / sigma)`` (``tau_m`` in ms)."""
    j = np.asarray(j)
    x = (j - 1) / sigma
    p = sigma * np.logaddexp(0, x)
    p = np.maximum(p, np.finfo(j.dtype if j.dtype.kind == "f" else np.float64).tiny)
    r = _soft_rate(p)
    sig = 0.5 * (1 + np.tanh(0.5 * x))  # logistic(x), overflow-free
    return (r * r * (LIF_LAYER.tau_m / 1000.0) / (p * (p + 1)) * sig).astype(j.dtype,
                                                                          copy=False)


def _lif_back(z, a, da):
    return da * soft_lif_derivative(z)


def qcfs_forward(z, clip, levels):
    """``(lambda / L) clip(floor(z L / lambda + 1/2), 0, L)`` in the dtype of ``z``;
    ``clip`` is the layer's ``(1,)`` parameter ``lambda``, ``levels`` its ``L``."""
    lam = z.dtype.type(clip.reshape(())[()])
    steps = np.floor(z * (levels / lam) + z.dtype.type(0.5))
    np.clip(steps, 0, levels, out=steps)
    steps *= lam / z.dtype.type(levels)
    return steps


def qcfs_backward(z, a, clip, da):
    """``(dL/dz, dL/dlambda)`` with the straight-through floor (module docstring); ``a`` is
    the forward output, ``dL/dlambda`` of shape ``(1,)``."""
    lam = z.dtype.type(clip.reshape(())[()])
    inside = (z > 0) & (z < lam)
    dz = da * inside
    dlam_elem = np.where(inside, (a - z) / lam, (z >= lam).astype(z.dtype))
    dclip = np.array([np.vdot(da, dlam_elem)], dtype=clip.dtype)
    return dz, dclip


ACTIVATION_OPS = {
    "relu": (_relu, _relu_back),
    "sigmoid": (_sigmoid, _sigmoid_back),
    "tanh": (_tanh, _tanh_back),
    "identity": (_identity, _identity_back),
    "softmax": (_softmax, _softmax_back),
    "lif": (_lif, _lif_back),
}
