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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .builder.layered import build_layered
from .builder.params import Params
from .convert import convert
from .errors import DataError
from .monitor.energy import HOROWITZ_45NM_FP32, EnergyTable, break_even_rate, energy_joules
from .monitor.opcounts import OpCounts
from .specs.network import Network
from .spike.layered import run_layered

__all__ = ["Comparison", "compare", "LATENCY_GAP", "accuracy_grid"]

#: The spiking network "has caught up" when its accuracy is within this many points (as a
#: fraction) of the classic one.
LATENCY_GAP = 0.01


def accuracy_grid(t_max: int, points: int = 40) -> tuple[int, ...]:
    """About ``points`` step counts in ``1..t_max``, denser at small ``T`` (where accuracy
    changes fastest), at which the accuracy curve is recorded."""
    grid = np.unique(np.round(np.geomspace(1, t_max, points)).astype(int))
    return tuple(int(t) for t in grid)


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The result of :func:`compare`; ``to_dict`` gives report.json, ``to_markdown`` report.md.

    Accuracies are fractions in [0, 1]; ``spiking_accuracy[T]`` for each requested ``T``;
    ``accuracy_curve`` maps every recorded ``T`` to the spiking accuracy. Operation counts and
    energies are per sample; energies in joules. ``firing_rates[T][layer]`` in spikes per
    neuron per step. ``break_even_rate[T]``: mean firing rate of the spike-sending neurons at
    which the spiking energy at ``T`` equals the classic (dense MAC) energy;
    ``mean_rate[T]``: their actual mean rate. ``latency``: first recorded ``T`` within
    :data:`LATENCY_GAP` of the classic accuracy, or ``None``. ``ops_curve`` holds the spiking
    op counts at every ``T`` of ``accuracy_curve`` (e.g. the operations at the latency).
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
    firing_rates: dict[int, dict[str, float]]
    mean_rate: dict[int, float]
    break_even_rate: dict[int, float]
    mean_fanout: float
    latency: int | None
    assumptions: tuple[str, ...]
    ops_curve: dict[int, OpCounts] = field(default_factory=dict, repr=False)
    raster: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    raster_activations: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    raster_label: int | None = None
    layer_names: tuple[str, ...] = ()

    def gap(self, t: int) -> float:
        """Classic minus spiking accuracy at ``t`` steps (fraction)."""
        return self.classic_accuracy - self.spiking_accuracy[t]

    def to_dict(self) -> dict:
        """JSON-ready summary (keys documented in docs/report-json.md)."""
        def by_t(d):
            return {str(t): v for t, v in d.items()}

        return {
            "model": self.model, "dataset": self.dataset,
            "dataset_description": self.dataset_description, "n_samples": self.n_samples,
            "encoder": self.encoder, "readout": self.readout,
            "normalization": {"method": self.normalization, "percentile": self.percentile,
                              "scales": list(self.scales)},
            "timesteps": list(self.timesteps),
            "accuracy": {"classic": self.classic_accuracy,
                         "spiking": by_t(self.spiking_accuracy),
                         "spiking_curve": by_t(self.accuracy_curve)},
            "ops": {"classic": self.classic_ops.to_dict(),
                    "spiking": {str(t): o.to_dict() for t, o in self.spiking_ops.items()}},
            "energy": {"table": {"name": self.energy_table.name,
                                 "e_mac_pj": self.energy_table.e_mac_pj,
                                 "e_ac_pj": self.energy_table.e_ac_pj,
                                 "e_update_pj": self.energy_table.e_update_pj,
                                 "source": self.energy_table.source},
                       "memory_traffic_included": False,
                       "classic_j": self.classic_energy_j,
                       "classic_effective_j": self.classic_effective_energy_j,
                       "spiking_j": by_t(self.spiking_energy_j),
                       "spiking_effective_j": by_t(self.spiking_effective_energy_j)},
            "firing_rates": by_t(self.firing_rates),
            "mean_rate": by_t(self.mean_rate),
            "break_even_rate": by_t(self.break_even_rate),
            "mean_fanout": self.mean_fanout,
            "latency": {"gap": LATENCY_GAP, "timesteps": self.latency,
                        "spiking_ops_total": (self.ops_curve[self.latency].to_dict()["total"]
                                              if self.latency in self.ops_curve else None)},
            "assumptions": list(self.assumptions),
        }

    def to_markdown(self) -> str:
        """report.md: summary, a table per T, per-layer operations and energy, assumptions."""
        pct = 100.0
        tab = self.energy_table
        lines = [f"# {self.model}: classic vs spiking", "",
                 f"Data: {self.dataset} ({self.dataset_description}); {self.n_samples} test "
                 "samples. Encoder: "
                 f"`{self.encoder}`; readout: `{self.readout}`; normalisation: "
                 f"`{self.normalization}`" + (f" ({self.percentile:g}th percentile)"
                                              if self.normalization == "percentile" else "")
                 + ".", "",
                 f"Classic accuracy: **{self.classic_accuracy * pct:.2f}%**. ",
                 "Latency (first T with spiking accuracy within "
                 f"{LATENCY_GAP * pct:g} point of classic): **"
                 + (f"{self.latency} steps" if self.latency is not None else "not reached")
                 + "**.", "",
                 "## Accuracy, operations and energy per sample, per time-step budget T", "",
                 "| T | spiking acc. | gap (points) | SOPs | input MACs | neuron updates | "
                 "mean rate | break-even rate | energy (uJ) | vs classic |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        lines.append(f"| classic | {self.classic_accuracy * pct:.2f}% | | | "
                     f"{self.classic_ops.macs:,.0f} MACs (effective "
                     f"{self.classic_ops.effective_macs:,.0f}) | | | | "
                     f"{self.classic_energy_j * 1e6:.4g} | 1 |")
        for t in self.timesteps:
            o = self.spiking_ops[t]
            e = self.spiking_energy_j[t]
            lines.append(
                f"| {t} | {self.spiking_accuracy[t] * pct:.2f}% | {self.gap(t) * pct:+.2f} | "
                f"{o.sops:,.0f} | {o.macs:,.0f} | {o.neuron_updates:,.0f} | "
                f"{self.mean_rate[t]:.4f} | {self.break_even_rate[t]:.4f} | {e * 1e6:.4g} | "
                f"{e / self.classic_energy_j:.3g}x |")
        t_last = self.timesteps[-1]
        lines += ["", f"## Per layer at T = {t_last}", "",
                  "| layer | classic MACs | classic effective MACs | classic energy (uJ) | "
                  "spiking SOPs | spiking input MACs | neuron updates | firing rate | "
                  "spiking energy (uJ) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        spk = {x.name: x for x in self.spiking_ops[t_last].layers}
        for c in self.classic_ops.layers:
            s = spk.get(c.name)
            if s is None and c.macs == 0:
                continue  # flatten, dropout: no operations in either mode
            ec = c.macs * tab.e_mac_pj * 1e-6
            if s is None:
                lines.append(f"| {c.name} | {c.macs:,.0f} | {c.effective_macs:,.0f} | "
                             f"{ec:.4g} | - | - | - | - | - |")
                continue
            es = (s.macs * tab.e_mac_pj + s.sops * tab.e_ac_pj
                  + s.neuron_updates * tab.e_update_pj) * 1e-6
            rate = self.firing_rates[t_last].get(c.name, 0.0)
            lines.append(f"| {c.name} | {c.macs:,.0f} | {c.effective_macs:,.0f} | {ec:.4g} | "
                         f"{s.sops:,.0f} | {s.macs:,.0f} | {s.neuron_updates:,.0f} | "
                         f"{rate:.4f} | {es:.4g} |")
        lines += ["", "## Energy model", "",
                  f"Table `{tab.name}`: {tab.e_mac_pj} pJ per MAC, {tab.e_ac_pj} pJ per "
                  f"accumulate (SOP), {tab.e_update_pj} pJ per neuron update. Source: "
                  f"{tab.source}.", "",
                  "**Memory traffic is left out**: reading weights, membrane potentials and "
                  "spike buffers from memory often costs more than the arithmetic, in both "
                  "modes; these figures compare arithmetic only.", "",
                  "Break-even rate: the mean firing rate (spikes per neuron per step, over "
                  "the neurons whose spikes are propagated) at which the spiking network's "
                  "energy at T equals the classic network's, "
                  "`r = (classic MACs - input MACs) e_mac / (T N f e_ac)` with N those "
                  f"neurons and f = {self.mean_fanout:.1f} their mean fan-out. Negative: the "
                  "analog input alone already costs more than the classic pass.", "",
                  "## Assumptions", ""]
        lines += [f"- {a}" for a in self.assumptions]
        return "\n".join(lines) + "\n"


def compare(spec: Network, params: Params, dataset, *, timesteps=(25, 50, 100, 200),
            samples: int | None = None, encoder: str = "current", readout: str = "membrane",
            normalization: str = "percentile", percentile: float = 99.9,
            energy_table: EnergyTable = HOROWITZ_45NM_FP32, norm_samples: int = 2000,
            seed: int = 0, progress: bool = True, batch_size: int = 256,
            record_sample: int | None = 0, dt: float = 0.001,
            tau_syn: float = 0.005) -> Comparison:
    """Compare ``spec`` with trained ``params`` in classic and spiking mode on ``dataset``.

    ``dataset``: a :class:`neurosim.data.Dataset` (its first ``samples`` test samples are used;
    all when ``None``). Normalisation uses the classic activations of ``norm_samples`` training
    samples chosen with ``seed`` (which also seeds the Poisson encoder). The spiking network is
    simulated once for ``max(timesteps)`` steps; every smaller ``T`` is read at a checkpoint.
    ``record_sample``: test sample whose spike raster (and classic activations) is kept for
    the plots, or ``None``. ``dt`` (s): the step of ``lif`` layers (IF layers count in steps);
    ``tau_syn`` (s): the synapse on their spike input (0: none).
    """
    from .rate import activations, classic_opcounts, predict

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
    classic_ops = classic_opcounts(spec, params, x)
    net = build_layered(spec, conv.params, readout=readout, dt=dt, tau_syn=tau_syn)
    t_max = ts[-1]
    grid = tuple(sorted(set(accuracy_grid(t_max)) | set(ts)))
    if record_sample is not None and not 0 <= record_sample < n:
        record_sample = None
    res = run_layered(net, x, timesteps=t_max, encoder=encoder, readout=readout, rng=rng,
                      checkpoints=grid, record_sample=record_sample, progress=progress,
                      batch_size=batch_size)
    curve = res.accuracy_at(y)
    k_of = {t: k for k, t in enumerate(res.checkpoints)}
    spiking_ops = {t: res.opcounts_at[k_of[t]] for t in ts}
    table = energy_table
    e_classic = energy_joules(classic_ops, table)
    e_classic_eff = energy_joules(classic_ops, table, effective=True)
    e_spk = {t: energy_joules(o, table, include_updates=True) for t, o in spiking_ops.items()}
    e_spk_eff = {t: energy_joules(o, table, include_updates=True, effective=True)
                 for t, o in spiking_ops.items()}
    # Neurons whose spikes are propagated: every spiking layer but the output.
    senders = net.n_neurons[:-1]
    n_send = float(sum(senders))
    mean_fanout = float(sum(f.sum() for f in net.fanout[1:]) / n_send) if n_send else 0.0
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
                     for i in net.spec_index)
        label = int(y[record_sample])

    assumptions = (
        f"Weights normalised layer by layer (method {normalization}"
        + (f", {percentile:g}th percentile" if normalization == "percentile" else "")
        + f") from the classic activations of {n_norm} training samples (seed {seed}).",
        "Integrate-and-fire neurons, threshold 1, reset by subtraction, membrane starting at "
        "0; biases are constant input currents at every step; spikes cross all layers within "
        "one step (no synaptic delay).",
        *((f"Layers with the lif activation: leaky integrate-and-fire neurons (tau_rc 20 ms, "
           "tau_ref 2 ms, threshold 1, reset to 0), not normalised, simulated with steps of "
           f"dt = {dt:g} s; each of their spikes carries 1/dt into the next layer; their "
           f"spike input passes a first-order synapse of {tau_syn * 1e3:g} ms.",)
          if any(layer.activation_name == "lif" for layer in spec.layers) else ()),
        "Readout: " + ("membrane potential of a non-spiking output layer (arg-max)."
                       if readout == "membrane" else
                       "output spike counts (arg-max; ties broken by membrane potential)."),
        ("Input: analog pixel values as a constant current into the first layer. Its MACs "
         "are counted at every step (the convention of syops-counter and SpikingJelly), "
         "although the engine computes this constant current once per sample."
         if encoder == "current" else
         f"Input: {encoder} spike trains; input spikes cost SOPs into the first layer."),
        "SOPs: every spike times its exact fan-out (convolution edges reach fewer targets); "
        "average pooling is a spiking layer with weights 1/(kh kw). Classic MACs include "
        "pooling windows (one accumulate per input), as counted by classic_opcounts.",
        "Neuron updates are clock-driven (every neuron, every step); their energy is "
        f"{table.e_update_pj} pJ each in table {table.name}.",
        "Energy counts arithmetic only; memory traffic is left out.",
        f"Accuracy on the first {n} samples of the test split.",
    )
    return Comparison(
        model=spec.name, dataset=dataset.name,
        dataset_description=getattr(dataset, "description", ""), n_samples=n,
        encoder=encoder, readout=readout, normalization=normalization,
        percentile=float(percentile), scales=conv.scales, timesteps=ts,
        classic_accuracy=classic_acc, spiking_accuracy={t: curve[t] for t in ts},
        accuracy_curve=curve, classic_ops=classic_ops, spiking_ops=spiking_ops,
        energy_table=table, classic_energy_j=e_classic, classic_effective_energy_j=e_classic_eff,
        spiking_energy_j=e_spk, spiking_effective_energy_j=e_spk_eff, firing_rates=rates,
        mean_rate=mean_rate, break_even_rate=breakeven, mean_fanout=mean_fanout,
        latency=latency, assumptions=assumptions,
        ops_curve={t: res.opcounts_at[k] for t, k in k_of.items()}, raster=raster,
        raster_activations=acts,
        raster_label=label, layer_names=net.names)
