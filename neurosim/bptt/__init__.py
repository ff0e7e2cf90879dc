"""Direct spiking training: a layered spec trained as spiking neurons by backpropagation
through time (BPTT) with surrogate derivatives of the spike.

The same spec, the same neuron models and the same arrays as the engine: the forward pass is
the layered fast path's own steps (IF layers, reset by subtraction, ``v >= v_th``, float32),
so a trained network gives the same spikes in ``run_spiking`` (fast path and general engine)
as in training; the trainer is the classic mode's (:class:`neurosim.rate.Trainer`) with a
:class:`SpikingObjective` in place of the classic loss.

Modules, one concept each:

- :mod:`.surrogates`: the registry of surrogate derivatives (fast sigmoid, arctan,
  triangle, sigmoid), each with its slope;
- :mod:`.net`: :class:`SpikingNet`, the spec built once as the engine's arrays, refilled from
  the parameters before each batch, and the recording forward pass (compiled:
  :func:`neurosim.kernels.bptt.forward_layered`);
- :mod:`.backward`: BPTT over the records (the neuron adjoint, compiled:
  :func:`neurosim.kernels.bptt.if_backward`; the projections through the classic layers'
  local backward), readouts and losses;
- :mod:`.objective`: :class:`SpikingObjective`, what the trainer calls;
- :mod:`.recurrent`: the same for a recurrent spiking layer (``rlif``: LIF or the ALIF units
  of LSNNs) on sequences, its NumPy twins in :mod:`.reference_recurrent`;
- :mod:`.reference`: the NumPy twins of the kernels and a smooth forward pass (a sigmoid in
  place of the step) for the finite-difference checks.

The reset's gradient: ``reset_gradient = "detach"`` (default) drops it, as snnTorch and Norse
do (the membrane's gradient passes the reset unchanged); ``"keep"`` differentiates the
subtraction ``v_th s[t]`` through the surrogate, as SpikingJelly does by default.
"""

from .net import SpikingNet
from .objective import SpikingObjective
from .surrogates import SURROGATES, get_surrogate

__all__ = ["SpikingNet", "SpikingObjective", "SURROGATES", "get_surrogate", "objective_for"]


def objective_for(spec) -> SpikingObjective:
    """The spiking objective of ``spec``: :class:`~neurosim.bptt.recurrent.RecurrentObjective`
    for a spec with a recurrent spiking layer (``rlif``), :class:`SpikingObjective`
    otherwise."""
    from ..builder.recurrent import is_recurrent_spiking

    if is_recurrent_spiking(spec):
        from .recurrent import RecurrentObjective

        return RecurrentObjective(spec)
    return SpikingObjective(spec)
