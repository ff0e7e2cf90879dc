"""The usage example in the docstring of :mod:`neurosim.rate` runs and prints what it shows."""

from __future__ import annotations

import doctest

import neurosim.rate


def test_rate_package_example():
    result = doctest.testmod(neurosim.rate, verbose=False)
    assert result.attempted >= 3 and result.failed == 0
