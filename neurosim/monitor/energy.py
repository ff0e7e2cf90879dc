"""Energy estimates from operation counts, with a documented, overridable cost table.

``E = macs * e_mac + sops * e_ac (+ neuron_updates * e_update if counted)``.

Default: 45 nm CMOS, 32-bit floating point, Horowitz, "Computing's energy problem (and what we
can do about it)", ISSCC 2014: a 32-bit float multiply costs 3.7 pJ and an add 0.9 pJ, so a MAC
costs 4.6 pJ and an accumulate (one synaptic operation) 0.9 pJ. Memory traffic (weight and
state reads and writes, often the larger cost) is **not** included.
"""

from __future__ import annotations

from dataclasses import dataclass

from .opcounts import OpCounts

__all__ = ["EnergyTable", "HOROWITZ_45NM_FP32", "energy_joules", "break_even_rate"]


@dataclass(frozen=True, kw_only=True)
class EnergyTable:
    """Energy per operation, in picojoules."""

    name: str
    e_mac_pj: float
    e_ac_pj: float
    e_update_pj: float = 0.0
    source: str = ""


HOROWITZ_45NM_FP32 = EnergyTable(
    name="45nm-fp32", e_mac_pj=4.6, e_ac_pj=0.9, e_update_pj=0.0,
    source="Horowitz, ISSCC 2014: 45 nm, fp32 mult 3.7 pJ + add 0.9 pJ; memory access excluded",
)


def energy_joules(ops: OpCounts, table: EnergyTable = HOROWITZ_45NM_FP32, *,
                  include_updates: bool = False, effective: bool = False) -> float:
    """Energy per sample in joules. ``effective`` uses effective MACs instead of all MACs."""
    macs = ops.effective_macs if effective else ops.macs
    pj = macs * table.e_mac_pj + ops.sops * table.e_ac_pj
    if include_updates:
        pj += ops.neuron_updates * table.e_update_pj
    return pj * 1e-12


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
