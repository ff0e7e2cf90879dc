"""Recurrent layers of the classic mode: forward and backpropagation through time side by side.

Both take a batch of sequences ``x (N, T, F)`` and keep the hidden states of every step in
their cache; the backward pass walks the steps in reverse (BPTT, Werbos 1990). The input
products of all steps are one matrix product before the loop (``x W^T + b``, shape
``(N, T, rows)``) and the weight gradients ``dW``, ``db`` one matrix product after it; inside
the loop only the recurrent product ``h_{t-1} U^T`` (and its gradient) remains.

- ``rnn`` (Elman 1990): ``a_t = W x_t + U h_{t-1} + b``, ``h_t = f(a_t)``; backward
  ``da_t = (dh_t + U^T da_{t+1}) * f'(a_t)`` with ``f' = 1 - h^2`` (tanh) or ``[h > 0]`` (relu).
- ``lstm``: gates ``[i, f, g, o]``, ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``; backward
  ``dc_t = dh_t o (1 - tanh^2 c_t) + dc_{t+1} f_{t+1}``, ``di = dc g``, ``df = dc c_{t-1}``,
  ``dg = dc i``, ``do = dh tanh c_t``, then through each gate's own nonlinearity.

``dz`` (the gradient of the layer's output) is ``(N, units)`` for the last state only, or
``(N, T, units)`` with ``return_sequences``. Gradient clipping (a bound on the global norm of
all gradients, ``[training] clip_norm``) is applied by the trainer after the whole backward
pass.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RECURRENT_OPS", "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward",
           "hidden_states"]


def _sigmoid(z):
    # exp of a non-positive number only, so no overflow for large |z|
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def _input_products(p, x):
    """``x W^T + b`` for every step at once: ``(N, T, rows)``."""
    n, t, f = x.shape
    a = (x.reshape(n * t, f) @ p["W"].T).reshape(n, t, -1)
    if "b" in p:
        a += p["b"]
    return a


def _output(layer, hs):
    return hs if layer.return_sequences else hs[:, -1]


def _per_step(layer, dz, shape):
    """The output gradient as ``(N, T, units)`` (zero at every step but the last when the
    layer returns only its last state)."""
    if layer.return_sequences:
        return dz
    d = np.zeros(shape, dtype=dz.dtype)
    d[:, -1] = dz
    return d


def _weight_grads(p, x, da, dh0_u):
    """``dW = sum_t da_t^T x_t``, ``db = sum_{n,t} da``; ``dU`` is given (``dh0_u``)."""
    n, t, f = x.shape
    d2 = da.reshape(n * t, -1)
    grads = {"W": d2.T @ x.reshape(n * t, f), "U": dh0_u}
    if "b" in p:
        grads["b"] = d2.sum(axis=0)
    return grads


# ----------------------------------------------------------------------------- rnn

def rnn_forward(layer, p, x, training, rng):
    """``h_t = f(W x_t + U h_{t-1} + b)``; cache ``(x, hs)`` with ``hs (N, T, units)``."""
    a = _input_products(p, x)
    n, t, h = a.shape
    hs = np.empty_like(a)
    prev = np.zeros((n, h), dtype=a.dtype)
    ut = p["U"].T
    relu = layer.nonlinearity == "relu"
    for s in range(t):
        cur = a[:, s] + prev @ ut
        prev = np.maximum(cur, 0, out=cur) if relu else np.tanh(cur, out=cur)
        hs[:, s] = prev
    return _output(layer, hs), (x, hs)


def rnn_backward(layer, p, cache, dz, need_dx):
    x, hs = cache
    n, t, h = hs.shape
    dh_out = _per_step(layer, dz, hs.shape)
    da = np.empty_like(hs)
    u = p["U"]
    carry = np.zeros((n, h), dtype=hs.dtype)  # U^T da_{t+1}: the gradient from the future
    relu = layer.nonlinearity == "relu"
    for s in range(t - 1, -1, -1):
        d = dh_out[:, s] + carry
        d *= (hs[:, s] > 0) if relu else (1 - hs[:, s] ** 2)
        da[:, s] = d
        carry = d @ u
    prev = np.concatenate([np.zeros((n, 1, h), hs.dtype), hs[:, :-1]], axis=1)
    du = da.reshape(n * t, h).T @ prev.reshape(n * t, h)
    grads = _weight_grads(p, x, da, du)
    return ((da @ p["W"]) if need_dx else None), grads


# ----------------------------------------------------------------------------- lstm

def lstm_forward(layer, p, x, training, rng):
    """Gates, cell and hidden state of every step; cache ``(x, gates, cs, hs)`` with
    ``gates (N, T, 4 units)`` after their nonlinearities and ``cs``, ``hs (N, T, units)``."""
    a = _input_products(p, x)
    n, t, rows = a.shape
    h = rows // 4
    gates = np.empty_like(a)
    cs = np.empty((n, t, h), dtype=a.dtype)
    hs = np.empty_like(cs)
    prev_h = np.zeros((n, h), dtype=a.dtype)
    prev_c = np.zeros((n, h), dtype=a.dtype)
    ut = p["U"].T
    for s in range(t):
        z = a[:, s] + prev_h @ ut
        g = gates[:, s]
        g[:, :2 * h] = _sigmoid(z[:, :2 * h])
        g[:, 2 * h:3 * h] = np.tanh(z[:, 2 * h:3 * h])
        g[:, 3 * h:] = _sigmoid(z[:, 3 * h:])
        prev_c = g[:, h:2 * h] * prev_c + g[:, :h] * g[:, 2 * h:3 * h]
        cs[:, s] = prev_c
        prev_h = g[:, 3 * h:] * np.tanh(prev_c)
        hs[:, s] = prev_h
    return _output(layer, hs), (x, gates, cs, hs)


def lstm_backward(layer, p, cache, dz, need_dx):
    x, gates, cs, hs = cache
    n, t, h = hs.shape
    dh_out = _per_step(layer, dz, hs.shape)
    dz_all = np.empty_like(gates)
    u = p["U"]
    dh_next = np.zeros((n, h), dtype=hs.dtype)
    dc_next = np.zeros((n, h), dtype=hs.dtype)
    zero = np.zeros((n, h), dtype=hs.dtype)
    for s in range(t - 1, -1, -1):
        g = gates[:, s]
        i, f, gg, o = g[:, :h], g[:, h:2 * h], g[:, 2 * h:3 * h], g[:, 3 * h:]
        tc = np.tanh(cs[:, s])
        dh = dh_out[:, s] + dh_next
        dc = dh * o * (1 - tc ** 2) + dc_next
        c_prev = cs[:, s - 1] if s > 0 else zero
        d = dz_all[:, s]
        d[:, :h] = dc * gg * i * (1 - i)
        d[:, h:2 * h] = dc * c_prev * f * (1 - f)
        d[:, 2 * h:3 * h] = dc * i * (1 - gg ** 2)
        d[:, 3 * h:] = dh * tc * o * (1 - o)
        dc_next = dc * f
        dh_next = d @ u
    prev = np.concatenate([np.zeros((n, 1, h), hs.dtype), hs[:, :-1]], axis=1)
    du = dz_all.reshape(n * t, 4 * h).T @ prev.reshape(n * t, h)
    grads = _weight_grads(p, x, dz_all, du)
    return ((dz_all @ p["W"]) if need_dx else None), grads


def hidden_states(cache) -> np.ndarray:
    """The hidden states ``(N, T, units)`` of every step from a recurrent layer's cache (the
    last element of both caches)."""
    return cache[-1]


RECURRENT_OPS = {
    "rnn": (rnn_forward, rnn_backward),
    "lstm": (lstm_forward, lstm_backward),
}
