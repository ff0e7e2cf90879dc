"""The package's public API: every name in ``neurosim.__all__`` resolves, to the object its
module defines, whatever was imported before."""

from __future__ import annotations

import importlib
import subprocess
import sys

import neurosim


def test_every_public_name_resolves():
    for name in neurosim.__all__:
        assert getattr(neurosim, name) is not None, name
    from neurosim.compare import Comparison, compare
    from neurosim.convert import convert
    from neurosim.data import load_dataset
    from neurosim.errors import DataError, NeurosimError, SpecError
    from neurosim.rate import Trainer
    from neurosim.report import write_report
    from neurosim.specs import load_model
    from neurosim.spike.layered import run_spiking
    from neurosim.spike.population import simulate_network

    for obj in (Comparison, compare, convert, load_dataset, DataError, NeurosimError,
                SpecError, Trainer, write_report, load_model, run_spiking, simulate_network):
        assert getattr(neurosim, obj.__name__) is obj
    assert isinstance(neurosim.__version__, str)
    assert set(neurosim.__all__) <= set(dir(neurosim))


def test_functions_named_like_modules_stay_functions():
    """``neurosim.compare`` and ``neurosim.convert`` are the functions even when their modules
    were imported first (the import system binds a module to its package on first import)."""
    code = ("import neurosim.compare, neurosim.convert, neurosim; "
            "from neurosim.compare import Comparison; "
            "print(callable(neurosim.compare), neurosim.compare.__name__, "
            "neurosim.convert.__module__, sys.modules['neurosim.compare'].__name__)")
    out = subprocess.run([sys.executable, "-c", "import sys; " + code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["True", "compare", "neurosim.convert", "neurosim.compare"]
    assert importlib.import_module("neurosim.compare").Comparison is neurosim.Comparison


def test_unknown_name_is_an_attribute_error():
    try:
        neurosim.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("no AttributeError")
