"""Probes and operation counts, the same for both modes."""

from .energy import HOROWITZ_45NM_FP32, EnergyTable, break_even_rate, energy_joules
from .opcounts import LayerOps, OpCounts

__all__ = ["LayerOps", "OpCounts", "EnergyTable", "HOROWITZ_45NM_FP32", "energy_joules",
           "break_even_rate"]
