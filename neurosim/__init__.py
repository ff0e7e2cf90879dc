"""neurosim: one model description, two modes.

Classic mode trains rate networks with backpropagation; spiking mode runs the same layer specs
(and networks of populations) as spiking neurons on an event-driven Numba engine; ``compare``
puts the two side by side on accuracy, operation counts, energy and latency.

The package tree follows the data flow: ``spec`` (what a model is) -> ``build`` (arrays) ->
``rate`` / ``spike`` (the two modes, ``kernels`` holding the compiled loops) -> ``monitor``
(op counts, energy) -> ``convert`` / ``compare`` -> ``plot``.
"""

from .errors import DataError, NeurosimError, SpecError
from .specs import load_model

__version__ = "0.1.0"

__all__ = ["NeurosimError", "SpecError", "DataError", "load_model", "__version__"]
