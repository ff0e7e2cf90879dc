"""Compiled kernels of direct spiking training (backpropagation through time).

Kernels, each with a NumPy twin in :mod:`neurosim.bptt.reference`:

- :func:`forward_layered` runs a batch through the layered fast path's own steps and
  deliveries (:mod:`neurosim.kernels.layers`: the same IF update, the same event-driven
  delivery in the same order, float32 state), so the spikes it records are the engine's spikes,
  bit for bit, and records, per sample, step and neuron, the potential before the reset ``u``
  and the spike. In training, dropout scales the spikes a layer sends on (the values go
  through :func:`~neurosim.kernels.layers.deliver_values`, as analog events).
- :func:`dense_weight_grad`, :func:`conv_weight_grad`: a projection's weight gradient
  accumulated from the spike lists, ``dW[:, i] += f dI[t]`` over the fan-out of each spike
  ``(s, t, i)`` (``f`` its dropout factor): work in proportion to the spikes, not to
  ``n T n_in``;
- :func:`lif_backward`: the same for a layer of LIF neurons (:func:`lif_backward`'s
  docstring has its equations);
- :func:`if_backward` walks one layer of IF neurons back in time: from ``dL/ds[t]`` (the
  gradient reaching the layer's spikes) to ``dL/dI[t]`` (its input current at each step).

IF dynamics and their adjoint (reset by subtraction of ``v_th``; ``H`` the step, ``H'`` the
surrogate :mod:`neurosim.bptt.surrogates` at ``x = u - v_th``)::

    u[t] = v[t-1] + I[t] + b         du[t] = g[t] H'(u[t] - v_th) + dv[t] r[t]
    s[t] = H(u[t] - v_th)            dI[t] = du[t],  dv[t-1] = du[t]
    v[t] = u[t] - v_th s[t]

with ``r[t] = 1`` when the reset is detached (its gradient dropped, as snnTorch and Norse do)
and ``r[t] = 1 - v_th H'(u[t] - v_th)`` when it is kept. With ``window > 0``, ``dv`` is cut at
every multiple of ``window`` steps (truncated BPTT).

Records (``namedtuple``): :data:`Records` ``u`` float32, ``spikes`` uint8 and ``gain``
float32 (LIF layers: the factor ``a`` of :func:`lif_backward`), flat: one block
``(n, T, m_l)`` per layer ``l`` in turn (so each layer's record is one contiguous array), its
neurons in the classic order (``column``: int64 ``(N,)``, the classic index within its layer
of each global neuron), ``sops`` int64 ``(n, n_layers)`` (synaptic operations into each
layer), ``input_macs`` int64 ``(n,)``;
:data:`Dropout` ``scale`` float32 ``(n, N)`` (the factor of each neuron's spikes, 0 or
``1 / (1 - rate)``; no rows: no dropout), ``layer`` int64 ``(n_layers,)`` (1 where a layer's
input spikes pass it); :data:`NeuronGrad` ``thr``, surrogate ``code`` and ``slope``,
``keep_reset`` (0/1), ``window``, ``syn_decay`` (LIF layers: ``exp(-dt / tau_syn)`` of their
input synapse, 0 without one).
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from ..neurons.if_ import layer_step as if_layer_step
from ..neurons.lif import layer_potential as lif_layer_potential
from ..neurons.lif import layer_step as lif_layer_step
from .config import INLINE, JIT
from .layers import (
    L_NEURON,
    L_POP,
    L_PROJ,
    L_SPIKING,
    NEURON_LIF,
    deliver_events,
    deliver_values,
    event_tables,
    initial_potentials,
    nonzero_index,
    nonzero_values,
    synapse_filter,
)
from .layout import POP_END, POP_START

__all__ = ["Records", "Dropout", "NeuronGrad", "surrogate_derivative", "forward_sample",
           "forward_layered", "if_backward", "lif_backward", "dense_weight_grad",
           "conv_weight_grad",
           "CODE_FAST_SIGMOID", "CODE_ARCTAN", "CODE_TRIANGLE", "CODE_SIGMOID"]

Records = namedtuple("Records", ["u", "spikes", "gain", "sops", "input_macs", "column"])
Dropout = namedtuple("Dropout", ["scale", "layer"])
NeuronGrad = namedtuple("NeuronGrad", ["thr", "code", "slope", "keep_reset", "window",
                                       "syn_decay"])

CODE_FAST_SIGMOID, CODE_ARCTAN, CODE_TRIANGLE, CODE_SIGMOID = range(4)


@numba.njit(**INLINE)
def surrogate_derivative(code, x, k):
    """The surrogate ``dH/dx`` of :mod:`neurosim.bptt.surrogates` with code ``code`` and slope
    ``k`` at ``x = u - v_th`` (float64)."""
    if code == CODE_FAST_SIGMOID:
        a = 1.0 + k * abs(x)
        return 1.0 / (a * a)
    if code == CODE_ARCTAN:
        b = np.pi * k * x / 2.0
        return (k / 2.0) / (1.0 + b * b)
    if code == CODE_TRIANGLE:
        return k * max(0.0, 1.0 - k * abs(x))
    s = 1.0 / (1.0 + np.exp(-k * x))
    return k * s * (1.0 - s)


@numba.njit(**INLINE)
def _kept(idx, out, n, offset, scale, vals):
    """The spikes ``idx[:n]`` (local indices; global ``offset + idx``) that dropout keeps,
    written to ``out`` with their factors ``scale[offset + idx]`` in ``vals``; their number.
    A dropped spike does no work."""
    m = 0
    for e in range(n):
        f = scale[offset + idx[e]]
        if f != 0.0:
            out[m] = idx[e]
            vals[m] = f
            m += 1
    return m


@numba.njit(**JIT)
def forward_sample(s, layers, batch, rec, drop, settings):
    """Sample ``s`` of :func:`forward_layered`: the loop of
    :func:`neurosim.kernels.layers.simulate_sample`, recording ``u``, spikes and (LIF layers)
    the factor ``a`` of :func:`neurosim.neurons.lif.layer_potential`."""
    model = layers.model
    table = layers.table
    n_layers = table.shape[0]
    n_total = layers.bias.shape[0]
    n_steps = batch.checkpoints[batch.checkpoints.shape[0] - 1]
    n_in = batch.x_analog.shape[1] if settings.spike_input == 0 else batch.x_spikes.shape[2]
    v = np.empty(n_total, dtype=np.float32)
    cur = np.zeros(n_total, dtype=np.float32)
    ref = np.zeros(n_total, dtype=np.float32)  # LIF layers: refractory time left (ms)
    syn = np.zeros(n_total, dtype=np.float32)  # LIF layers: filtered spike current
    u_lay = np.zeros(n_total, dtype=np.float32)
    a_lay = np.ones(n_total, dtype=np.float32)
    bias = layers.bias.copy()
    spk = np.zeros(n_total, dtype=np.int32)
    vals = np.zeros(n_total, dtype=np.float32)
    in_spk = np.zeros(n_total, dtype=np.int32)
    in_idx = np.zeros(n_in, dtype=np.int32)
    in_val = np.zeros(n_in, dtype=np.float32)
    tables = event_tables(model)
    dropping = drop.scale.shape[0] > 0
    n_samples = rec.sops.shape[0]
    first = model.pop[table[0, L_POP], POP_START]  # the records start with layer 0
    initial_potentials(model.pop, table, layers.prm, settings.v_init, v)
    q0 = table[0, L_PROJ]
    if settings.spike_input == 0:
        m = nonzero_values(batch.x_analog[s], in_idx, in_val)
        rec.input_macs[s] = deliver_values(q0, model, in_idx, in_val, m, bias)
    for t in range(n_steps):
        for li in range(n_layers):
            p = table[li, L_POP]
            a = model.pop[p, POP_START]
            b = model.pop[p, POP_END]
            if li == 0 and settings.spike_input == 1:
                m = nonzero_index(batch.x_spikes[s, t], in_idx)
                if dropping and drop.layer[0] != 0:
                    m = _kept(in_idx, in_idx, m, 0, drop.scale[s], in_val)
                    rec.sops[s, 0] += deliver_values(q0, model, in_idx, in_val, m, cur)
                else:
                    rec.sops[s, 0] += deliver_events(model.proj[q0], tables, in_idx, m, cur)
            thr = np.float32(layers.prm[li, 0])
            row = n_samples * n_steps * (a - first) + (s * n_steps + t) * (b - a)
            if table[li, L_NEURON] == NEURON_LIF and table[li, L_SPIKING] != 0:
                if layers.tau_syn[li] > 0.0:
                    synapse_filter(cur[a:b], syn[a:b],
                                   np.exp(-layers.prm[li, 3] / layers.tau_syn[li]))
                lif_layer_potential(v[a:b], ref[a:b], cur[a:b], bias[a:b], layers.prm[li],
                                    u_lay[a:b], a_lay[a:b])
                ns = lif_layer_step(v[a:b], ref[a:b], cur[a:b], bias[a:b], layers.prm[li],
                                    spk[a:b])
                for k in range(a, b):
                    rec.u[row + rec.column[k]] = u_lay[k]
                    rec.gain[row + rec.column[k]] = a_lay[k]
            else:
                ns = if_layer_step(v[a:b], cur[a:b], bias[a:b], thr,
                                   table[li, L_SPIKING] != 0, spk[a:b])
                for k in range(a, b):
                    rec.u[row + rec.column[k]] = v[k]
                for e in range(ns):  # the potential before the reset by subtraction
                    rec.u[row + rec.column[a + spk[a + e]]] += thr
            for e in range(ns):
                rec.spikes[row + rec.column[a + spk[a + e]]] = 1
            if li < n_layers - 1 and ns > 0:
                q = table[li + 1, L_PROJ]
                if dropping and drop.layer[li + 1] != 0:
                    m = _kept(spk[a:], in_spk, ns, a, drop.scale[s], vals)
                    rec.sops[s, li + 1] += deliver_values(q, model, in_spk, vals, m, cur)
                else:
                    for e in range(ns):
                        spk[a + e] += a  # global indices for delivery
                    rec.sops[s, li + 1] += deliver_events(model.proj[q], tables, spk[a:], ns,
                                                          cur)


@numba.njit(**JIT)
def forward_layered(layers, batch, rec, drop, settings):
    """Run every sample of a batch for ``batch.checkpoints[-1]`` steps, recording ``u`` and spikes
    (module docstring). ``layers`` and ``batch`` are :mod:`neurosim.kernels.layers`' records
    (every layer IF), ``settings`` its :data:`~neurosim.kernels.layers.Settings`."""
    for s in range(rec.sops.shape[0]):
        forward_sample(s, layers, batch, rec, drop, settings)


@numba.njit(**JIT)
def if_backward(g, u, spikes, grad, dcur):
    """``dcur = dL/dI`` of one IF layer from ``g = dL/ds`` (all ``(n, T, m)``, the layer's
    records ``u`` and ``spikes``); see the module docstring for the equations."""
    n, n_steps, m = g.shape
    thr = np.float64(grad.thr)
    dv = np.zeros(m, dtype=np.float64)
    for s in range(n):
        dv[:] = 0.0
        for t in range(n_steps - 1, -1, -1):
            if grad.window > 0 and (t + 1) % grad.window == 0:
                dv[:] = 0.0  # truncated BPTT: no gradient across the window boundary
            gg = g[s, t]
            uu = u[s, t]
            dd = dcur[s, t]
            for k in range(m):
                sg = surrogate_derivative(grad.code, np.float64(uu[k]) - thr, grad.slope)
                keep = 1.0 - thr * sg if grad.keep_reset != 0 else 1.0
                du = np.float64(gg[k]) * sg + dv[k] * keep
                dd[k] = du
                dv[k] = du


@numba.njit(**JIT)
def lif_backward(g, u, spikes, gain, grad, dcur, dj):
    """``dcur = dL/dI`` (the spike current, before the synapse) and ``dj = dL/dJ`` (the total
    input, through which the bias acts) of one LIF layer (:data:`~neurosim.neurons.lif.
    LIF_LAYER`) from ``g = dL/ds``; ``gain`` the recorded factor ``a``. Equations::

        u[t] = a[t] v[t-1] + (1 - a[t]) J[t],  J[t] = syn[t] + b
        syn[t] = d syn[t-1] + (1 - d) I[t]     (d = grad.syn_decay; 0: J = I + b)
        s[t] = H(u[t] - v_th),  v[t] = u[t] (1 - s[t])   (reset to 0)

        du[t] = g[t] H'(u[t] - v_th) + dv[t] r[t],   r[t] = 1 - s[t] (detached reset)
                                                     or 1 - s[t] - u[t] H'(u[t] - v_th)
        dv[t-1] = a[t] du[t],   dJ[t] = (1 - a[t]) du[t]
        dsyn[t] = dJ[t] + d dsyn[t+1],   dI[t] = (1 - d) dsyn[t]

    The refractory period and the interpolated spike time are taken as constants (their
    dependence on the parameters is not differentiated)."""
    n, n_steps, m = g.shape
    thr = np.float64(grad.thr)
    d = np.float64(grad.syn_decay)
    dv = np.zeros(m, dtype=np.float64)
    dsyn = np.zeros(m, dtype=np.float64)
    for s in range(n):
        dv[:] = 0.0
        dsyn[:] = 0.0
        for t in range(n_steps - 1, -1, -1):
            if grad.window > 0 and (t + 1) % grad.window == 0:
                dv[:] = 0.0
                dsyn[:] = 0.0
            gg = g[s, t]
            uu = u[s, t]
            ss = spikes[s, t]
            aa = gain[s, t]
            dd = dcur[s, t]
            jj = dj[s, t]
            for k in range(m):
                x = np.float64(uu[k])
                sg = surrogate_derivative(grad.code, x - thr, grad.slope)
                r = 1.0 - np.float64(ss[k])
                if grad.keep_reset != 0:
                    r -= x * sg
                du = np.float64(gg[k]) * sg + dv[k] * r
                a = np.float64(aa[k])
                dv[k] = a * du
                dJ = (1.0 - a) * du
                jj[k] = dJ
                dsyn[k] = dJ + d * dsyn[k]
                dd[k] = (1.0 - d) * dsyn[k]


@numba.njit(**JIT)
def dense_weight_grad(spikes, scale, dz, dwt):
    """``dwt[i, :] += f dz[s, t, :]`` for every spike ``spikes[s, t, i]`` (uint8 ``(n, T,
    m_in)``), ``f = scale[s, i]`` (``(n, m_in)``; no rows: 1); ``dz`` float32 ``(n, T, m_out)``
    the gradient of the layer's input current, ``dwt`` ``(m_in, m_out)`` the transposed
    weight gradient (``W`` is ``(m_out, m_in)``)."""
    n, n_steps, m_in = spikes.shape
    m_out = dz.shape[2]
    scaled = scale.shape[0] > 0
    for s in range(n):
        for t in range(n_steps):
            sp = spikes[s, t]
            d = dz[s, t]
            for i in range(m_in):
                if sp[i] != 0:
                    f = scale[s, i] if scaled else np.float32(1.0)
                    row = dwt[i]
                    for o in range(m_out):
                        row[o] += f * d[o]


@numba.njit(**JIT)
def conv_weight_grad(spikes, scale, dz, win, dwk):
    """Convolution weight gradient from the spikes ``(n, T, C, H, W)`` (uint8) of its input:
    each spike at ``(c, y, x)`` adds ``f dz[s, t, i, j, :]`` to ``dwk[c, u, v, :]`` for every
    output ``(i, j)`` its window reaches through tap ``(u, v)``, ``i s_h + u - p_h = y`` (the
    fan-out of :func:`neurosim.builder.layered.window_fanout_table`). ``dz`` float32 channels
    last ``(n, T, H_out, W_out, F)``, ``win`` a :data:`neurosim.kernels.conv.Window`, ``dwk``
    ``(C, kh, kw, F)``; ``scale`` as in :func:`dense_weight_grad` (flat ``(n, C H W)``)."""
    n, n_steps, c_in, h, w = spikes.shape
    h_out, w_out, f_out = dz.shape[2], dz.shape[3], dz.shape[4]
    kh, kw, sh, sw, ph, pw = win
    scaled = scale.shape[0] > 0
    for s in range(n):
        for t in range(n_steps):
            for c in range(c_in):
                for y in range(h):
                    for x in range(w):
                        if spikes[s, t, c, y, x] == 0:
                            continue
                        f = scale[s, (c * h + y) * w + x] if scaled else np.float32(1.0)
                        for u in range(kh):
                            ty = y + ph - u
                            if ty < 0 or ty % sh != 0 or ty // sh >= h_out:
                                continue
                            for v in range(kw):
                                tx = x + pw - v
                                if tx < 0 or tx % sw != 0 or tx // sw >= w_out:
                                    continue
                                row = dwk[c, u, v]
                                d = dz[s, t, ty // sh, tx // sw]
                                for o in range(f_out):
                                    row[o] += f * d[o]
