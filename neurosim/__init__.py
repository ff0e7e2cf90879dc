"""neurosim: one model description, two modes.

Classic mode trains rate networks with backpropagation; spiking mode runs the same layer specs
(and networks of populations) as spiking neurons on an event-driven Numba engine; ``compare``
puts the two side by side on accuracy, operation counts, energy and latency.

The package tree follows the data flow: ``specs`` (what a model is) -> ``builder`` (arrays) ->
``rate`` / ``spike`` (the two modes, ``kernels`` holding the compiled loops) -> ``monitor``
(op counts, energy) -> ``convert`` / ``compare`` (computing) -> ``report`` / ``plot``.

The public API, importable from the package itself::

    from neurosim import load_model, load_dataset, Trainer, compare, write_report

Its names are imported on first use, so ``import neurosim`` loads neither NumPy, Numba nor
matplotlib.
"""

from __future__ import annotations

import importlib
import sys
import types

from .errors import DataError, NeurosimError, SpecError

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_API = {
    "load_model": "neurosim.specs",
    "load_dataset": "neurosim.data",
    "Dataset": "neurosim.data",
    "Trainer": "neurosim.rate",
    "convert": "neurosim.convert",
    "run_spiking": "neurosim.spike.layered",
    "simulate_network": "neurosim.spike.population",
    "compare": "neurosim.compare",
    "Comparison": "neurosim.compare",
    "write_report": "neurosim.report",
}

__all__ = [*_API, "NeurosimError", "SpecError", "DataError", "__version__"]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'neurosim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """``compare`` and ``convert`` are functions of the API and also modules of the package.
    When a module ``neurosim.<name>`` is first imported, the import system binds it as an
    attribute of the package; for the names of the API, bind the function of that name
    instead, so ``neurosim.compare`` stays the function whatever was imported first (the
    modules stay importable by name: ``from neurosim.compare import Comparison``)."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _API.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
