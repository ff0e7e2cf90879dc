"""NumPy twins of the recurrent spiking kernels (:mod:`neurosim.kernels.recurrent`) and a smooth
forward pass of the same network.

- :func:`forward`: the sequence loop written with whole-layer arrays and dense products over
  the built weights (in the kernel's order of additions, so it gives the same float32
  currents, spike for spike);
- :func:`rlif_backward`: the adjoint, step by step over the whole batch;
- :func:`smooth_forward`: the layer with the step ``H`` replaced by ``sigmoid(k x)`` (the
  ``sigmoid`` surrogate's step), in the parameters' dtype: a differentiable function whose
  exact gradient :func:`neurosim.bptt.recurrent.recurrent_backward` computes with the
  ``sigmoid`` surrogate and ``reset_gradient = "keep"``. The gradient checks compare it with
  finite differences.
"""

from __future__ import annotations

import numpy as np

from ..kernels import layout as L
from ..kernels import recurrent as KR
from .reference import surrogate_derivative
from .surrogates import get_surrogate

__all__ = ["forward", "rlif_backward", "smooth_forward"]


def _dense_rows(model, q):
    """The weights of dense projection ``q`` as ``(n_pre, n_post)`` float32."""
    pj = model.proj[q]
    n_pre = pj[L.PROJ_PRE_END] - pj[L.PROJ_PRE_START]
    n_post = pj[L.PROJ_POST_END] - pj[L.PROJ_POST_START]
    w0 = pj[L.PROJ_WEIGHT]
    return model.weights[w0:w0 + n_pre * n_post].reshape(n_pre, n_post)


def _add_rows(w, idx, vals=None, acc=None):
    """``acc + sum_e vals[e] w[idx[e]]`` in float32, added one row at a time in the order of
    ``idx`` (as the kernel's delivery adds them)."""
    acc = np.zeros(w.shape[1], np.float32) if acc is None else acc
    for e, i in enumerate(idx):
        acc += w[i] if vals is None else np.float32(vals[e]) * w[i]
    return acc


def forward(net, seq, tr):
    """Twin of :func:`neurosim.kernels.recurrent.forward`."""
    model = net.model
    pop = model.pop
    r0, r1 = pop[net.pops[0], L.POP_START], pop[net.pops[0], L.POP_END]
    o0, o1 = pop[net.pops[1], L.POP_START], pop[net.pops[1], L.POP_END]
    alpha, rho, beta, vth, v_min = (float(a) for a in net.prm)
    w_in, w_rec, w_out = (_dense_rows(model, q) for q in range(3))
    b_rec = net.bias[r0:r1].astype(np.float64)
    b_out = net.bias[o0:o1].astype(np.float64)
    n_steps = seq.x.shape[1] * seq.hold
    recording = tr.u.shape[0] > 0
    m, c = r1 - r0, o1 - o0
    for s in range(tr.v_out.shape[0]):
        v, adapt, z, vo = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(c)
        hist = [np.zeros(m)] * int(net.delay)  # the spikes of steps t - D .. t - 1
        for t in range(n_steps):
            row = seq.x[s, t // seq.hold]
            nz = np.flatnonzero(row)
            cur = _add_rows(w_in, nz, row[nz])
            tr.ops[s, 0] += nz.size * m
            prev = np.flatnonzero(hist[0])
            cur = _add_rows(w_rec, prev, acc=cur)
            tr.ops[s, 1] += prev.size * m
            adapt = rho * adapt + (1.0 - rho) * z
            thr = vth + beta * adapt
            u = np.maximum(alpha * v + (cur.astype(np.float64) + b_rec), v_min)
            z = (u >= thr).astype(np.float64)
            v = u - thr * z
            hist = [*hist[1:], z]
            tr.counts[s] += z.astype(np.int32)
            if recording:
                tr.u[s, t], tr.thr[s, t], tr.spikes[s, t] = u, thr, z
            fired = np.flatnonzero(z)
            if t >= seq.readout_from:
                vo += _add_rows(w_out, fired).astype(np.float64) + b_out
            tr.ops[s, 2] += fired.size * c
        tr.v_out[s] = vo


def rlif_backward(g, tr, u_rec, grad, dcur):
    """Twin of :func:`neurosim.kernels.recurrent.rlif_backward`, step by step."""
    n, n_steps, m = g.shape
    d_next = np.zeros((n, m))
    dv = np.zeros((n, m))
    db = np.zeros((n, m))
    u_rec = np.asarray(u_rec, np.float64)
    for t in range(n_steps - 1, -1, -1):
        if grad.window > 0 and (t + 1) % grad.window == 0:
            d_next[:], dv[:], db[:] = 0.0, 0.0, 0.0
        u = tr.u[:, t].astype(np.float64)
        a = tr.thr[:, t].astype(np.float64)
        sg = surrogate_derivative(grad.code, u - a, grad.slope)
        gz = g[:, t].astype(np.float64) + d_next @ u_rec + (1.0 - grad.rho) * db
        da = np.zeros((n, m))
        if grad.keep_reset:
            gz = gz - a * dv
            da = -tr.spikes[:, t].astype(np.float64) * dv
        du = dv + sg * gz
        da = da - sg * gz
        db = grad.beta * da + grad.rho * db
        dcur[:, t] = du
        d_next = du
        dv = grad.alpha * du


def smooth_forward(spec, params, x, hold, slope, dt=1.0):
    """``(trace, z)``: the records (``spikes`` real-valued) and logits ``o[T] / T`` of the
    smooth network, in the parameters' dtype (module docstring)."""
    step = get_surrogate("sigmoid", slope).step
    p0, p1 = params
    dtype = p0["W"].dtype
    layer = spec.layers[0]
    alpha, rho = layer.decays(dt)
    beta, vth = float(layer.adaptation), float(layer.v_th)
    x = np.asarray(x, dtype).reshape(len(x), *spec.input_shape)
    n, rows, _ = x.shape
    m = p0["W"].shape[0]
    t_all = rows * hold
    u_r, thr_r, s_r = (np.zeros((n, t_all, m), dtype) for _ in range(3))
    v, adapt, z = (np.zeros((n, m), dtype) for _ in range(3))
    vo = np.zeros((n, p1["W"].shape[0]), dtype)
    for t in range(t_all):
        cur = x[:, t // hold] @ p0["W"].T + z @ p0["U"].T + p0.get("b", 0.0)
        adapt = rho * adapt + (1 - rho) * z
        thr = vth + beta * adapt
        u = alpha * v + cur
        z = step(u - thr)
        v = u - thr * z
        u_r[:, t], thr_r[:, t], s_r[:, t] = u, thr, z
        vo = vo + z @ p1["W"].T + p1.get("b", 0.0)
    trace = KR.Trace(u=u_r, thr=thr_r, spikes=s_r, counts=None, v_out=vo, ops=None)
    return trace, vo / t_all
