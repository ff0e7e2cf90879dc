"""When does spiking pay? Several ways to get a spiking network, side by side with classic.

:func:`compare_methods` runs :func:`neurosim.compare.compare` once per *method*, each a way to
obtain a spiking network from the same spec:

- ``percentile``, ``max``: the trained ReLU network converted by data-based normalisation;
- ``qcfs``: a network trained with QCFS activations (the spec itself, or its QCFS twin,
  :func:`qcfs_twin`) converted with threshold = clip and half-threshold initial membranes;
- ``direct``: a network trained directly as spiking neurons (BPTT with surrogate gradients),
  run as it was trained (no normalisation).

For every method and every recorded ``T`` it keeps the spiking accuracy and the energy per
sample under the comparison's cost table (:class:`MethodPoint`), and states per method:

- ``cheapest``: the point of least energy whose accuracy is within ``gap`` (1 point) of the
  classic network's, or ``None`` when no recorded ``T`` gets there;
- ``break_even_t``: the largest recorded ``T`` at which the spiking energy is still at or
  below the classic energy (energy grows with ``T``, so beyond it spiking costs more), or
  ``None`` when even ``T = 1`` costs more;
- its ``latency`` (first ``T`` within the gap).

The classic reference (accuracy, energy) is the classic ReLU network's. Every method uses one
cost table and one convention for the analog input's MACs (``input_macs``), stated in the
result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .compare import LATENCY_GAP, Comparison, compare
from .monitor.energy import energy_joules

__all__ = ["METHOD_NAMES", "MethodPoint", "MethodSummary", "MethodComparison",
           "compare_methods", "qcfs_twin", "summarise"]

#: The methods, in the order they are reported.
METHOD_NAMES = ("percentile", "max", "qcfs", "direct")

DESCRIPTIONS = {
    "percentile": "ReLU network converted, 99.9th-percentile normalisation",
    "max": "ReLU network converted, max normalisation",
    "qcfs": "QCFS network converted (threshold = trained clip, membranes from half of it)",
    "direct": "trained directly as spiking neurons (BPTT), run as trained",
}


@dataclass(frozen=True)
class MethodPoint:
    """One (method, T): accuracy (fraction) and energy per sample (J, arithmetic)."""

    timesteps: int
    accuracy: float
    energy_j: float


@dataclass(frozen=True, kw_only=True)
class MethodSummary:
    """One method's curve and what it says; see the module docstring."""

    name: str
    points: tuple[MethodPoint, ...]
    cheapest: MethodPoint | None
    break_even_t: int | None
    latency: int | None
    classic_accuracy: float
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class MethodComparison:
    """The result of :func:`compare_methods`: the classic reference, one summary per method,
    and each method's full :class:`~neurosim.compare.Comparison` (``details``)."""

    model: str
    classic_accuracy: float
    classic_energy_j: float
    gap: float
    energy_table: str
    input_macs_counted: str | None
    methods: tuple[MethodSummary, ...]
    details: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """JSON-ready (the ``methods`` object of report.json)."""
        def point(p):
            return None if p is None else {
                "timesteps": p.timesteps, "accuracy": p.accuracy, "energy_j": p.energy_j,
                "energy_vs_classic": p.energy_j / self.classic_energy_j}
        return {"classic": {"accuracy": self.classic_accuracy,
                            "energy_j": self.classic_energy_j},
                "gap": self.gap, "energy_table": self.energy_table,
                "input_macs_counted": self.input_macs_counted,
                "methods": {m.name: {"description": m.description,
                                     "cheapest_within_gap": point(m.cheapest),
                                     "break_even_timesteps": m.break_even_t,
                                     "latency": m.latency,
                                     "method_classic_accuracy": m.classic_accuracy,
                                     "points": [point(p) for p in m.points]}
                            for m in self.methods}}


def qcfs_twin(spec, levels: int = 8):
    """The same network with every hidden ``relu`` layer made ``qcfs`` with ``levels`` levels
    (its clip learned from :data:`~neurosim.specs.activations.QCFS_CLIP_INIT`)."""
    layers = tuple(replace(x, activation="qcfs", levels=levels)
                   if getattr(x, "activation", None) == "relu" else x for x in spec.layers)
    return replace(spec, name=f"{spec.name}-qcfs", layers=layers)


def summarise(name: str, comp: Comparison, classic_accuracy: float, classic_energy_j: float,
              gap: float = LATENCY_GAP, description: str = "") -> MethodSummary:
    """A method's points (every recorded ``T`` of ``comp``) and its cheapest point within
    ``gap`` of ``classic_accuracy`` and break-even ``T`` against ``classic_energy_j``."""
    table = comp.energy_table
    points = tuple(MethodPoint(t, comp.accuracy_curve[t],
                               energy_joules(comp.ops_curve[t], table, include_updates=True))
                   for t in sorted(comp.accuracy_curve))
    good = [p for p in points if p.accuracy >= classic_accuracy - gap]
    cheapest = min(good, key=lambda p: (p.energy_j, p.timesteps)) if good else None
    paying = [p.timesteps for p in points if p.energy_j <= classic_energy_j]
    latency = next((p.timesteps for p in points if p.accuracy >= classic_accuracy - gap), None)
    return MethodSummary(name=name, points=points, cheapest=cheapest,
                         break_even_t=max(paying) if paying else None, latency=latency,
                         classic_accuracy=comp.classic_accuracy, description=description)


def compare_methods(spec, params, dataset, *, methods=("percentile", "qcfs"),
                    qcfs=None, direct=None, progress: bool = True, done=None,
                    **kwargs) -> MethodComparison:
    """Compare the classic network ``spec``/``params`` with spiking networks made by each of
    ``methods`` on ``dataset`` (keyword arguments as :func:`neurosim.compare.compare`: the
    same ``timesteps``, ``samples``, ``energy_table``, ``input_macs``, ... for all).

    ``qcfs``: ``(spec, params)`` of a network trained with QCFS activations (required for
    ``qcfs`` unless ``spec`` itself is one); ``direct``: ``(spec, params)`` of a network
    trained directly as spiking neurons, run with its training's encoder and readout when its
    spec says them. A method without its network is skipped. ``done``: comparisons already
    made, by method name (run with the same settings), reused instead of run again.
    """
    has_qcfs = any(x.activation_name == "qcfs" for x in spec.layers)
    details: dict[str, Comparison] = {}
    done = dict(done or {})
    descriptions = {}
    for name in methods:
        if name in done:
            details[name] = done[name]
            descriptions[name] = DESCRIPTIONS.get(name, name)
        elif name in ("percentile", "max"):
            details[name] = compare(spec, params, dataset, normalization=name,
                                    progress=progress, **kwargs)
            descriptions[name] = DESCRIPTIONS[name]
        elif name == "qcfs" and (has_qcfs or qcfs is not None):
            s, p = (spec, params) if has_qcfs else qcfs
            details[name] = compare(s, p, dataset, normalization="qcfs", progress=progress,
                                    **kwargs)
            descriptions[name] = DESCRIPTIONS[name]
        elif name == "direct" and direct is not None:
            s, p = direct
            tr = s.training
            kw = dict(kwargs)
            for key in ("encoder", "readout"):
                if getattr(tr, key, None) is not None:
                    kw[key] = getattr(tr, key)
            details[name] = compare(s, p, dataset, normalization="none", progress=progress,
                                    **kw)
            descriptions[name] = (f"trained directly as spiking neurons (BPTT, T = "
                                  f"{getattr(tr, 'timesteps', '?')}), run as trained")
    if not details:
        raise ValueError("compare_methods: no method could run (give qcfs or direct networks)")
    # The classic reference: the ReLU network's (the first converted method's comparison), or
    # the first method's when only QCFS or direct ran.
    ref = next((details[m] for m in ("percentile", "max") if m in details),
               next(iter(details.values())))
    if not has_qcfs and "percentile" not in details and "max" not in details:
        from .rate import classic_opcounts, predict

        n = ref.n_samples
        x, y = dataset.x_test[:n], dataset.y_test[:n]
        acc = float(np.mean(predict(spec, params, x) == y))
        energy = energy_joules(classic_opcounts(spec, params, x), ref.energy_table)
    else:
        acc, energy = ref.classic_accuracy, ref.classic_energy_j
    summaries = tuple(summarise(m, details[m], acc, energy, description=descriptions[m])
                      for m in METHOD_NAMES if m in details)
    return MethodComparison(model=spec.name, classic_accuracy=acc, classic_energy_j=energy,
                            gap=LATENCY_GAP, energy_table=ref.energy_table.name,
                            input_macs_counted=ref.input_macs_counted, methods=summaries,
                            details=details)
