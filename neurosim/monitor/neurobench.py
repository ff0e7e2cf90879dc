"""NeuroBench's metrics (Yik et al., "The neurobench framework for benchmarking neuromorphic
computing algorithms and systems", Nature Communications 2025), computed with NeuroBench's
definitions from what neurosim already counts, beside neurosim's own :class:`OpCounts`.

NeuroBench counts on a PyTorch model with hooks; the same quantities here, per sample:

- **Connection layers** are the dense and conv layers (NeuroBench's ``Linear``/``Conv``);
  pooling is not a connection layer and is left out, as NeuroBench leaves ``AvgPool2d`` out.
- ``Dense``: per forward call (one per time step in spiking mode), every exact edge of every
  connection layer: inputs and weights set to 1, padding zeros still 0 (so no padded taps),
  biases not counted. Spiking: ``T`` times the edges.
- ``Effective_MACs`` / ``Effective_ACs``: per call, the edges whose input is non-zero *and*
  whose weight is non-zero; an AC when the layer's input is binary (spikes), a MAC otherwise
  (the analog input of a first layer: at every step, as NeuroBench calls the layer every step).
  With no zero weight, a spike layer's ``Effective_ACs`` are neurosim's SOPs exactly.
- ``ActivationSparsity``: zero outputs over all outputs of the activation layers, over all
  steps and samples. Activation layers: spiking, every spiking layer (pooling layers spike
  here, as an ``AvgPool2d`` followed by a spiking neuron does in a twin; a non-spiking
  membrane-readout output is not one); classic, the layers with a ``relu``, ``sigmoid`` (those
  NeuroBench detects), ``qcfs`` or ``lif`` activation (which a twin registers as activation
  modules); a softmax output is not one.
- ``MembraneUpdates``: neurosim updates every neuron at every step (clock-driven), which is
  what is counted here; NeuroBench counts a neuron-step after the first only when the membrane
  changed, so its figure is at most this one (equal when every neuron gets input or bias at
  every step).
- ``ParameterCount``: learned parameters (weights, biases, QCFS clips). ``Footprint``: their
  bytes as float32; NeuroBench adds a torch model's buffers (e.g. snnTorch neurons' beta and
  threshold), which a neurosim spec does not have.
- ``ConnectionSparsity``: zero weights over all weights of the connection layers.

Differences from :mod:`neurosim.monitor.opcounts`: neurosim's classic MACs include padded
taps and pooling windows, and count zero weights; its SOPs count every edge a spike reaches
(zero weights included) and include pooling layers' input spikes.
"""

from __future__ import annotations

import numpy as np

from .opcounts import OpCounts

__all__ = ["edge_fanout", "connections", "static_metrics", "spiking_metrics", "classic_metrics",
           "ACTIVATION_LAYERS"]

#: Classic activations whose layers count as NeuroBench activation layers.
ACTIVATION_LAYERS = ("relu", "sigmoid", "qcfs", "lif")


def edge_fanout(proj, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """``(all, nonzero)``: per input neuron of a dense or conv projection (kernel order), its
    exact number of outgoing edges, and of those with a non-zero weight."""
    w = np.asarray(proj.weights)
    if proj.kind == "dense":
        w = w.reshape(n_in, -1)
        return np.full(n_in, w.shape[1], np.int64), np.count_nonzero(w, axis=1)
    c_in, c_out = proj.c_in, proj.c_out
    nz_tap = np.count_nonzero(w.reshape(c_in, proj.taps, c_out), axis=2)  # (C_in, taps)
    ptr, kof = np.asarray(proj.indptr), np.asarray(proj.kof)
    n_pos = ptr.size - 1
    entries = np.diff(ptr)
    pos_of_entry = np.repeat(np.arange(n_pos), entries)
    nz = np.zeros((n_pos, c_in), np.int64)
    np.add.at(nz, pos_of_entry, nz_tap[:, kof // c_out].T)
    return np.repeat(entries * c_out, c_in).astype(np.int64), nz.ravel()


def static_metrics(spec, params) -> dict:
    """``ParameterCount``, ``Footprint`` (bytes, float32) and ``ConnectionSparsity``."""
    count = sum(int(a.size) for p in params for a in p.values())
    weights = [p["W"] for layer, p in zip(spec.layers, params)
               if layer.kind in ("dense", "conv2d") and "W" in p]
    total = sum(int(w.size) for w in weights)
    zeros = sum(int(w.size - np.count_nonzero(w)) for w in weights)
    return {"ParameterCount": count, "Footprint": 4 * count,
            "ConnectionSparsity": zeros / total if total else 0.0}


def connections(net):
    """``(layer index, projection, all fan-out, non-zero fan-out)`` of each spiking layer fed
    by a dense or conv projection."""
    out = []
    projs = net.built.graph.projections
    sizes = (net.n_inputs, *net.n_neurons)
    for li, proj in enumerate(projs[:net.n_layers]):
        if proj.kind in ("dense", "conv"):
            out.append((li, proj, *edge_fanout(proj, sizes[li])))
    return out


def spiking_metrics(net, ops: OpCounts, *, x=None, encoder: str = "current",
                    neuron_counts=None) -> dict:
    """NeuroBench's workload metrics of one spiking run (per sample) from its op counts
    ``ops`` at ``T = ops.timesteps`` (a :class:`~neurosim.builder.layered.LayeredNet`'s run).

    ``x``: the samples in the kernel's input order (``(n, n_in)``), for the analog input's
    ``Effective_MACs``; ``neuron_counts``: per layer, per sample, per neuron spike counts
    (classic order, as :class:`~neurosim.spike.layered.SpikeResult` keeps them), needed only
    when a spike-fed connection has zero weights (otherwise its ``Effective_ACs`` are its
    SOPs). Per layer under ``layers``; pooling layers have no operations.
    """
    t = int(ops.timesteps)
    rows = {x_.name: {"ActivationSparsity": 1.0 - x_.spikes / (x_.neurons * t)}
            for x_ in ops.layers[:net.n_layers - (0 if net.spiking_output else 1)]}
    total = {"Effective_MACs": 0.0, "Effective_ACs": 0.0, "Dense": 0.0}
    for li, _proj, fan, nz in connections(net):
        name = net.names[li]
        row = rows.setdefault(name, {})
        row["Dense"] = float(t * fan.sum())
        if li == 0 and encoder == "current":
            xs = np.asarray(x).reshape(len(x), -1)
            row["Effective_MACs"] = float(t * ((xs != 0) @ nz).mean()) if len(xs) else 0.0
            row["Effective_ACs"] = 0.0
        else:
            if np.array_equal(fan, nz) or neuron_counts is None or li == 0:
                acs = ops.layers[li].sops  # every edge has a weight: SOPs are the edges hit
            else:
                counts = np.asarray(neuron_counts[li - 1])[:, net.to_classic[li - 1]]
                acs = float((counts @ nz).mean())
            row["Effective_ACs"] = float(acs)
            row["Effective_MACs"] = 0.0
        for k in total:
            total[k] += row[k]
    n_act = sum(x_.neurons * t for x_ in ops.layers if x_.name in rows
                and "ActivationSparsity" in rows[x_.name])
    spikes = sum(x_.spikes for x_ in ops.layers if x_.name in rows
                 and "ActivationSparsity" in rows[x_.name])
    return total | {"ActivationSparsity": 1.0 - spikes / n_act if n_act else 0.0,
                    "MembraneUpdates": float(ops.neuron_updates), "layers": rows}


def classic_metrics(spec, net, nnz, n: int) -> dict:
    """NeuroBench's workload metrics of one classic pass over ``n`` samples (per sample):
    every connection layer does ``Effective_MACs`` (non-zero input, non-zero weight), ``Dense``
    its exact edges; ``ActivationSparsity`` over :data:`ACTIVATION_LAYERS`. ``nnz``: for each
    spec layer's input, the number of samples with a non-zero value at each position
    (:func:`neurosim.rate.opcounts.nonzero_counts`); ``net``: the same network built as a
    graph (:func:`~neurosim.builder.layered.build_layered`), whose exact fan-out tables define
    the edges."""
    shapes = spec.shapes
    flat = [np.asarray(a).ravel() for a in nnz]  # flat[i]: input of spec layer i, classic
    rows = {}
    total = {"Effective_MACs": 0.0, "Effective_ACs": 0.0, "Dense": 0.0}
    for li, _proj, fan, nz in connections(net):
        if li == 0:
            seen = flat[0][net.in_perm]
        else:
            seen = flat[net.spec_index[li - 1] + 1][net.to_classic[li - 1]]
        row = {"Effective_MACs": float(seen @ nz) / max(n, 1), "Effective_ACs": 0.0,
               "Dense": float(fan.sum())}
        rows[net.names[li]] = row
        for k in total:
            total[k] += row[k]
    zeros = size = 0
    for i, layer in enumerate(spec.layers[:-1]):  # the output feeds no layer: not counted
        if layer.activation_name in ACTIVATION_LAYERS:
            cells = int(np.prod(shapes[i + 1])) * n
            z = cells - int(flat[i + 1].sum())
            rows.setdefault(f"{i}:{layer.kind}", {})["ActivationSparsity"] = (
                z / cells if cells else 0.0)
            zeros, size = zeros + z, size + cells
    return total | {"ActivationSparsity": zeros / size if size else 0.0, "layers": rows}
