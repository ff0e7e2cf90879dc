"""One spec in both modes: accuracy, operations, energy and latency side by side.

:func:`compare` converts a trained ReLU network (:mod:`neurosim.convert`), runs the test set
through the classic network once and through the spiking network once for the longest ``T``
(recording the readout at many shorter ``T`` on the way), and returns a :class:`Comparison`:

- accuracy: classic, and spiking at every requested ``T`` (plus a finer curve);
- operations per sample (:class:`~neurosim.monitor.opcounts.OpCounts`): classic dense MACs and
  effective MACs (non-zero inputs only); spiking synaptic operations (SOPs, spikes times exact
  fan-out), analog-input MACs of the first layer counted at every step, neuron updates;
- energy per sample, ``E = MACs e_mac + SOPs e_ac (+ neuron updates e_update)`` with a
  documented table (default: Horowitz, ISSCC 2014, 45 nm fp32: 4.6 pJ per MAC, 0.9 pJ per
  accumulate). Memory traffic (reading weights and state), often the larger cost, is left out;
- firing rate per layer and the break-even rate: the mean firing rate at which the spiking
  network would cost as much energy as the classic one;
- latency: the first ``T`` at which the spiking accuracy is within 1 percentage point of the
  classic one (``None``: not reached within the simulated steps).

This module computes; :mod:`neurosim.report` turns a :class:`Comparison` into report.md and
report.json, reading every figure from it. Time quantities are in ms (``dt``, ``tau_syn``).
The engine is imported when :func:`compare` runs, so that the command line can read
:data:`READOUTS` without loading Numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError
from .monitor.energy import (
    HOROWITZ_45NM_FP32,
    EnergyTable,
    break_even_rate,
    energy_joules,
    load_energy_table,
    memory_energy_joules,
)
from .monitor.opcounts import OpCounts

if TYPE_CHECKING:
    from .builder.params import Params
    from .specs.network import Network

__all__ = ["Comparison", "compare", "LATENCY_GAP", "READOUTS", "accuracy_grid",
           "check_time_ms"]

#: The spiking network "has caught up" when its accuracy is within this many points (as a
#: fraction) of the classic one.
LATENCY_GAP = 0.01

#: How the spiking network's answer is read: ``membrane`` (arg-max of the membrane potential
#: of a non-spiking output layer) or ``count`` (arg-max of output spike counts).
READOUTS = ("membrane", "count")


def accuracy_grid(t_max: int, points: int = 40) -> tuple[int, ...]:
    """About ``points`` step counts in ``1..t_max``, denser at small ``T`` (where accuracy
    changes fastest), at which the accuracy curve is recorded."""
    grid = np.unique(np.round(np.geomspace(1, t_max, points)).astype(int))
    return tuple(int(t) for t in grid)


def check_time_ms(value, name: str, *, zero_ok: bool = False) -> float:
    """``value`` as a float number of ms, or :class:`DataError` naming ``name`` if it is not a
    finite number ``> 0`` (``>= 0`` with ``zero_ok``)."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                             np.floating))
          and math.isfinite(value) and (value >= 0 if zero_ok else value > 0))
    if not ok:
        bound = ">= 0" if zero_ok else "> 0"
        raise DataError(f"{name}: must be a number of ms {bound}, got {value!r}")
    return float(value)


#: Samples the spiking engine runs at once (``run_layered``'s default batch).
_BATCH = 256


def check_compare_memory(spec, timesteps, samples: int, encoder: str = "current",
                         batch: int = _BATCH):
    """Refuse (:class:`~neurosim.limits.ResourceError`) a comparison whose spiking run would
    exceed the memory budget, before training or building: parameters (classic, converted,
    built), the state of one batch, the recorded raster of one sample (``T x neurons``
    bytes), spike-encoded input of one batch (``batch x T x inputs`` bytes) and the
    per-checkpoint outputs of every sample."""
    from .builder.params import param_count
    from .limits import Estimate

    t_max = max(int(t) for t in timesteps)
    units = sum(int(np.prod(s, dtype=np.float64)) for s in spec.shapes[1:])
    n_in = int(np.prod(spec.input_shape, dtype=np.float64))
    n_out = int(np.prod(spec.output_shape, dtype=np.float64))
    n_ck = len(accuracy_grid(t_max)) + len(timesteps)
    est = Estimate(f"{spec.source or spec.name}: spiking run of {units:,} neurons for "
                   f"T = {t_max:,} steps")
    est.add("parameters", param_count(spec) * 4 * 4)
    est.add("state", min(batch, samples) * units * 8 * 4)
    est.add("rasters", t_max * units)
    if encoder != "current":
        est.add("input spikes", min(batch, samples) * t_max * n_in)
    est.add("recorders", samples * n_ck * (2 * n_out * 4 + 2 * len(spec.layers) * 8))
    return est.check()


def _layer_energies(ops: OpCounts, table: EnergyTable, **kwargs) -> dict[str, float]:
    """Energy per sample (J) of each layer of ``ops``, by :func:`energy_joules` on that layer
    alone (``kwargs``: its ``include_updates`` and ``effective``)."""
    return {x.name: energy_joules(replace(ops, layers=(x,)), table, **kwargs)
            for x in ops.layers}


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The result of :func:`compare`: one field per quantity, computed once.

    Settings: ``encoder``, ``readout``, ``normalization``/``percentile``/``scales``,
    ``timesteps`` (the requested ``T``), ``dt_ms`` and ``tau_syn_ms`` (the step and synapse of
    ``lif`` layers, ms), ``seed``. Accuracies are fractions in [0, 1]; ``spiking_accuracy[T]``
    for each requested ``T``; ``accuracy_curve`` maps every recorded ``T`` to the spiking
    accuracy. Operation counts and energies are per sample; energies in joules, from
    :func:`neurosim.monitor.energy.energy_joules` (spiking energies include neuron updates):
    totals ``classic_energy_j``, ``spiking_energy_j[T]`` (and their ``effective`` variants),
    per layer ``classic_layer_energy_j[layer]`` (``classic_layer_effective_energy_j``) and
    ``spiking_layer_energy_j[T][layer]``. ``classic_memory_energy_j`` and
    ``spiking_memory_energy_j[T]``: the memory-traffic model's estimate
    (:func:`neurosim.monitor.energy.memory_energy_joules`), to add to the arithmetic.
    ``input_macs_counted``: how the analog input's MACs were counted (``every_step``,
    ``once``; ``None`` for spike input). ``neurobench``: NeuroBench's metrics under its own
    definitions (:mod:`neurosim.monitor.neurobench`): ``classic``, ``spiking[T]`` (each with
    ``layers``) and ``static`` (of the converted network).
    ``firing_rates[T][layer]`` in spikes per neuron per step. ``break_even_rate[T]``: mean
    firing rate of the spike-sending neurons at which the spiking energy at ``T`` equals the
    classic (dense MAC) energy; ``mean_rate[T]``: their actual mean rate; ``mean_fanout``:
    their mean fan-out. ``latency``: first recorded ``T`` within ``latency_gap`` of the classic
    accuracy, or ``None``; ``latency_ops``: the spiking op counts there. ``ops_curve`` holds
    the spiking op counts at every ``T`` of ``accuracy_curve``.
    """

    model: str
    dataset: str
    dataset_description: str
    n_samples: int
    encoder: str
    readout: str
    normalization: str
    percentile: float
    scales: tuple[float, ...]
    timesteps: tuple[int, ...]
    dt_ms: float
    tau_syn_ms: float
    seed: int
    classic_accuracy: float
    spiking_accuracy: dict[int, float]
    accuracy_curve: dict[int, float]
    classic_ops: OpCounts
    spiking_ops: dict[int, OpCounts]
    energy_table: EnergyTable
    classic_energy_j: float
    classic_effective_energy_j: float
    spiking_energy_j: dict[int, float]
    spiking_effective_energy_j: dict[int, float]
    classic_layer_energy_j: dict[str, float]
    classic_layer_effective_energy_j: dict[str, float]
    spiking_layer_energy_j: dict[int, dict[str, float]]
    classic_memory_energy_j: float
    spiking_memory_energy_j: dict[int, float]
    input_macs_counted: str | None
    firing_rates: dict[int, dict[str, float]]
    mean_rate: dict[int, float]
    break_even_rate: dict[int, float]
    mean_fanout: float
    latency_gap: float
    latency: int | None
    assumptions: tuple[str, ...]
    neurobench: dict = field(default_factory=dict, repr=False)
    ops_curve: dict[int, OpCounts] = field(default_factory=dict, repr=False)
    raster: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    raster_activations: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    raster_label: int | None = None
    layer_names: tuple[str, ...] = ()

    def gap(self, t: int) -> float:
        """Classic minus spiking accuracy at ``t`` steps (fraction)."""
        return self.classic_accuracy - self.spiking_accuracy[t]

    @property
    def latency_ops(self) -> OpCounts | None:
        """The spiking op counts at the latency, or ``None`` when it was not reached."""
        return self.ops_curve.get(self.latency) if self.latency is not None else None


def compare(spec: Network, params: Params, dataset, *, timesteps=(25, 50, 100, 200),
            samples: int | None = None, encoder: str = "current", readout: str = "membrane",
            normalization: str = "percentile", percentile: float = 99.9,
            energy_table: EnergyTable = HOROWITZ_45NM_FP32, norm_samples: int = 2000,
            seed: int = 0, progress: bool = True, batch_size: int = 256,
            record_sample: int | None = 0, dt: float = 1.0,
            tau_syn: float = 5.0, input_rng: np.random.Generator | None = None,
            input_macs: str = "every_step") -> Comparison:
    """Compare ``spec`` with trained ``params`` in classic and spiking mode on ``dataset``.

    ``dataset``: a :class:`neurosim.data.Dataset` (its first ``samples`` test samples are used;
    all when ``None``). Normalisation uses the classic activations of ``norm_samples`` training
    samples chosen with ``seed`` (which also seeds the Poisson encoder). The spiking network is
    simulated once for ``max(timesteps)`` steps; every smaller ``T`` is read at a checkpoint.
    ``readout``: one of :data:`READOUTS`. ``record_sample``: test sample whose spike raster
    (and classic activations) is kept for the plots, or ``None``. ``dt`` (ms): the step of
    ``lif`` layers (IF layers count in steps); ``tau_syn`` (ms): the synapse on their spike
    input (0: none). ``input_rng``: the generator of the spike encoders (default: the one
    seeded with ``seed`` that chose the normalisation samples, continued); a test set split
    into shards gives each shard its own, with the same normalisation. ``energy_table``: an
    :class:`EnergyTable`, or a bundled table's name or a TOML file's path
    (:func:`~neurosim.monitor.energy.load_energy_table`). ``input_macs``: the analog input's
    MACs counted ``every_step`` or ``once`` (see :func:`neurosim.spike.layered.run_layered`).
    """
    from .builder.layered import build_layered
    from .convert import convert, v_init_of
    from .monitor import neurobench as nb
    from .rate import activations, classic_opcounts, predict
    from .rate.opcounts import nonzero_counts
    from .spike.layered import run_layered

    if not isinstance(energy_table, EnergyTable):
        energy_table = load_energy_table(energy_table)
    dt = check_time_ms(dt, "dt")
    tau_syn = check_time_ms(tau_syn, "tau_syn", zero_ok=True)
    if readout not in READOUTS:
        raise DataError(f"readout: must be one of {', '.join(READOUTS)}, got {readout!r}")
    ts = tuple(sorted({int(t) for t in timesteps}))
    if not ts or ts[0] <= 0:
        raise DataError(f"timesteps: must be positive integers, got {list(timesteps)}")
    n = len(dataset.x_test) if samples is None else min(int(samples), len(dataset.x_test))
    if n <= 0:
        raise DataError(f"samples: must be positive, got {samples}")
    x, y = dataset.x_test[:n], dataset.y_test[:n]
    rng = np.random.default_rng(seed)
    n_norm = min(int(norm_samples), len(dataset.x_train))
    norm_idx = np.sort(rng.choice(len(dataset.x_train), size=n_norm, replace=False))
    conv = convert(spec, params, dataset.x_train[norm_idx], method=normalization,
                   percentile=percentile, readout=readout)

    classic_acc = float(np.mean(predict(spec, params, x) == y))
    counts = nonzero_counts(spec, params, x)
    classic_ops = classic_opcounts(spec, params, x, counts)
    t_max = ts[-1]
    grid = tuple(sorted(set(accuracy_grid(t_max)) | set(ts)))
    if record_sample is not None and not 0 <= record_sample < n:
        record_sample = None
    # Built once: the engine runs it, and its fan-out tables (the fan-out the engine counts
    # SOPs with) and spec layer of each spiking layer describe the layers below.
    structure = build_layered(spec, conv.params, readout=readout, dt=dt, tau_syn=tau_syn)
    in_rng = rng if input_rng is None else input_rng
    # Per-neuron spike counts are needed only where a spike-fed connection has zero weights
    # (NeuroBench's Effective_ACs leave those edges out; otherwise they are the SOPs).
    need_counts = any(li > 0 and not np.array_equal(fan, nz)
                      for li, _, fan, nz in nb.connections(structure))
    res = run_layered(structure, x, timesteps=t_max, encoder=encoder, readout=readout,
                      rng=in_rng, checkpoints=grid, record_sample=record_sample,
                      progress=progress, batch_size=batch_size,
                      v_init=v_init_of(normalization), input_macs=input_macs,
                      record_counts=need_counts)
    curve = res.accuracy_at(y)
    k_of = {t: k for k, t in enumerate(res.checkpoints)}
    spiking_ops = {t: res.opcounts_at[k_of[t]] for t in ts}
    x_kernel = np.asarray(x, np.float32).reshape(n, -1)[:, structure.in_perm]
    # NeuroBench counts the analog input's MACs at every step, whatever input_macs says
    neurobench = {
        "classic": nb.classic_metrics(spec, structure, counts[0], n),
        "spiking": {t: nb.spiking_metrics(structure, o, x=x_kernel, encoder=encoder,
                                          neuron_counts=res.neuron_counts)
                    for t, o in spiking_ops.items()},
        "static": nb.static_metrics(spec, conv.params)}
    table = energy_table
    e_spk = {t: energy_joules(o, table, include_updates=True) for t, o in spiking_ops.items()}
    e_spk_eff = {t: energy_joules(o, table, include_updates=True, effective=True)
                 for t, o in spiking_ops.items()}
    # Neurons whose spikes are propagated: every spiking layer but the output.
    n_send = float(sum(res.layer_neurons[:-1]))
    mean_fanout = (float(sum(f.sum() for f in structure.fanout[1:]) / n_send) if n_send
                   else 0.0)
    rates, mean_rate, breakeven = {}, {}, {}
    for t in ts:
        o = spiking_ops[t]
        rates[t] = {x_.name: x_.spikes / (x_.neurons * t) for x_ in o.layers}
        sent = sum(x_.spikes for x_ in o.layers[:-1])
        mean_rate[t] = sent / (n_send * t) if n_send else 0.0
        # Input cost in MAC units: analog-input MACs, or input spikes' SOPs (e_ac / e_mac).
        input_cost = o.layers[0].macs + o.layers[0].sops * table.e_ac_pj / table.e_mac_pj
        breakeven[t] = break_even_rate(classic_ops.macs, mean_fanout, t, n_send, table,
                                       input_macs=input_cost)
    latency = next((t for t in sorted(curve) if curve[t] >= classic_acc - LATENCY_GAP), None)

    raster = acts = label = None
    if record_sample is not None:
        raster = res.raster
        # Classic activations in spiking units (divided by the layer's scale lambda), so they
        # sit on the same axis as the spike rates; a softmax output stays a probability.
        all_acts = activations(spec, params, x[record_sample:record_sample + 1])
        acts = tuple(np.asarray(all_acts[i][0]).ravel()
                     / (1.0 if spec.layers[i].activation_name == "softmax" else conv.scales[i])
                     for i in structure.spec_index)
        label = int(y[record_sample])

    assumptions = (
        ("QCFS conversion: each qcfs layer's threshold is its trained clip (weights rescaled "
         "so that it is 1), membranes start at half the threshold (Bu et al., ICLR 2022)."
         if normalization == "qcfs" else
         f"Weights normalised layer by layer (method {normalization}"
         + (f", {percentile:g}th percentile" if normalization == "percentile" else "")
         + f") from the classic activations of {n_norm} training samples (seed {seed})."),
        "Integrate-and-fire neurons, threshold 1, reset by subtraction, membrane starting at "
        f"{v_init_of(normalization):g} of the threshold; biases are constant input currents "
        "at every step; spikes cross all layers within one step (no synaptic delay).",
        *((f"Layers with the lif activation: leaky integrate-and-fire neurons (tau_rc 20 ms, "
           "tau_ref 2 ms, threshold 1, reset to 0), not normalised, simulated with steps of "
           f"dt = {dt:g} ms; each of their spikes carries 1/dt into the next layer; their "
           f"spike input passes a first-order synapse of {tau_syn:g} ms.",)
          if any(layer.activation_name == "lif" for layer in spec.layers) else ()),
        "Readout: " + ("membrane potential of a non-spiking output layer (arg-max)."
                       if readout == "membrane" else
                       "output spike counts (arg-max; ties broken by membrane potential)."),
        (("Input: analog pixel values as a constant current into the first layer. Its MACs "
          "are counted at every step (the convention of syops-counter and SpikingJelly), "
          "although the engine computes this constant current once per sample."
          if input_macs == "every_step" else
          "Input: analog pixel values as a constant current into the first layer, computed "
          "once per sample and held (as the engine does); its MACs are counted once.")
         if encoder == "current" else
         f"Input: {encoder} spike trains; input spikes cost SOPs into the first layer."),
        "SOPs: every spike times its exact fan-out (convolution edges reach fewer targets); "
        "average pooling is a spiking layer with weights 1/(kh kw). Classic MACs include "
        "pooling windows (one accumulate per input), as counted by classic_opcounts.",
        "Neuron updates are clock-driven (every neuron, every step); their energy is "
        f"{table.e_update_pj} pJ each in table {table.name}.",
        "Energy counts arithmetic only; the memory-traffic estimate (a model after Lemaire "
        "et al. 2022) is reported beside it, not added.",
        f"Accuracy on the first {n} samples of the test split.",
    )
    return Comparison(
        model=spec.name, dataset=dataset.name,
        dataset_description=getattr(dataset, "description", ""), n_samples=n,
        encoder=encoder, readout=readout, normalization=normalization,
        percentile=float(percentile), scales=conv.scales, timesteps=ts, dt_ms=dt,
        tau_syn_ms=tau_syn, seed=int(seed),
        classic_accuracy=classic_acc, spiking_accuracy={t: curve[t] for t in ts},
        accuracy_curve=curve, classic_ops=classic_ops, spiking_ops=spiking_ops,
        energy_table=table, classic_energy_j=energy_joules(classic_ops, table),
        classic_effective_energy_j=energy_joules(classic_ops, table, effective=True),
        spiking_energy_j=e_spk, spiking_effective_energy_j=e_spk_eff,
        classic_layer_energy_j=_layer_energies(classic_ops, table),
        classic_layer_effective_energy_j=_layer_energies(classic_ops, table, effective=True),
        spiking_layer_energy_j={t: _layer_energies(o, table, include_updates=True)
                                for t, o in spiking_ops.items()},
        classic_memory_energy_j=memory_energy_joules(classic_ops, table),
        spiking_memory_energy_j={t: memory_energy_joules(o, table)
                                 for t, o in spiking_ops.items()},
        input_macs_counted=spiking_ops[ts[-1]].input_macs_counted,
        firing_rates=rates, mean_rate=mean_rate, break_even_rate=breakeven,
        mean_fanout=mean_fanout, latency_gap=LATENCY_GAP, latency=latency,
        assumptions=assumptions, ops_curve={t: res.opcounts_at[k] for t, k in k_of.items()},
        raster=raster, raster_activations=acts, raster_label=label,
        layer_names=res.layer_names, neurobench=neurobench)
