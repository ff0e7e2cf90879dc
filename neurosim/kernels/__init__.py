"""Numba kernels only: arrays and scalars in, state changed in place, counts added to explicit
counter arrays. This package imports nothing else from neurosim except its own config.

Each kernel has a NumPy twin with the same signature (in :mod:`neurosim.spike.reference` and
its siblings), and a test that the two agree.
"""
