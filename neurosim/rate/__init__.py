"""Classic (rate) mode: the textbook neural network trained by backprop.

Forward and local backward of each layer kind (:mod:`.layers`) and activation
(:mod:`.activations`) sit side by side; :mod:`.losses`, :mod:`.optimizers`, :mod:`.schedules`
and :mod:`.trainer` train a :class:`~neurosim.specs.network.Network`; :mod:`.opcounts` counts
the MACs of one inference pass. Everything runs in float32 on NumPy/BLAS.

>>> import numpy as np
>>> from neurosim.specs import loads_model
>>> from neurosim.builder.params import init_params
>>> spec = loads_model('''
... name = "tiny"
... input_shape = [4]
... [[layers]]
... kind = "dense"
... units = 3
... activation = "softmax"
... ''')
>>> params = init_params(spec)
>>> forward(spec, params, np.ones((2, 4))).sum(axis=1).round(6).tolist()
[1.0, 1.0]
"""

from .network import accuracy, activations, forward, input_gradient, loss_and_grads, predict
from .opcounts import classic_opcounts
from .trainer import Trainer

__all__ = ["forward", "activations", "predict", "accuracy", "loss_and_grads", "input_gradient",
           "classic_opcounts", "Trainer"]
