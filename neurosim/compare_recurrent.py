"""A recurrent model in both modes: the classic network beside its spiking forms.

:func:`compare_recurrent` takes a classic recurrent network (``rnn`` or ``lstm``, trained in
classic mode) and, optionally, a recurrent spiking network trained directly (``rlif``, mode
``spiking``), and reports on the first ``samples`` test sequences:

- ``classic``: accuracy and operations per sample; a recurrent layer costs
  ``gates units (F + units)`` **MACs per step** (input and recurrent products; gates 1 for
  rnn, 4 for lstm), ``T`` steps per sequence (:mod:`neurosim.rate.opcounts`);
- ``convert``: the classic network converted to a recurrent IF layer
  (:mod:`neurosim.convert_recurrent`) at each ``hold`` (steps per row, ``T = hold S``):
  accuracy, SOPs (**synaptic events**, input: none, the rows are analog currents costing
  MACs; recurrent: spikes times ``units``; readout: spikes times classes), MACs and energy.
  A network that does not convert (a tanh RNN, an LSTM) gets ``refusal``: the one-line
  reason, naming the layer and field, and no spiking figures;
- ``direct``: the directly trained spiking network, run as trained (one step per row unless
  its training says otherwise), with the same figures.

Energies are per sample, arithmetic only (:func:`neurosim.monitor.energy.energy_joules`;
spiking ones include neuron updates), under one cost table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import NeurosimError
from .monitor.energy import HOROWITZ_45NM_FP32, EnergyTable, energy_joules, load_energy_table
from .monitor.opcounts import OpCounts

__all__ = ["RecurrentComparison", "SpikingPoint", "compare_recurrent", "classic_twin",
           "HOLDS"]

#: Steps per sequence row at which a converted RNN is run by default.
HOLDS = (1, 4, 16, 64)


@dataclass(frozen=True, kw_only=True)
class SpikingPoint:
    """One spiking run: ``hold`` steps per row, ``timesteps = hold S``, accuracy (fraction),
    per-sample :class:`OpCounts` and energy (J)."""

    hold: int
    timesteps: int
    accuracy: float
    ops: OpCounts
    energy_j: float

    def to_dict(self) -> dict:
        return {"hold": self.hold, "timesteps": self.timesteps, "accuracy": self.accuracy,
                "energy_j": self.energy_j, "ops": self.ops.to_dict()}


@dataclass(frozen=True, kw_only=True)
class RecurrentComparison:
    """The result of :func:`compare_recurrent` (module docstring). ``macs_per_step``: the
    classic recurrent layer's MACs per step and sample; ``scale``: the conversion's
    ``lambda`` (``None``: not converted)."""

    model: str
    classic_model: str
    dataset: str
    n_samples: int
    energy_table: str
    classic_accuracy: float
    classic_ops: OpCounts
    classic_energy_j: float
    macs_per_step: int
    convert: tuple[SpikingPoint, ...] = ()
    refusal: str | None = None
    scale: float | None = None
    direct: SpikingPoint | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """JSON-ready (report.json of ``neurosim compare`` on a recurrent model)."""
        return {"model": self.model, "classic_model": self.classic_model,
                "dataset": self.dataset, "n_samples": self.n_samples,
                "energy_table": self.energy_table,
                "classic": {"accuracy": self.classic_accuracy,
                            "energy_j": self.classic_energy_j,
                            "macs_per_step": self.macs_per_step,
                            "ops": self.classic_ops.to_dict()},
                "convert": {"refusal": self.refusal, "scale": self.scale,
                            "points": [p.to_dict() for p in self.convert]},
                "direct": None if self.direct is None else self.direct.to_dict(),
                "notes": list(self.notes)}


def classic_twin(spec, nonlinearity: str = "relu"):
    """The classic counterpart of a recurrent spiking spec: each ``rlif`` layer an ``rnn`` of
    the same size with ``nonlinearity``, trained in classic mode."""
    from .specs.layers import RecurrentLIF, Rnn

    layers = tuple(Rnn(units=x.units, nonlinearity=nonlinearity, use_bias=x.use_bias)
                   if isinstance(x, RecurrentLIF) else x for x in spec.layers)
    return replace(spec, name=f"{spec.name}-classic", layers=layers,
                   training=replace(spec.training, mode="classic"))


def _point(res, y, hold, table) -> SpikingPoint:
    return SpikingPoint(hold=int(hold), timesteps=int(res.timesteps),
                        accuracy=float(np.mean(res.predictions == y)), ops=res.op_counts,
                        energy_j=energy_joules(res.op_counts, table, include_updates=True))


def compare_recurrent(spec, params, dataset, *, direct=None, holds=HOLDS,
                      samples: int | None = None, energy_table: EnergyTable | str =
                      HOROWITZ_45NM_FP32, percentile: float = 99.9, norm_samples: int = 2000,
                      seed: int = 0, progress: bool = True) -> RecurrentComparison:
    """Compare the classic recurrent network ``spec``/``params`` with its conversion (where
    sound) and with ``direct`` (``(spec, params)`` of a directly trained ``rlif`` network, or
    ``None``) on ``dataset`` (module docstring). ``holds``: steps per row of the converted
    network; normalisation on ``norm_samples`` training samples chosen with ``seed``."""
    from .bptt.recurrent import sequence_hold
    from .convert_recurrent import check_convertible, convert_recurrent
    from .rate import classic_opcounts, predict
    from .rate.network import _prepare
    from .spike.recurrent import run_recurrent

    if not isinstance(energy_table, EnergyTable):
        energy_table = load_energy_table(energy_table)
    table = energy_table
    n = len(dataset.x_test) if samples is None else min(int(samples), len(dataset.x_test))
    x = _prepare(spec, params, dataset.x_test[:n])
    y = np.asarray(dataset.y_test[:n])
    acc = float(np.mean(predict(spec, params, x) == y))
    ops = classic_opcounts(spec, params, x)
    layer = spec.layers[0]
    per_step = int(layer.macs_per_step(spec.input_shape)) if hasattr(layer, "macs_per_step") \
        else 0
    points, refusal, lam = [], None, None
    try:
        check_convertible(spec)
    except NeurosimError as err:
        refusal = str(err)
    if refusal is None:
        rng = np.random.default_rng(seed)
        k = min(int(norm_samples), len(dataset.x_train))
        idx = np.sort(rng.choice(len(dataset.x_train), size=k, replace=False))
        conv, lam = convert_recurrent(spec, params, _prepare(spec, params,
                                                             dataset.x_train[idx]),
                                      percentile=percentile)
        rows = int(spec.input_shape[0])
        for hold in sorted({int(h) for h in holds}):
            res = run_recurrent(spec, conv, x, hold=hold, delay=hold,
                                readout_from=(rows - 1) * hold, progress=progress)
            points.append(_point(res, y, hold, table))
    dpoint = None
    notes = []
    if direct is not None:
        dspec, dparams = direct
        hold = sequence_hold(dspec)
        res = run_recurrent(dspec, dparams, _prepare(dspec, dparams, dataset.x_test[:n]),
                            hold=hold, dt=dspec.training.dt, progress=progress)
        dpoint = _point(res, y, hold, table)
        notes.append(f"direct: {dspec.name} trained as spiking neurons (BPTT through "
                     f"{dspec.training.timesteps} steps), run as trained; its readout "
                     "integrates every step")
    if refusal is None:
        notes.append(f"convert: {spec.name} as recurrent IF neurons (threshold 1, reset by "
                     "subtraction, membrane bounded below by 0), rows held hold steps, "
                     "recurrent delay = hold, "
                     f"{percentile:g}th-percentile normalisation (lambda {lam:.4g}) on "
                     f"{min(int(norm_samples), len(dataset.x_train))} training samples; the "
                     "readout integrates the last row's window")
    notes.append("classic MACs: gates * units * (F + units) per step of a recurrent layer, "
                 "T steps; spiking: analog rows cost F * units MACs per step, each spike its "
                 "fan-out in SOPs (recurrent: units, readout: classes)")
    return RecurrentComparison(
        model=(direct[0].name if direct is not None else spec.name), classic_model=spec.name,
        dataset=dataset.name, n_samples=n, energy_table=table.name, classic_accuracy=acc,
        classic_ops=ops, classic_energy_j=energy_joules(ops, table), macs_per_step=per_step,
        convert=tuple(points), refusal=refusal, scale=lam, direct=dpoint, notes=tuple(notes))
