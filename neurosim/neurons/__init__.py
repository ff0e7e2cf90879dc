"""Neuron models: one module per model, each holding its spec, its compiled step and the
step's NumPy twin, found through the registry :data:`NEURON_MODELS`.

Units, the threshold convention (``v >= v_th``), refractoriness and the contract of a step are
in :mod:`neurosim.neurons.base`. The models: :mod:`~neurosim.neurons.if_` (``"if"``),
:mod:`~neurosim.neurons.lif` (``"lif"``, ``"alif"``), :mod:`~neurosim.neurons.izhikevich`,
:mod:`~neurosim.neurons.adex`, :mod:`~neurosim.neurons.hh` (with Hodgkin and Huxley's or
Traub and Miles' rates), the input sources of
:mod:`~neurosim.neurons.sources` (``"poisson_generator"``, ``"poisson"``,
``"spike_generator"``),
:mod:`~neurosim.neurons.mcculloch_pitts`, :mod:`~neurosim.neurons.discrete_lif`
(``"discrete_lif"``, the LIF as clock-driven frameworks step it, for NIR graphs).

Adding a model takes one module and one registration:

1. ``neurosim/neurons/<name>.py`` with a frozen dataclass subclass of :class:`NeuronModel`
   decorated with ``@register`` (``kind``, ``SLOTS``, ``ROWS``, ``state_vars``,
   ``param_values(dt)``, ``initial_state(v0)``, and ``current_coefficient`` if a current
   channel moves ``v`` linearly), a ``@numba.njit(**INLINE)`` function ``step(p, model, state,
   row, spikes, n_spk)`` and its twin ``step_numpy`` with the same signature and effects;
   where they differ from the defaults, ``SLOT_THRESHOLD`` (the slot compared with ``v``,
   default ``"v_th"``) and ``RECORD_ROWS`` (recordable variables not in the row of their
   name, as McCulloch-Pitts ``v``);
2. its module name in :data:`BUILTIN` below (imported, and so registered, on first use).

``tests/test_neuron_steps.py`` then checks the step against its twin, since it iterates the
registry.
"""

# The model modules compile their steps with Numba, so they are imported on first use (a
# registry lookup, or any of their names from this package): ``import neurosim`` stays light.
from .base import RESETS, NeuronModel, load_models, neuron_from_table, register  # noqa: I001
from .base import get_neuron_model

#: The built-in models, imported in this order (the order of NEURON_MODELS and of the names
#: listed in error messages). A new built-in model adds its module here.
BUILTIN = ("if_", "lif", "izhikevich", "adex", "hh", "mcculloch_pitts", "discrete_lif",
           "sources")

_NAMES = {"IF": "if_", "IF_LAYER": "if_", "LIF": "lif", "LIF_LAYER": "lif",
          "AdaptiveLIF": "lif", "Izhikevich": "izhikevich", "IZHIKEVICH_PRESETS": "izhikevich",
          "AdEx": "adex", "HodgkinHuxley": "hh", "HH_INTEGRATORS": "hh",
          "McCullochPitts": "mcculloch_pitts", "DiscreteLIF": "discrete_lif",
          "PoissonGenerator": "sources", "PoissonSource": "sources",
          "SpikeGenerator": "sources"}

__all__ = ["NeuronModel", "NEURON_MODELS", "register", "get_neuron_model", "neuron_from_table",
           "load_models", "RESETS", "HH_INTEGRATORS", "IZHIKEVICH_PRESETS", "IF", "IF_LAYER",
           "LIF", "LIF_LAYER", "AdaptiveLIF", "Izhikevich", "AdEx", "HodgkinHuxley",
           "McCullochPitts", "DiscreteLIF", "PoissonGenerator", "PoissonSource",
           "SpikeGenerator", "BUILTIN"]


def __getattr__(name: str):
    import importlib

    if name == "NEURON_MODELS":
        from . import base

        load_models()
        return base.NEURON_MODELS
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    if name in BUILTIN:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
