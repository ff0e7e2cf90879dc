"""Energy estimates from operation counts, with cost tables stored as data.

Arithmetic only: ``E = macs * e_mac + sops * e_ac (+ neuron_updates * e_update if counted)``.

Cost tables are TOML files: the bundled ones in ``neurosim/monitor/costs/`` (by name) or a
user's own (by path), each entry a value in picojoules with its source::

    name = "my-chip"
    description = "..."
    includes_memory = false      # true: the per-op energies already include memory access
    [e_mac_pj]                   # also e_ac_pj, e_update_pj, e_read_pj, e_write_pj
    value = 4.6
    source = "..."

Bundled: ``45nm-fp32`` (the default: Horowitz, "Computing's energy problem (and what we can do
about it)", ISSCC 2014; 45 nm, fp32 multiply 3.7 pJ + add 0.9 pJ, so 4.6 pJ per MAC and 0.9 pJ
per accumulate), ``45nm-fp16``, ``45nm-int8`` (same source), ``loihi`` (Davies et al., IEEE
Micro 2018) and ``truenorth`` (Merolla et al., Science 2014).

**Memory traffic (a model).** Beside the arithmetic, :func:`memory_energy_joules` estimates
the energy of reading and writing weights, membrane potentials and spikes, counting accesses
per operation as Lemaire et al., "An analytical estimation of spiking neural networks energy
efficiency", ICONIP 2022, do, each access costing ``e_read`` or ``e_write`` (one word of a
small SRAM in the 45 nm tables):

- classic: each MAC reads a weight and an input (2 reads); each output neuron is written once;
- spiking: each SOP reads a weight and the target's membrane potential and writes it back
  (2 reads, 1 write); each neuron update reads and writes a membrane potential (1 + 1); each
  spike is written to and read from the spike buffer (1 + 1); analog-input MACs read a weight
  and an input each (2 reads).

It leaves out addressing logic, caches and off-chip DRAM, and it is a model, not a
measurement. Tables whose per-op energies already include memory (``includes_memory``, the
chips) add nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NeurosimError
from .opcounts import OpCounts

__all__ = ["EnergyTable", "HOROWITZ_45NM_FP32", "energy_joules", "break_even_rate",
           "load_energy_table", "bundled_tables", "memory_accesses", "memory_energy_joules",
           "COSTS_DIR", "MEMORY_MODEL"]

#: Folder of the bundled cost tables.
COSTS_DIR = Path(__file__).with_name("costs")

#: How the memory-traffic estimate is made, for reports.
MEMORY_MODEL = ("model after Lemaire et al., ICONIP 2022: classic MAC 2 reads, output neuron "
                "1 write; SOP 2 reads + 1 write; neuron update 1 read + 1 write; spike 1 read "
                "+ 1 write; analog-input MAC 2 reads")

_ENTRIES = ("e_mac_pj", "e_ac_pj", "e_update_pj", "e_read_pj", "e_write_pj")


@dataclass(frozen=True, kw_only=True)
class EnergyTable:
    """Energy per operation, in picojoules, and where each figure comes from.

    ``e_read_pj``/``e_write_pj``: one memory access of the memory-traffic model;
    ``includes_memory``: the per-op figures already include memory access (no traffic added);
    ``sources`` maps each entry name to its source.
    """

    name: str
    e_mac_pj: float
    e_ac_pj: float
    e_update_pj: float = 0.0
    source: str = ""
    e_read_pj: float = 0.0
    e_write_pj: float = 0.0
    includes_memory: bool = False
    description: str = ""
    sources: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: every entry with its source."""
        return {"name": self.name, "description": self.description,
                "e_mac_pj": self.e_mac_pj, "e_ac_pj": self.e_ac_pj,
                "e_update_pj": self.e_update_pj, "e_read_pj": self.e_read_pj,
                "e_write_pj": self.e_write_pj, "includes_memory": self.includes_memory,
                "source": self.source, "sources": dict(self.sources)}


def _number(doc: dict, key: str, path: str) -> tuple[float, str]:
    entry = doc.get(key)
    if not isinstance(entry, dict) or "value" not in entry:
        raise NeurosimError(f"{path}: {key}: missing (a table with value and source)")
    value, source = entry["value"], entry.get("source", "")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise NeurosimError(f"{path}: {key}.value: must be a number of pJ >= 0, got {value!r}")
    if not isinstance(source, str) or not source:
        raise NeurosimError(f"{path}: {key}.source: every figure needs its source")
    unknown = set(entry) - {"value", "source"}
    if unknown:
        raise NeurosimError(f"{path}: {key}.{sorted(unknown)[0]}: unknown field (known: "
                            "source, value)")
    return float(value), source


def bundled_tables() -> tuple[str, ...]:
    """Names of the bundled cost tables."""
    return tuple(sorted(p.stem for p in COSTS_DIR.glob("*.toml")))


def load_energy_table(name_or_path) -> EnergyTable:
    """A bundled table by name (:func:`bundled_tables`) or a TOML file by path (the format in
    the module docstring); a one-line :class:`NeurosimError` naming the file and the field
    for a bad one."""
    text = str(name_or_path)
    path = COSTS_DIR / f"{text}.toml" if text in bundled_tables() else Path(text)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise NeurosimError(f"{path}: no such cost table (bundled: "
                            f"{', '.join(bundled_tables())})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise NeurosimError(f"{path}: cannot read the cost table ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise NeurosimError(f"{path}: not valid TOML ({err})") from None
    unknown = set(doc) - {"name", "description", "includes_memory", *_ENTRIES}
    if unknown:
        raise NeurosimError(f"{path}: {sorted(unknown)[0]}: unknown field")
    name = doc.get("name", path.stem)
    if not isinstance(name, str):
        raise NeurosimError(f"{path}: name: must be a string")
    inc = doc.get("includes_memory", False)
    if not isinstance(inc, bool):
        raise NeurosimError(f"{path}: includes_memory: must be true or false, got {inc!r}")
    vals = {k: _number(doc, k, str(path)) for k in _ENTRIES}
    return EnergyTable(name=name, description=str(doc.get("description", "")),
                       includes_memory=inc, sources={k: s for k, (_, s) in vals.items()},
                       source="; ".join(f"{k}: {s}" for k, (_, s) in vals.items()),
                       **{k: v for k, (v, _) in vals.items()})


HOROWITZ_45NM_FP32 = load_energy_table("45nm-fp32")


def energy_joules(ops: OpCounts, table: EnergyTable = HOROWITZ_45NM_FP32, *,
                  include_updates: bool = False, effective: bool = False) -> float:
    """Arithmetic energy per sample in joules. ``effective`` uses effective MACs instead of
    all MACs."""
    macs = ops.effective_macs if effective else ops.macs
    pj = macs * table.e_mac_pj + ops.sops * table.e_ac_pj
    if include_updates:
        pj += ops.neuron_updates * table.e_update_pj
    return pj * 1e-12


def memory_accesses(ops: OpCounts, *, effective: bool = False) -> tuple[float, float]:
    """``(reads, writes)`` per sample of the memory-traffic model (module docstring)."""
    macs = ops.effective_macs if effective else ops.macs
    if ops.mode == "classic":
        return 2.0 * macs, float(sum(x.neurons for x in ops.layers if x.macs))
    reads = 2.0 * ops.sops + ops.neuron_updates + ops.spikes + 2.0 * macs
    writes = ops.sops + ops.neuron_updates + ops.spikes
    return reads, writes


def memory_energy_joules(ops: OpCounts, table: EnergyTable = HOROWITZ_45NM_FP32, *,
                         effective: bool = False) -> float:
    """Energy per sample (J) of the memory-traffic model: 0 for a table whose per-op figures
    include memory."""
    if table.includes_memory:
        return 0.0
    reads, writes = memory_accesses(ops, effective=effective)
    return (reads * table.e_read_pj + writes * table.e_write_pj) * 1e-12


def break_even_rate(classic_macs: float, sops_per_spike: float, timesteps: int,
                    n_neurons: float, table: EnergyTable = HOROWITZ_45NM_FP32,
                    input_macs: float = 0.0) -> float:
    """Mean firing rate (spikes per neuron per step) at which the spiking net costs as much as
    the classic one.

    Spiking energy ``= input_macs * e_mac + r * T * N * f * e_ac`` where ``f`` is the mean
    fan-out per spike (``sops_per_spike``), ``N`` the spiking neurons; setting it equal to
    ``classic_macs * e_mac`` gives ``r = (classic_macs - input_macs) * e_mac / (T N f e_ac)``.
    Negative means never: the analog input alone already costs more.
    """
    denom = timesteps * n_neurons * sops_per_spike * table.e_ac_pj
    if denom <= 0:
        return float("inf")
    return (classic_macs - input_macs) * table.e_mac_pj / denom
