"""Operation counts: one type for both modes, one definition used everywhere.

Definitions (per sample, per layer or projection):

- **MAC** (multiply-accumulate): classic dense layer ``n_in * n_out``; conv2d
  ``C_in * kh * kw * C_out * H_out * W_out``; average pooling ``kh * kw * C * H_out * W_out``
  (one accumulate per input in the window; its scale is folded into the next layer in hardware,
  but counted here as a MAC to stay conservative). In spiking mode, MACs are spent only on
  analog (current) input to the first spiking layer, counted at every time step.
- **Effective MAC**: a MAC whose input activation is non-zero (what a sparsity-exploiting
  accelerator would do).
- **SOP** (synaptic operation, one accumulate): one spike reaching one target; a layer's SOPs are
  the sum over its input spikes of each neuron's exact fan-out (edge positions of a convolution
  reach fewer targets).
- **Neuron update**: one state update of one neuron in one time step.

Energy is ``macs * e_mac + sops * e_ac (+ neuron_updates * e_update)``: see
:mod:`neurosim.monitor.energy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["LayerOps", "OpCounts"]


@dataclass(frozen=True, kw_only=True)
class LayerOps:
    """Operations of one layer or projection, per sample (averaged over samples)."""

    name: str
    macs: float = 0.0
    effective_macs: float = 0.0
    sops: float = 0.0
    neuron_updates: float = 0.0
    spikes: float = 0.0
    neurons: int = 0

    def __add__(self, other: LayerOps) -> LayerOps:
        return LayerOps(name=self.name, macs=self.macs + other.macs,
                        effective_macs=self.effective_macs + other.effective_macs,
                        sops=self.sops + other.sops,
                        neuron_updates=self.neuron_updates + other.neuron_updates,
                        spikes=self.spikes + other.spikes, neurons=self.neurons)


@dataclass(frozen=True, kw_only=True)
class OpCounts:
    """Per-layer operation counts of one mode, per sample.

    ``mode`` is ``"classic"`` or ``"spiking"``; ``timesteps`` the number of simulated steps
    (``None`` in classic mode); ``input_macs_counted`` says how analog input was counted in
    spiking mode: ``"every_step"`` (the convention of syops-counter and SpikingJelly) or
    ``"once"`` (a constant input current computed once).
    """

    mode: str
    layers: tuple[LayerOps, ...] = field(default_factory=tuple)
    timesteps: int | None = None
    input_macs_counted: str | None = None

    @property
    def macs(self) -> float:
        return sum(layer.macs for layer in self.layers)

    @property
    def effective_macs(self) -> float:
        return sum(layer.effective_macs for layer in self.layers)

    @property
    def sops(self) -> float:
        return sum(layer.sops for layer in self.layers)

    @property
    def neuron_updates(self) -> float:
        return sum(layer.neuron_updates for layer in self.layers)

    @property
    def spikes(self) -> float:
        return sum(layer.spikes for layer in self.layers)

    def scaled(self, factor: float) -> OpCounts:
        """Every count multiplied by ``factor`` (e.g. ``1 / n_samples`` to go per sample)."""
        return replace(self, layers=tuple(
            replace(x, macs=x.macs * factor, effective_macs=x.effective_macs * factor,
                    sops=x.sops * factor, neuron_updates=x.neuron_updates * factor,
                    spikes=x.spikes * factor)
            for x in self.layers))

    def to_dict(self) -> dict:
        """JSON-ready: per-layer rows and totals."""
        return {
            "mode": self.mode,
            "timesteps": self.timesteps,
            "input_macs_counted": self.input_macs_counted,
            "layers": [vars(x) | {} for x in self.layers],
            "total": {"macs": self.macs, "effective_macs": self.effective_macs,
                      "sops": self.sops, "neuron_updates": self.neuron_updates,
                      "spikes": self.spikes},
        }

    @classmethod
    def from_dict(cls, d: dict) -> OpCounts:
        return cls(mode=d["mode"], timesteps=d.get("timesteps"),
                   input_macs_counted=d.get("input_macs_counted"),
                   layers=tuple(LayerOps(**x) for x in d["layers"]))
