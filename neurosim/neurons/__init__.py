"""Neuron models: one module per model, each holding its spec, its compiled step and the
step's NumPy twin, found through the registry :data:`NEURON_MODELS`.

Units, the threshold convention (``v >= v_th``), refractoriness and the contract of a step are
in :mod:`neurosim.neurons.base`. The models: :mod:`~neurosim.neurons.if_` (``"if"``),
:mod:`~neurosim.neurons.lif` (``"lif"``, ``"alif"``), :mod:`~neurosim.neurons.izhikevich`,
:mod:`~neurosim.neurons.adex`, :mod:`~neurosim.neurons.hh`,
:mod:`~neurosim.neurons.mcculloch_pitts`.

Adding a model takes one module and one registration:

1. ``neurosim/neurons/<name>.py`` with a frozen dataclass subclass of :class:`NeuronModel`
   decorated with ``@register`` (``kind``, ``SLOTS``, ``ROWS``, ``state_vars``,
   ``param_values(dt)``, ``initial_state(v0)``, and ``current_coefficient`` if a current
   channel moves ``v`` linearly), a ``@numba.njit(**INLINE)`` function ``step(p, model, state,
   row, spikes, n_spk)`` and its twin ``step_numpy`` with the same signature and effects;
   where they differ from the defaults, ``SLOT_THRESHOLD`` (the slot compared with ``v``,
   default ``"v_th"``) and ``RECORD_ROWS`` (recordable variables not in the row of their
   name, as McCulloch-Pitts ``v``);
2. its import line below, which runs the registration.

``tests/test_neuron_steps.py`` then checks the step against its twin, since it iterates the
registry.
"""

# Imported in this order, the models register in it: the order of NEURON_MODELS and of the
# names listed in error messages.
# isort: off
from .base import (
    NEURON_MODELS,
    RESETS,
    NeuronModel,
    get_neuron_model,
    neuron_from_table,
    register,
)
from .if_ import IF, IF_LAYER
from .lif import LIF, LIF_LAYER, AdaptiveLIF
from .izhikevich import IZHIKEVICH_PRESETS, Izhikevich
from .adex import AdEx
from .hh import HH_INTEGRATORS, HodgkinHuxley
from .mcculloch_pitts import McCullochPitts
# isort: on

__all__ = ["NeuronModel", "NEURON_MODELS", "register", "get_neuron_model", "neuron_from_table",
           "RESETS", "HH_INTEGRATORS", "IZHIKEVICH_PRESETS", "IF", "IF_LAYER", "LIF",
           "LIF_LAYER", "AdaptiveLIF", "Izhikevich", "AdEx", "HodgkinHuxley", "McCullochPitts"]
