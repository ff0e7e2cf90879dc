"""Spiking neuron models: re-exported from :mod:`neurosim.neurons`, where each model is one
module (spec, compiled step, NumPy twin) registered in :data:`NEURON_MODELS`. Units, the
threshold convention and the step contract: :mod:`neurosim.neurons.base`."""

from ..neurons import (
    HH_INTEGRATORS,
    IF,
    IZHIKEVICH_PRESETS,
    LIF,
    NEURON_MODELS,
    RESETS,
    AdaptiveLIF,
    AdEx,
    HodgkinHuxley,
    Izhikevich,
    McCullochPitts,
    NeuronModel,
    get_neuron_model,
    neuron_from_table,
)

__all__ = ["NeuronModel", "IF", "LIF", "AdaptiveLIF", "Izhikevich", "AdEx", "HodgkinHuxley",
           "McCullochPitts", "NEURON_MODELS", "IZHIKEVICH_PRESETS", "get_neuron_model",
           "neuron_from_table", "RESETS", "HH_INTEGRATORS"]
