"""Input encoders: spike counts and timing against their closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import DataError
from neurosim.spike import encoders

#: Poisson spike counts over n trials: 5 standard deviations of a binomial, so that a correct
#: encoder fails this with probability < 1e-6.
BINOMIAL_SIGMAS = 5.0


def test_regular_counts_are_floor_of_rate_times_t():
    x = np.array([[0.0, 0.1, 0.25, 0.5, 0.73, 1.0]])
    s = encoders.Regular().encode(x, 40)
    assert s.shape == (1, 40, 6) and s.dtype == np.uint8
    assert s.sum(axis=1)[0].tolist() == [0, 4, 10, 20, 29, 40]
    # x = 0.5: every second step, the first at step 1 (0-based)
    assert np.flatnonzero(s[0, :, 3])[:3].tolist() == [1, 3, 5]


def test_latency_one_spike_earlier_for_larger_values():
    x = np.array([[0.0, 1.0, 0.5, 0.1]])
    s = encoders.Latency().encode(x, 11)
    assert s.sum(axis=1)[0].tolist() == [0, 1, 1, 1]
    # t = round((1 - x) * (T - 1)): 0, 5, 9
    assert [int(np.flatnonzero(s[0, :, i])[0]) for i in (1, 2, 3)] == [0, 5, 9]


def test_poisson_rate_and_reproducibility():
    x = np.full((1, 4), 0.3)
    steps = 20000
    s = encoders.Poisson().encode(x, steps, np.random.default_rng(0))
    n = s.sum(axis=1)[0]
    sd = np.sqrt(steps * 0.3 * 0.7)
    assert np.all(np.abs(n - 0.3 * steps) < BINOMIAL_SIGMAS * sd)
    again = encoders.Poisson().encode(x, steps, np.random.default_rng(0))
    assert np.array_equal(s, again)


def test_encode_dispatch_and_errors():
    x = np.array([[0.2, 0.4]])
    assert encoders.encode("current", x, 5) is None
    assert encoders.encode("regular", x, 5).shape == (1, 5, 2)
    with pytest.raises(ValueError, match="rng"):
        encoders.encode("poisson", x, 5)
    with pytest.raises(DataError, match="encoder"):
        encoders.encode("morse", x, 5)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        encoders.encode("regular", np.array([[1.5]]), 5)


def test_registry_one_class_per_code():
    """Each code is one class, registered under its command-line name, in the listed order;
    ``encode(name, ...)`` is that class's ``encode`` (the same draws from the same rng)."""
    assert list(encoders.ENCODERS) == ["current", "poisson", "regular", "latency"]
    for name, cls in encoders.ENCODERS.items():
        assert cls.name == name and encoders.get_encoder(name) is cls
        assert issubclass(cls, encoders.Encoder) and cls.__doc__
    assert [c.spiking for c in encoders.ENCODERS.values()] == [False, True, True, True]
    assert [c.needs_rng for c in encoders.ENCODERS.values()] == [False, True, False, False]
    x = np.array([[0.0, 0.3, 0.9], [1.0, 0.5, 0.2]])
    for name, cls in encoders.ENCODERS.items():
        if cls.spiking:
            got = encoders.encode(name, x, 7, np.random.default_rng(4))
            want = cls().encode(x, 7, np.random.default_rng(4))
            assert got.dtype == np.uint8 and np.array_equal(got, want)
    with pytest.raises(DataError, match="current, poisson, regular, latency"):
        encoders.get_encoder("morse")
