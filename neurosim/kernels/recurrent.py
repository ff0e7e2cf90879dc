"""The compiled sequence loop of a recurrent spiking layer, and its adjoint (BPTT).

It runs the arrays of a built graph (:mod:`neurosim.builder.recurrent`): an input source of
``F`` neurons, a recurrent layer of ``m`` neurons (population ``pops[0]``) and a membrane
readout of ``c`` neurons (``pops[1]``), joined by the projections ``0`` (input -> layer,
analog values), ``1`` (layer -> layer, **delay** ``D`` **steps**: 1 for an ``rlif`` layer)
and ``2`` (layer -> readout). Per step ``t`` of a sample (row ``t // hold`` of its sequence;
``hold`` steps per row)::

    I[t] = W x[row] + U z[t-D] + b       (deliveries through the built fan-out tables)
    B[t] = rho B[t-1] + (1 - rho) z[t-1],   A[t] = v_th + beta B[t]
    u[t] = max(alpha v[t-1] + I[t], v_min),   z[t] = [u[t] >= A[t]],   v[t] = u[t] - A[t] z[t]
    o[t] = o[t-1] + W_o z[t] + b_o       (the readout integrates without firing, from step
                                          readout_from on)

Delivery is event-driven as in :mod:`neurosim.kernels.layers`: the non-zero inputs of the row
are analog events (:func:`~neurosim.kernels.layers.deliver_values`, their MACs counted), the
spikes of ``t - 1`` go through the recurrent projection and those of ``t`` through the
output projection (:func:`~neurosim.kernels.layers.deliver_events`, SOPs counted). Neuron
state is float64 (private to the sample), currents and records float32.

Records (``namedtuple``): :data:`Net` ``model`` (the built Model, float32 weights), ``bias``
float32 ``(N,)``, ``prm`` float64 ``(alpha, rho, beta, v_th, v_min)`` (``v_min``: the
membrane's lower bound, ``-inf`` for an ``rlif`` layer, 0 for a converted ReLU RNN),
``pops`` int64 (the layer's and the readout's population), ``delay`` (``D``, steps);
:data:`Sequences` ``x`` float32 ``(n, S, F)``, ``hold`` (steps per row), ``readout_from``
(the first step the readout integrates); :data:`Trace` ``u``, ``thr`` float32 and
``spikes`` uint8 ``(n, T, m)`` (no rows: not recorded), ``counts`` int32 ``(n, m)`` spikes
per neuron, ``v_out`` float32 ``(n, c)`` the readout after the last step, ``ops`` int64
``(n, 3)`` (input MACs, recurrent SOPs, output SOPs); :data:`RecGrad` surrogate ``code``
and ``slope``, ``keep_reset``, ``window``, ``alpha``, ``rho``, ``beta``.

The adjoint (:func:`rlif_backward`; ``H'`` the surrogate at ``u - A``, ``g[t] = dL/dz[t]``
from the readout)::

    gz[t] = g[t] + U^T dI[t+1] + (1 - rho) dB[t+1]  (- A[t] dv[t] with the reset kept)
    du[t] = dv[t] + H' gz[t],   dA[t] = -H' gz[t]   (- z[t] dv[t] with the reset kept)
    dB[t] = beta dA[t] + rho dB[t+1],   dI[t] = du[t],   dv[t-1] = alpha du[t]

The recurrent product ``U^T dI[t+1]`` is one matrix product over the batch per step (BLAS).
The adjoint is that of an ``rlif`` layer: ``D = 1``, the readout over every step.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from .bptt import surrogate_derivative
from .config import JIT
from .layers import deliver_events, deliver_values, event_tables, nonzero_values
from .layout import POP_END, POP_START

__all__ = ["Net", "Sequences", "Trace", "RecGrad", "forward_sample", "forward",
           "rlif_backward"]

Net = namedtuple("Net", ["model", "bias", "prm", "pops", "delay"])
Sequences = namedtuple("Sequences", ["x", "hold", "readout_from"])
Trace = namedtuple("Trace", ["u", "thr", "spikes", "counts", "v_out", "ops"])
RecGrad = namedtuple("RecGrad", ["code", "slope", "keep_reset", "window", "alpha", "rho",
                                 "beta"])


@numba.njit(**JIT)
def forward_sample(s, net, seq, tr):
    """Sample ``s`` of :func:`forward` (module docstring)."""
    model = net.model
    pop = model.pop
    r0 = pop[net.pops[0], POP_START]
    m = pop[net.pops[0], POP_END] - r0
    o0 = pop[net.pops[1], POP_START]
    c = pop[net.pops[1], POP_END] - o0
    alpha, rho, beta, vth, v_min = net.prm[0], net.prm[1], net.prm[2], net.prm[3], net.prm[4]
    n_total = net.bias.shape[0]
    n_in = seq.x.shape[2]
    n_steps = seq.x.shape[1] * seq.hold
    recording = tr.u.shape[0] > 0
    cur = np.zeros(n_total, dtype=np.float32)
    v = np.zeros(m)
    adapt = np.zeros(m)
    z_prev = np.zeros(m)
    vo = np.zeros(c)
    spk = np.zeros(m, dtype=np.int32)
    # the spikes of the last ``delay`` steps (global indices), a ring indexed by t % delay
    delay = net.delay
    hist = np.zeros((delay, m), dtype=np.int32)
    hist_n = np.zeros(delay, dtype=np.int64)
    in_idx = np.zeros(n_in, dtype=np.int32)
    in_val = np.zeros(n_in, dtype=np.float32)
    tables = event_tables(model)
    for t in range(n_steps):
        k_nz = nonzero_values(seq.x[s, t // seq.hold], in_idx, in_val)
        tr.ops[s, 0] += deliver_values(0, model, in_idx, in_val, k_nz, cur)
        slot = t % delay
        tr.ops[s, 1] += deliver_events(model.proj[1], tables, hist[slot], hist_n[slot], cur)
        ns = 0
        for k in range(m):
            b = rho * adapt[k] + (1.0 - rho) * z_prev[k]
            adapt[k] = b
            thr = vth + beta * b
            u = alpha * v[k] + (np.float64(cur[r0 + k]) + np.float64(net.bias[r0 + k]))
            cur[r0 + k] = 0.0
            if u < v_min:
                u = v_min
            z = 0.0
            if u >= thr:
                z = 1.0
                spk[ns] = r0 + k
                ns += 1
                tr.counts[s, k] += 1
            v[k] = u - thr * z
            z_prev[k] = z
            if recording:
                tr.u[s, t, k] = u
                tr.thr[s, t, k] = thr
                tr.spikes[s, t, k] = np.uint8(z)
        tr.ops[s, 2] += deliver_events(model.proj[2], tables, spk, ns, cur)
        if t >= seq.readout_from:
            for o in range(c):
                vo[o] += np.float64(cur[o0 + o]) + np.float64(net.bias[o0 + o])
        for o in range(c):
            cur[o0 + o] = 0.0
        for e in range(ns):
            hist[slot, e] = spk[e]
        hist_n[slot] = ns
    for o in range(c):
        tr.v_out[s, o] = vo[o]


@numba.njit(**JIT)
def forward(net, seq, tr):
    """Run every sample of ``seq`` for ``S hold`` steps (module docstring); records into
    ``tr``."""
    for s in range(tr.v_out.shape[0]):
        forward_sample(s, net, seq, tr)


@numba.njit(**JIT)
def rlif_backward(g, tr, u_rec, grad, dcur):
    """``dcur = dL/dI`` ``(n, T, m)`` of the recurrent layer from ``g = dL/dz`` (the readout's
    gradient on the spikes, ``(n, T, m)``), the records ``tr`` and the recurrent weights
    ``u_rec`` ``(m, m)`` float32 (row ``j``: the weights into neuron ``j``); equations in the
    module docstring."""
    n, n_steps, m = g.shape
    alpha, rho, beta = grad.alpha, grad.rho, grad.beta
    d_next = np.zeros((n, m), dtype=u_rec.dtype)  # dI[t+1], in the dtype of the weights
    dv = np.zeros((n, m))
    db = np.zeros((n, m))
    for t in range(n_steps - 1, -1, -1):
        if grad.window > 0 and (t + 1) % grad.window == 0:
            d_next[:] = 0.0  # truncated BPTT: nothing crosses the window boundary
            dv[:] = 0.0
            db[:] = 0.0
        carry = np.dot(d_next, u_rec)
        for s in range(n):
            for k in range(m):
                u = np.float64(tr.u[s, t, k])
                a = np.float64(tr.thr[s, t, k])
                sg = surrogate_derivative(grad.code, u - a, grad.slope)
                gz = np.float64(g[s, t, k]) + np.float64(carry[s, k]) + (1.0 - rho) * db[s, k]
                da = 0.0
                if grad.keep_reset != 0:
                    gz -= a * dv[s, k]
                    da -= np.float64(tr.spikes[s, t, k]) * dv[s, k]
                du = dv[s, k] + sg * gz
                da -= sg * gz
                db[s, k] = beta * da + rho * db[s, k]
                dcur[s, t, k] = du
                d_next[s, k] = du
                dv[s, k] = alpha * du
