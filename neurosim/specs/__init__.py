"""What a model is: activations, layers, networks, neuron models, populations; TOML load/save.

Specs are frozen dataclasses without weights or state.
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .io import dumps_model, load_model, loads_model, model_from_dict, model_to_dict, save_model
from .layers import (
    AvgPool2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    Lstm,
    MaxPool2D,
    RecurrentLIF,
    Rnn,
)
from .network import DataSettings, Init, Network, Training

__all__ = [
    "ACTIVATIONS", "Activation", "get_activation",
    "Layer", "Dense", "Conv2D", "AvgPool2D", "MaxPool2D", "Flatten", "Dropout",
    "Rnn", "Lstm", "RecurrentLIF", "Network", "Init", "Training", "DataSettings",
    "load_model", "loads_model", "model_from_dict", "model_to_dict", "dumps_model", "save_model",
]
