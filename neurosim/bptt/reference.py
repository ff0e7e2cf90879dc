"""NumPy twins of the BPTT kernels (:mod:`neurosim.kernels.bptt`) and a smooth forward pass.

- :func:`forward_layered`, :func:`if_backward`: same records in, same records out as the
  compiled kernels, written for clarity (the engine's NumPy delivery
  :func:`neurosim.spike.reference.deliver` and IF twin
  :func:`neurosim.neurons.if_.layer_step_numpy`).
- :func:`smooth_forward`: the same network in the classic order with the step ``H`` replaced
  by ``sigmoid(k x)`` (:class:`~neurosim.bptt.surrogates.Sigmoid`) and dense arithmetic (the
  classic layers' forward on every step): a differentiable function of the parameters whose
  exact gradient is what :func:`neurosim.bptt.backward.backward` computes with the ``sigmoid``
  surrogate and ``reset_gradient = "keep"``. The gradient checks compare it with finite
  differences.
"""

from __future__ import annotations

import numpy as np

from ..kernels import layers as K
from ..kernels import layout as L
from ..neurons import if_, lif
from ..neurons.lif import LIF_LAYER
from ..rate.layers import LAYER_OPS
from ..spike.reference import deliver
from ..spike.reference_layers import analog_current, synapse_filter
from .net import LayerRecord
from .surrogates import get_surrogate

__all__ = ["forward_layered", "if_backward", "lif_backward", "surrogate_derivative",
           "smooth_forward",
           "dense_weight_grad", "conv_weight_grad"]


def surrogate_derivative(code, x, k):
    """Twin of :func:`neurosim.kernels.bptt.surrogate_derivative` (float64 arrays)."""
    from .surrogates import SURROGATES

    cls = next(c for c in SURROGATES.values() if c.code == code)
    return cls(k).derivative(np.asarray(x, np.float64))


def _values(drop, s, li, idx, offset, n_pre):
    """The dropout factors of spikes ``idx`` (local) into layer ``li`` as a dense vector over
    the pre population, or ``None`` when no dropout acts there."""
    if not (drop.scale.shape[0] and drop.layer[li]):
        return None
    values = np.zeros(n_pre, np.float32)
    values[idx] = drop.scale[s, offset + idx]
    return values


def _send(model, delta, state, q, idx, values, sops):
    """Spikes ``idx`` (global indices) through projection ``q`` into the state's current: as
    events, or, when ``values`` (per pre neuron, local) is given, as analog values (their
    dropout factors; dropped spikes do nothing). Adds the synaptic operations to ``sops[0]``."""
    if values is not None:
        sops[0] += analog_current(model, q, values, state.syn[0])
        return
    c = model.proj[q, L.PROJ_COUNTER]
    before = state.counters[c]
    deliver(delta, state, q, idx, 0)
    sops[0] += state.counters[c] - before


def forward_layered(layers, batch, rec, drop, settings):
    """Twin of :func:`neurosim.kernels.bptt.forward_layered`."""
    model, table, prm = layers.model, layers.table, layers.prm
    bounds = [(int(model.pop[p, L.POP_START]), int(model.pop[p, L.POP_END]))
              for p in table[:, K.L_POP]]
    delta = model._replace(chan=np.array([[L.SYN_CURRENT, 0.0, 0.0, 1.0]]),
                           proj=model.proj.copy())
    delta.proj[:, L.PROJ_CHANNEL] = 0
    delta.proj[:, L.PROJ_DELAY] = 1
    n_total = layers.bias.shape[0]
    q0 = int(table[0, K.L_PROJ])
    n_samples = rec.sops.shape[0]
    n_steps = int(batch.checkpoints[-1])
    first = bounds[0][0]
    for s in range(n_samples):
        v = np.zeros(n_total, np.float32)
        cur = np.zeros(n_total, np.float32)
        ref = np.zeros(n_total, np.float32)
        syn = np.zeros(n_total, np.float32)
        bias = layers.bias.copy()
        for li, (a, b) in enumerate(bounds):
            v[a:b] = np.float32(settings.v_init * prm[li, 0])
        counters = np.zeros(model.proj.shape[0], np.int64)
        state = L.State(x=v[None], syn=cur[None], refc=np.zeros(1, np.int32),
                        ring=np.zeros((1, 1, 1)), counters=counters)

        if settings.spike_input == 0:
            rec.input_macs[s] = analog_current(model, q0, batch.x_analog[s], bias)
        n_in = int(model.pop[0, L.POP_END])
        for t in range(n_steps):
            for li, (a, b) in enumerate(bounds):
                if li == 0 and settings.spike_input == 1:
                    idx = np.flatnonzero(batch.x_spikes[s, t])
                    _send(model, delta, state, q0, idx, _values(drop, s, 0, idx, 0, n_in),
                          rec.sops[s, 0:1])
                spk = np.zeros(b - a, np.int64)
                thr = np.float32(prm[li, 0])
                row = n_samples * n_steps * (a - first) + (s * n_steps + t) * (b - a)
                cols = row + rec.column[a:b]
                if table[li, K.L_NEURON] == K.NEURON_LIF and table[li, K.L_SPIKING]:
                    if layers.tau_syn[li] > 0:
                        synapse_filter(cur[a:b], syn[a:b],
                                       np.exp(-prm[li, 3] / layers.tau_syn[li]))
                    u, gain = np.zeros(b - a, np.float32), np.zeros(b - a, np.float32)
                    lif.layer_potential_numpy(v[a:b], ref[a:b], cur[a:b], bias[a:b], prm[li],
                                              u, gain)
                    ns = lif.layer_step_numpy(v[a:b], ref[a:b], cur[a:b], bias[a:b], prm[li],
                                              spk)
                    rec.u[cols] = u
                    rec.gain[cols] = gain
                else:
                    ns = if_.layer_step_numpy(v[a:b], cur[a:b], bias[a:b], thr,
                                              bool(table[li, K.L_SPIKING]), spk)
                    rec.u[cols] = v[a:b]
                    rec.u[row + rec.column[a + spk[:ns]]] += thr
                rec.spikes[row + rec.column[a + spk[:ns]]] = 1
                if li < len(bounds) - 1 and ns:
                    _send(model, delta, state, int(table[li + 1, K.L_PROJ]), spk[:ns] + a,
                          _values(drop, s, li + 1, spk[:ns], a, b - a), rec.sops[s, li + 1:li + 2])


def if_backward(g, u, spikes, grad, dcur):
    """Twin of :func:`neurosim.kernels.bptt.if_backward`: the adjoint, step by step."""
    n, n_steps, m = g.shape
    dv = np.zeros((n, m))
    for t in range(n_steps - 1, -1, -1):
        if grad.window > 0 and (t + 1) % grad.window == 0:
            dv[:] = 0.0
        sg = surrogate_derivative(grad.code, u[:, t].astype(np.float64) - grad.thr, grad.slope)
        keep = 1.0 - grad.thr * sg if grad.keep_reset else 1.0
        dv = g[:, t].astype(np.float64) * sg + dv * keep
        dcur[:, t] = dv


def lif_backward(g, u, spikes, gain, grad, dcur, dj):
    """Twin of :func:`neurosim.kernels.bptt.lif_backward`, step by step."""
    n, n_steps, m = g.shape
    d = float(grad.syn_decay)
    dv = np.zeros((n, m))
    dsyn = np.zeros((n, m))
    for t in range(n_steps - 1, -1, -1):
        if grad.window > 0 and (t + 1) % grad.window == 0:
            dv[:] = 0.0
            dsyn[:] = 0.0
        x = u[:, t].astype(np.float64)
        sg = surrogate_derivative(grad.code, x - grad.thr, grad.slope)
        r = 1.0 - spikes[:, t].astype(np.float64)
        if grad.keep_reset:
            r = r - x * sg
        du = g[:, t].astype(np.float64) * sg + dv * r
        a = gain[:, t].astype(np.float64)
        dv = a * du
        dj[:, t] = (1.0 - a) * du
        dsyn = (1.0 - a) * du + d * dsyn
        dcur[:, t] = (1.0 - d) * dsyn


def smooth_forward(snet, params, x, spikes_in, timesteps, masks, slope):
    """The records of the smooth network (module docstring), in the classic order, in the
    parameters' dtype: ``u[t] = v[t-1] + op(s_in[t])`` (``op`` with its bias), ``s[t] =
    sigmoid(k (u[t] - v_th))``, ``v[t] = u[t] - v_th s[t]``; the output integrates without
    firing when the readout is ``membrane``."""
    spec, net = snet.spec, snet.net
    step = get_surrogate("sigmoid", slope).step
    dtype = params[net.spec_index[0]]["W"].dtype
    n = len(x) if spikes_in is None else spikes_in.shape[0]
    shapes = spec.shapes
    records = []
    prev = None
    for li in range(net.n_layers):
        i = net.spec_index[li]
        layer = spec.layers[i]
        mask = masks[li] if masks is not None else None
        thr = snet.thresholds[li]
        spiking = not (li == net.n_layers - 1 and snet.readout == "membrane")
        if li == 0 and spikes_in is None:
            xin = np.asarray(x, dtype).reshape(n, *shapes[i])
            if mask is not None:
                xin = xin * mask.reshape(xin.shape)
            z0 = LAYER_OPS[layer.kind][0](layer, params[i], xin, False, None)[0]
            z = np.broadcast_to(z0.reshape(n, 1, -1), (n, timesteps, z0[0].size))
        else:
            src = spikes_in[:, :timesteps].astype(dtype) if li == 0 else prev
            if mask is not None:
                src = src * mask[:, None, :]
            xin = src.reshape(n * timesteps, *shapes[i])
            z = LAYER_OPS[layer.kind][0](layer, params[i], xin, False, None)[0]
            z = z.reshape(n, timesteps, -1)
        v = np.zeros((n, z.shape[2]), dtype)
        u = np.zeros(z.shape, dtype)
        s = np.zeros(z.shape, dtype)
        if snet.lif[li]:
            # the LIF layer without refractoriness: u = a v + (1 - a) J, J = syn + b, reset 0
            b = params[i].get("b", np.zeros(1, dtype))
            b = np.repeat(b, z.shape[2] // b.size)
            a = np.exp(-snet.net.dt / LIF_LAYER.tau_m)
            # the synapse filters spike input; an analog input is constant and is not filtered
            dsyn = snet.syn_decay[li] if not (li == 0 and spikes_in is None) else 0.0
            syn = np.zeros_like(v)
            for t in range(timesteps):
                syn = dsyn * syn + (1 - dsyn) * (z[:, t] - b)
                u[:, t] = a * v + (1 - a) * (syn + b)
                s[:, t] = step(u[:, t] - thr)
                v = u[:, t] * (1 - s[:, t])
            records.append(LayerRecord(u=u, spikes=s, gain=np.full(z.shape, a, dtype)))
            prev = s * snet.net.amplitude[li]  # LIF spikes carry 1000 / dt
            continue
        for t in range(timesteps):
            u[:, t] = v + z[:, t]
            s[:, t] = step(u[:, t] - thr) if spiking else 0.0
            v = u[:, t] - thr * s[:, t]
        records.append(LayerRecord(u=u, spikes=s))
        prev = s
    return records


def dense_weight_grad(spikes, scale, dz, dwt):
    """Twin of :func:`neurosim.kernels.bptt.dense_weight_grad`: one product of the scaled
    spikes with the current gradient."""
    x = spikes.astype(np.float32)
    if scale.shape[0]:
        x = x * scale[:, None, :]
    dwt += x.reshape(-1, x.shape[2]).T @ dz.reshape(-1, dz.shape[2])


def conv_weight_grad(spikes, scale, dz, win, dwk):
    """Twin of :func:`neurosim.kernels.bptt.conv_weight_grad`, spike by spike."""
    kh, kw, sh, sw, ph, pw = win
    n, n_steps, c_in, h, w = spikes.shape
    h_out, w_out = dz.shape[2:4]
    for s, t, c, y, x in zip(*np.nonzero(spikes)):
        f = scale[s, (c * h + y) * w + x] if scale.shape[0] else np.float32(1.0)
        for u in range(kh):
            for v in range(kw):
                ty, tx = y + ph - u, x + pw - v
                if ty % sh or tx % sw or not (0 <= ty // sh < h_out and 0 <= tx // sw < w_out):
                    continue
                if ty < 0 or tx < 0:
                    continue
                dwk[c, u, v] += f * dz[s, t, ty // sh, tx // sw]
