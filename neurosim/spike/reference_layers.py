"""Slow, obviously-correct NumPy twin of the layered fast path (:mod:`neurosim.kernels.layers`).

Same records, same effects on the outputs. Neuron updates are the models' own NumPy twins
(``layer_step_numpy`` of :mod:`neurosim.neurons.if_` and :mod:`neurosim.neurons.lif`);
spikes go through the general engine's NumPy delivery (:func:`neurosim.spike.reference.deliver`,
``np.add.at`` over the projection tables); the analog input current is a dense product with
the weights gathered from the tables.
"""

from __future__ import annotations

import numpy as np

from ..kernels import layers as K
from ..kernels import layout as L
from ..neurons import if_, lif
from .reference import deliver

__all__ = ["synapse_filter", "analog_current", "simulate_sample", "simulate_layered",
           "simulate_layered_parallel"]


def synapse_filter(current, syn, decay):
    """Twin of :func:`neurosim.kernels.layers.synapse_filter`: ``s <- decay s + (1 - decay) I``
    in float32, and the current replaced by ``s``."""
    s = np.float32(decay) * syn + np.float32(1.0 - decay) * current
    syn[:] = s
    current[:] = s


def analog_current(model, q, x, target):
    """Twin of :func:`neurosim.kernels.layers.deliver_values`: input ``i`` of value ``x[i]``
    adds ``x[i]`` times its fan-out, in ascending ``i`` (the kernel's order of additions).
    Returns the effective MACs. Each input's fan-out of weights is read by delivering one
    spike of it into a row of zeros (:func:`neurosim.spike.reference.deliver`)."""
    # the projection as a next-step current into channel 0, so one spike lands in syn[0]
    probe_model = model._replace(chan=np.array([[L.SYN_CURRENT, 0.0, 0.0, 1.0]]),
                                 proj=model.proj.copy())
    probe_model.proj[q, L.PROJ_CHANNEL] = 0
    probe_model.proj[q, L.PROJ_DELAY] = 1
    pre_start = int(model.proj[q, L.PROJ_PRE_START])
    ops = 0
    for i in np.flatnonzero(x):
        probe = L.State(x=np.zeros((1, target.size), target.dtype),
                        syn=np.zeros((1, target.size), target.dtype),
                        refc=np.zeros(1, np.int32), ring=np.zeros((1, 1, 1)),
                        counters=np.zeros(model.proj.shape[0], np.int64),
                        gate=np.zeros(model.indices.size + target.size, np.int64))
        deliver(probe_model, probe, q, np.array([i + pre_start]), 0)
        hit = np.flatnonzero(probe.syn[0])
        target[hit] += np.float32(x[i]) * probe.syn[0, hit]
        ops += int(probe.counters[model.proj[q, L.PROJ_COUNTER]])
    return ops


def simulate_sample(s, layers, batch, out, settings):
    """Twin of :func:`neurosim.kernels.layers.simulate_sample`."""
    model, table, prm = layers.model, layers.table, layers.prm
    n_layers = table.shape[0]
    n_total = layers.bias.shape[0]
    bounds = [(int(model.pop[p, L.POP_START]), int(model.pop[p, L.POP_END]))
              for p in table[:, K.L_POP]]
    v = np.zeros(n_total, np.float32)
    ref = np.zeros(n_total, np.float32)
    syn = np.zeros(n_total, np.float32)
    cur = np.zeros(n_total, np.float32)
    bias = layers.bias.copy()
    for li, (a, b) in enumerate(bounds):
        v[a:b] = np.float32(settings.v_init * prm[li, 0])
    counters = np.zeros(model.proj.shape[0], np.int64)
    state = L.State(x=v[None], syn=cur[None], refc=np.zeros(1, np.int32),
                    ring=np.zeros((1, 1, 1)), counters=counters,
                    gate=np.zeros(model.indices.size + n_total, np.int64))
    delta = model._replace(chan=np.array([[L.SYN_CURRENT, 0.0, 0.0, 1.0]]),
                           proj=model.proj.copy())
    delta.proj[:, L.PROJ_CHANNEL] = 0
    delta.proj[:, L.PROJ_DELAY] = 1
    q0 = int(table[0, K.L_PROJ])
    if settings.spike_input == 0:
        out.input_macs[s] = analog_current(model, q0, batch.x_analog[s], bias)
    tot_spikes = np.zeros(n_layers, np.int64)
    n_out = bounds[-1][1] - bounds[-1][0]
    counts = np.zeros(n_out, np.float32)
    ck = batch.checkpoints
    k_ck = 0
    for t in range(int(ck[-1])):
        for li, (a, b) in enumerate(bounds):
            if li == 0 and settings.spike_input == 1:
                deliver(delta, state, q0, np.flatnonzero(batch.x_spikes[s, t]), 0)
            spk = np.zeros(b - a, np.int64)
            if table[li, K.L_NEURON] == K.NEURON_LIF and table[li, K.L_SPIKING]:
                if layers.tau_syn[li] > 0:
                    synapse_filter(cur[a:b], syn[a:b], np.exp(-prm[li, 3] / layers.tau_syn[li]))
                ns = lif.layer_step_numpy(v[a:b], ref[a:b], cur[a:b], bias[a:b], prm[li], spk)
            else:
                ns = if_.layer_step_numpy(v[a:b], cur[a:b], bias[a:b], np.float32(prm[li, 0]),
                                          bool(table[li, K.L_SPIKING]), spk)
            tot_spikes[li] += ns
            if out.neuron_counts.shape[0] > 0:
                out.neuron_counts[s, a + spk[:ns]] += 1
            if s == settings.raster_sample:
                out.raster[t, a + spk[:ns]] = 1
            if li == n_layers - 1:
                counts[spk[:ns]] += 1
            elif ns:
                deliver(delta, state, int(table[li + 1, K.L_PROJ]), spk[:ns] + a, 0)
        if t + 1 == ck[k_ck]:
            out.counts[s, k_ck] = counts
            out.v[s, k_ck] = v[bounds[-1][0]:bounds[-1][1]]
            out.sops[s, k_ck] = counters[table[:, K.L_PROJ]]
            out.spikes[s, k_ck] = tot_spikes
            k_ck += 1


def simulate_layered(layers, batch, out, settings):
    """Twin of :func:`neurosim.kernels.layers.simulate_layered`: every sample in turn."""
    for s in range(out.counts.shape[0]):
        simulate_sample(s, layers, batch, out, settings)


#: Twin of :func:`neurosim.kernels.layers.simulate_layered_parallel` (same results: samples are
#: independent, so the order in which they run does not matter).
simulate_layered_parallel = simulate_layered
