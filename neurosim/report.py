"""report.md and report.json of a classic-vs-spiking :class:`~neurosim.compare.Comparison`.

The reporting side of :mod:`neurosim.compare`: every figure written here is read from the
Comparison (accuracies, op counts, energies per layer and in total, rates, latency); nothing
is recomputed, so report.md, report.json and the figures (:mod:`neurosim.plot.compare`) always
agree. The keys of report.json are documented in docs/report-json.md.

- :func:`report_json`: the JSON-ready dict of report.json;
- :func:`report_markdown`: the text of report.md;
- :func:`write_report`: both files into a folder, each written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import atomic_write_text
from .monitor.energy import MEMORY_MODEL

if TYPE_CHECKING:
    from .compare import Comparison

__all__ = ["report_json", "report_markdown", "methods_markdown", "write_report"]


def _by_t(d: dict) -> dict:
    """JSON object keys are strings: ``{T: v}`` -> ``{"T": v}``."""
    return {str(t): v for t, v in d.items()}


def report_json(comp: Comparison, extra: dict | None = None) -> dict:
    """The report.json object (JSON-ready dict; keys in docs/report-json.md), with the
    entries of ``extra`` (e.g. the command's ``timing_s`` and ``params``) added at the top
    level."""
    tab = comp.energy_table
    latency_ops = comp.latency_ops
    report = {
        "model": comp.model, "dataset": comp.dataset,
        "dataset_description": comp.dataset_description, "n_samples": comp.n_samples,
        "encoder": comp.encoder, "readout": comp.readout,
        "normalization": {"method": comp.normalization, "percentile": comp.percentile,
                          "scales": list(comp.scales)},
        "timesteps": list(comp.timesteps),
        "accuracy": {"classic": comp.classic_accuracy,
                     "spiking": _by_t(comp.spiking_accuracy),
                     "spiking_curve": _by_t(comp.accuracy_curve)},
        "ops": {"classic": comp.classic_ops.to_dict(),
                "spiking": {str(t): o.to_dict() for t, o in comp.spiking_ops.items()}},
        "energy": {"table": tab.to_dict(),
                   "memory_traffic_included": False,
                   "input_macs_counted": comp.input_macs_counted,
                   "memory_model": {"description": MEMORY_MODEL,
                                    "classic_j": comp.classic_memory_energy_j,
                                    "spiking_j": _by_t(comp.spiking_memory_energy_j)},
                   "classic_j": comp.classic_energy_j,
                   "classic_effective_j": comp.classic_effective_energy_j,
                   "spiking_j": _by_t(comp.spiking_energy_j),
                   "spiking_effective_j": _by_t(comp.spiking_effective_energy_j),
                   "classic_layers_j": dict(comp.classic_layer_energy_j),
                   "classic_effective_layers_j": dict(comp.classic_layer_effective_energy_j),
                   "spiking_layers_j": _by_t(comp.spiking_layer_energy_j)},
        "neurobench": {"classic": comp.neurobench.get("classic"),
                       "spiking": _by_t(comp.neurobench.get("spiking", {})),
                       "static": comp.neurobench.get("static")},
        "firing_rates": _by_t(comp.firing_rates),
        "mean_rate": _by_t(comp.mean_rate),
        "break_even_rate": _by_t(comp.break_even_rate),
        "mean_fanout": comp.mean_fanout,
        "latency": {"gap": comp.latency_gap, "timesteps": comp.latency,
                    "spiking_ops_total": (latency_ops.to_dict()["total"]
                                          if latency_ops is not None else None)},
        "dt_ms": comp.dt_ms,
        "dt_s": comp.dt_ms / 1000.0,
        "tau_syn_ms": comp.tau_syn_ms,
        "seed": comp.seed,
        "assumptions": list(comp.assumptions),
    }
    return report | dict(extra or {})


def report_markdown(comp: Comparison) -> str:
    """report.md: summary, a table per T, per-layer operations and energy, assumptions."""
    pct = 100.0
    uj = 1e6  # joules -> microjoules
    tab = comp.energy_table
    norm = f"`{comp.normalization}`" + (f" ({comp.percentile:g}th percentile)"
                                        if comp.normalization == "percentile" else "")
    latency = f"{comp.latency} steps" if comp.latency is not None else "not reached"
    lines = [f"# {comp.model}: classic vs spiking", "",
             f"Data: {comp.dataset} ({comp.dataset_description}); {comp.n_samples} test "
             f"samples. Encoder: `{comp.encoder}`; readout: `{comp.readout}`; normalisation: "
             f"{norm}.", "",
             f"Classic accuracy: **{comp.classic_accuracy * pct:.2f}%**. ",
             f"Latency (first T with spiking accuracy within {comp.latency_gap * pct:g} point "
             f"of classic): **{latency}**.", "",
             "## Accuracy, operations and energy per sample, per time-step budget T", "",
             "| T | spiking acc. | gap (points) | SOPs | input MACs | neuron updates | "
             "mean rate | break-even rate | energy (uJ) | vs classic |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| classic | {comp.classic_accuracy * pct:.2f}% | | | "
             f"{comp.classic_ops.macs:,.0f} MACs (effective "
             f"{comp.classic_ops.effective_macs:,.0f}) | | | | "
             f"{comp.classic_energy_j * uj:.4g} | 1 |"]
    for t in comp.timesteps:
        o = comp.spiking_ops[t]
        e = comp.spiking_energy_j[t]
        lines.append(
            f"| {t} | {comp.spiking_accuracy[t] * pct:.2f}% | {comp.gap(t) * pct:+.2f} | "
            f"{o.sops:,.0f} | {o.macs:,.0f} | {o.neuron_updates:,.0f} | "
            f"{comp.mean_rate[t]:.4f} | {comp.break_even_rate[t]:.4f} | {e * uj:.4g} | "
            f"{e / comp.classic_energy_j:.3g}x |")
    t_last = comp.timesteps[-1]
    lines += ["", f"## Per layer at T = {t_last}", "",
              "| layer | classic MACs | classic effective MACs | classic energy (uJ) | "
              "spiking SOPs | spiking input MACs | neuron updates | firing rate | "
              "spiking energy (uJ) |",
              "|---|---|---|---|---|---|---|---|---|"]
    spk = {x.name: x for x in comp.spiking_ops[t_last].layers}
    e_spk = comp.spiking_layer_energy_j[t_last]
    for c in comp.classic_ops.layers:
        s = spk.get(c.name)
        if s is None and c.macs == 0:
            continue  # flatten, dropout: no operations in either mode
        row = (f"| {c.name} | {c.macs:,.0f} | {c.effective_macs:,.0f} | "
               f"{comp.classic_layer_energy_j[c.name] * uj:.4g} | ")
        if s is None:
            lines.append(row + "- | - | - | - | - |")
            continue
        rate = comp.firing_rates[t_last].get(c.name, 0.0)
        lines.append(row + f"{s.sops:,.0f} | {s.macs:,.0f} | {s.neuron_updates:,.0f} | "
                     f"{rate:.4f} | {e_spk[c.name] * uj:.4g} |")
    lines += ["", "## Energy model", "",
              f"Table `{tab.name}`: {tab.e_mac_pj} pJ per MAC, {tab.e_ac_pj} pJ per "
              f"accumulate (SOP), {tab.e_update_pj} pJ per neuron update. Source: "
              f"{tab.source}.", "",
              "**Memory traffic is left out** of the figures above: reading weights, membrane "
              "potentials and spike buffers from memory often costs more than the "
              "arithmetic, in both modes. A model of it (" + MEMORY_MODEL + "; "
              f"{tab.e_read_pj} pJ per read, {tab.e_write_pj} pJ per write"
              + ("; included in this table's per-op figures" if tab.includes_memory else "")
              + ") gives, per sample:", "",
              "| | arithmetic (uJ) | memory model (uJ) | sum (uJ) |", "|---|---|---|---|",
              f"| classic | {comp.classic_energy_j * uj:.4g} | "
              f"{comp.classic_memory_energy_j * uj:.4g} | "
              f"{(comp.classic_energy_j + comp.classic_memory_energy_j) * uj:.4g} |",
              *(f"| T = {t} | {comp.spiking_energy_j[t] * uj:.4g} | "
                f"{comp.spiking_memory_energy_j[t] * uj:.4g} | "
                f"{(comp.spiking_energy_j[t] + comp.spiking_memory_energy_j[t]) * uj:.4g} |"
                for t in comp.timesteps), "",
              "Break-even rate: the mean firing rate (spikes per neuron per step, over "
              "the neurons whose spikes are propagated) at which the spiking network's "
              "energy at T equals the classic network's, "
              "`r = (classic MACs - input MACs) e_mac / (T N f e_ac)` with N those "
              f"neurons and f = {comp.mean_fanout:.1f} their mean fan-out. Negative: the "
              "analog input alone already costs more than the classic pass.", "",
              "## Assumptions", ""]
    lines += [f"- {a}" for a in comp.assumptions]
    return "\n".join(lines) + "\n"


def methods_markdown(mc) -> str:
    """The "When does spiking pay?" section of a :class:`neurosim.methods.MethodComparison`:
    per method its cheapest point within the gap of classic and its break-even ``T``."""
    pct, uj = 100.0, 1e6
    lines = ["## When does spiking pay? Methods side by side", "",
             f"Classic: **{mc.classic_accuracy * pct:.2f}%** at "
             f"{mc.classic_energy_j * uj:.4g} uJ per sample (table `{mc.energy_table}`, "
             f"arithmetic only; analog input MACs counted "
             f"{mc.input_macs_counted or 'not at all: spike input'}).", "",
             f"| method | cheapest T within {mc.gap * pct:g} point | its accuracy | its energy "
             "(uJ) | vs classic | break-even T (largest T at or below classic energy) | "
             "latency |", "|---|---|---|---|---|---|---|"]
    for m in mc.methods:
        c = m.cheapest
        cells = (f"{c.timesteps} | {c.accuracy * pct:.2f}% | {c.energy_j * uj:.4g} | "
                 f"{c.energy_j / mc.classic_energy_j:.3g}x" if c is not None
                 else "not reached | | |")
        lines.append(f"| {m.name}: {m.description} | {cells} | "
                     f"{m.break_even_t if m.break_even_t is not None else 'none'} | "
                     f"{m.latency if m.latency is not None else 'not reached'} |")
    lines += ["", "A method pays where its cheapest point within the gap costs less than "
              "classic (ratio below 1). Figure: `pareto.png` (accuracy against energy, one "
              "point per method and T).", ""]
    return "\n".join(lines)


def write_report(comp: Comparison, out_dir, extra: dict | None = None,
                 methods=None) -> tuple[Path, Path]:
    """Write ``report.json`` (with ``extra``, see :func:`report_json`, and ``methods``, a
    :class:`neurosim.methods.MethodComparison`, under the key ``methods``) and ``report.md``
    (with its section, :func:`methods_markdown`) into ``out_dir``, each atomically; returns
    their paths."""
    out = Path(out_dir)
    json_path, md_path = out / "report.json", out / "report.md"
    extra = dict(extra or {})
    if methods is not None:
        extra["methods"] = methods.to_dict()
    atomic_write_text(json_path, json.dumps(report_json(comp, extra), indent=2) + "\n")
    md = report_markdown(comp)
    if methods is not None:
        head, sep, rest = md.partition("## Accuracy, operations and energy")
        md = head + methods_markdown(methods) + "\n" + sep + rest
    atomic_write_text(md_path, md)
    return json_path, md_path
