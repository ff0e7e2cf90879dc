"""How a NIR graph is stepped in time: the conventions of the frameworks that read it.

A NIR file states continuous-time equations (``tau dv/dt = (v_leak - v) + r I`` for LIF,
``dv/dt = r I`` for IF, with times in seconds) and nothing about the time step, the
integration, the reset or the threshold test: each reader chooses them. A
:class:`Convention` states those choices, so that neurosim runs a graph the way a given
framework does; :data:`PRESETS` holds the frameworks' own, each with its source. The one
neuron model that runs them all is :class:`~neurosim.neurons.discrete_lif.DiscreteLIF`.

What a preset fixes (the fields of :class:`Convention`):

- ``dt`` (ms): the step used when neither ``--dt`` nor the file (neurosim's ``dt_s`` graph
  metadata) gives one;
- ``integration``: how ``v`` decays over a step, ``1 - dt/tau`` (``"euler"``) or
  ``exp(-dt/tau)`` (``"exact"``);
- ``input_gain``: how much ``v`` moves per unit of input per step: ``r dt/tau``
  (``"euler"``), ``r (1 - exp(-dt/tau))`` (``"exact"``), or 1 with every potential (threshold,
  leak, reset) divided by ``r dt/tau`` instead (``"unit"``, snnTorch's ``hack_w_scale``);
  ``use_r = false``: the reader ignores NIR's ``r`` (``r = 1``);
- ``if_gain``: IF nodes, ``v += r I dt`` (``"ode"``, NIR's ``dv/dt = r I`` with ``dt`` in
  seconds) or ``v += r I`` per step (``"step"``, what clock-driven frameworks do);
- ``reset``: to ``v_reset`` (``"zero"``, NIR's rule) or by subtraction of the threshold
  (``"subtract"``); ``reset_delay``: applied in the next step (snnTorch's ``reset_delay``);
- ``threshold``: ``">"`` (PyTorch's Heaviside ``x > 0``) or ``">="``;
- ``interpolate``: the threshold crossing is located inside the step and the rest of the step
  integrated from the reset (the event-driven exact solution);
- ``leak_target``: what ``v`` decays towards, ``"v_leak"`` (NIR) or ``"v_reset"``
  (SpikingJelly's ``LIFNode``); ``v_init``: where ``v`` starts, ``"v_leak"`` (Norse),
  ``"zero"`` (snnTorch, sinabs) or ``"v_reset"`` (SpikingJelly) (NIR states no initial
  state).

Synaptic currents (CubaLIF, CubaLI): the current decays over a step as the membrane does
under the preset's ``integration`` (``1 - dt/tau_syn`` or ``exp(-dt/tau_syn)``) and each input
adds ``w_in`` times the preset's gain with ``tau_syn`` (``"unit"``: 1, the potentials divided
by that gain too).

A file written by neurosim also carries, in its metadata, what NIR cannot say about it (reset
by subtraction per node, the threshold test and ``dt`` for the graph); the reader applies
those over the preset's choices (:func:`neurosim.interchange.nir_import.import_nir`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import SpecError

__all__ = ["Convention", "PRESETS", "get_convention", "EXACT", "NORSE", "SNNTORCH", "SINABS",
           "SPIKINGJELLY"]

_CHOICES = {"integration": ("euler", "exact"), "input_gain": ("euler", "exact", "unit"),
            "if_gain": ("ode", "step"), "reset": ("zero", "subtract"),
            "threshold": (">", ">="), "leak_target": ("v_leak", "v_reset"),
            "v_init": ("v_leak", "zero", "v_reset")}


@dataclass(frozen=True, kw_only=True)
class Convention:
    """The choices a NIR reader makes (module docstring); ``source`` says where they are
    documented or implemented."""

    name: str
    dt: float
    integration: str
    input_gain: str
    use_r: bool
    if_gain: str
    reset: str
    reset_delay: bool
    threshold: str
    interpolate: bool = False
    leak_target: str = "v_leak"
    v_init: str = "v_leak"
    source: str = ""

    def __post_init__(self):
        for field, choices in _CHOICES.items():
            if getattr(self, field) not in choices:
                raise SpecError(f"convention {self.name}: {field}: must be one of "
                                f"{', '.join(choices)}, got {getattr(self, field)!r}")
        if isinstance(self.dt, bool) or not isinstance(self.dt, (int, float)) \
                or not self.dt > 0:
            raise SpecError(f"convention {self.name}: dt: must be a positive number of ms, "
                            f"got {self.dt!r}")
        if self.interpolate and (self.reset_delay or self.integration != "exact"
                                 or self.input_gain == "unit"):
            raise SpecError(f"convention {self.name}: interpolate: needs exact integration "
                            "and an immediate reset")

    def to_dict(self) -> dict:
        """The record as plain values (for summary.json and the file's metadata)."""
        return dataclasses.asdict(self)


#: The event-driven exact solution of NIR's equations for an input held over each step (the
#: NIR paper's ``lif_exact_sim``): exact decay and input integral, the reset at the crossing
#: time inside the step and the rest of the step integrated from ``v_reset``.
EXACT = Convention(
    name="exact", dt=1.0, integration="exact", input_gain="exact", use_r=True, if_gain="ode",
    reset="zero", reset_delay=False, threshold=">=", interpolate=True,
    source="NIR's equations (nir.LIF: tau dv/dt = (v_leak - v) + R I; nir.IF: dv/dt = R I), "
           "integrated exactly for an input held over each step; NIR paper "
           "(Pedersen et al., Nat. Commun. 2024) paper/01_lif/lif_exact.csv")

#: Norse 1.1 ``norse.torch.from_nir`` (``norse/torch/utils/import_nir.py``): LIF becomes a
#: ``LIFBoxCell`` stepped by forward Euler, ``v += dt/tau (v_leak - v + I)`` (``r`` ignored,
#: with a warning when it is not 1), spike on ``heaviside(v - v_th)`` = ``v > v_th``
#: (``norse/torch/functional/heaviside.py``: ``torch.gt``), then ``reset_value``: ``v = v_reset``
#: in the same step; IF becomes ``IAFCell``, ``v += I`` per step. ``v`` starts at ``v_leak``
#: (``LIFBoxCell.initial_state``); ``dt`` defaults to 1 ms (``from_nir(..., dt=0.001)``).
NORSE = Convention(
    name="norse", dt=1.0, integration="euler", input_gain="euler", use_r=False,
    if_gain="step", reset="zero", reset_delay=False, threshold=">",
    source="norse 1.1.0 norse/torch/utils/import_nir.py (LIFBoxCell, IAFCell), "
           "norse/torch/functional/lif_box.py (lif_box_feed_forward_step), "
           "norse/torch/functional/heaviside.py, norse/torch/functional/reset.py (reset_value)")

#: snnTorch 1.0 ``snntorch.import_nir.import_from_nir``: LIF becomes ``snn.Leaky`` with
#: ``beta = 1 - dt/tau`` and ``dt = 1e-4 s`` hard-coded, the input added unscaled
#: (``mem = beta mem + I``) and the threshold divided by ``r dt/tau`` instead
#: (``hack_w_scale``), ``reset_mechanism="zero"``, ``reset_delay=False``; spikes on
#: ``mem - threshold > 0`` (``snntorch/surrogate.py``); ``mem`` starts at 0. CubaLIF becomes
#: ``snn.Synaptic`` (``alpha = 1 - dt/tau_syn``, threshold divided by ``w_in dt/tau_syn``).
#: IF nodes become ``snn.Leaky(beta=0.9)`` with reset by subtraction in snnTorch 1.0.0, a
#: leak NIR's IF does not have: this preset runs NIR's IF (``v += I`` per step) rather than
#: copying that.
SNNTORCH = Convention(
    name="snntorch", dt=0.1, integration="euler", input_gain="unit", use_r=True,
    if_gain="step", reset="zero", reset_delay=False, threshold=">", v_init="zero",
    source="snntorch 1.0.0 snntorch/import_nir.py (_nir_to_snntorch_module), "
           "snntorch/_neurons/leaky.py (Leaky.forward, reset_delay), snntorch/surrogate.py")

#: sinabs (``sinabs.layers.LIF``, ``sinabs/nir.py``): ``v = alpha v + I`` with
#: ``alpha = exp(-dt/tau)`` (``norm_input=False``), spike when ``v >= threshold``
#: (``SingleSpike``: ``v_mem - spike_threshold >= 0``), reset by subtraction
#: (``MembraneSubtract``), ``r`` not read; the NIR paper's sinabs run fed the input scaled by
#: ``dt/tau`` (``lif_sinabs.csv``'s input column is 0.04 = 0.1 ms / 2.5 ms), which the Euler
#: input gain reproduces. IF: ``IAFSqueeze``, ``v += I`` per step.
SINABS = Convention(
    name="sinabs", dt=1.0, integration="exact", input_gain="euler", use_r=False,
    if_gain="step", reset="subtract", reset_delay=False, threshold=">=", v_init="zero",
    source="sinabs sinabs/nir.py (_import_sinabs_module), "
           "sinabs/activation/spike_generation.py (SingleSpike), "
           "sinabs/activation/reset_mechanism.py (MembraneSubtract); NIR paper "
           "paper/01_lif/lif_sinabs.csv")

#: SpikingJelly ``activation_based.neuron.LIFNode`` (``decay_input=True``, hard reset):
#: ``v = v + (x - (v - v_reset)) / tau`` with ``tau`` in steps (forward Euler, leak towards
#: ``v_reset``, ``r`` absent), spike when ``v >= v_threshold``
#: (``jit_eval_single_step_forward_hard_reset_decay_input``), ``v = v_reset`` in the same
#: step; ``IFNode``: ``v += x``.
SPIKINGJELLY = Convention(
    name="spikingjelly", dt=1.0, integration="euler", input_gain="euler", use_r=False,
    if_gain="step", reset="zero", reset_delay=False, threshold=">=", leak_target="v_reset",
    v_init="v_reset",
    source="spikingjelly activation_based/neuron.py (LIFNode.neuronal_charge_decay_input, "
           "jit_eval_single_step_forward_hard_reset_decay_input, IFNode)")

#: The presets by name (``neurosim simulate GRAPH.nir --convention NAME``).
PRESETS: dict[str, Convention] = {c.name: c for c in (SNNTORCH, NORSE, SINABS, SPIKINGJELLY,
                                                       EXACT)}


def get_convention(convention: str | Convention) -> Convention:
    """A preset by name, or ``convention`` itself; :class:`SpecError` naming the known ones."""
    if isinstance(convention, Convention):
        return convention
    if convention not in PRESETS:
        raise SpecError(f"convention: must be one of {', '.join(PRESETS)}, got "
                        f"{convention!r}")
    return PRESETS[convention]
