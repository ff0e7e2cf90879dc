"""The one place where JIT flags are chosen for every Numba kernel.

``cache=True`` writes compiled machine code beside the sources, so a second process does not
compile again. ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python (for coverage).
"""

from __future__ import annotations

#: Flags for every ``numba.njit`` in :mod:`neurosim.kernels` (njit is always nopython).
JIT = {"cache": True, "nogil": True, "fastmath": False}

#: Flags for the generated time loops (:mod:`neurosim.kernels.dispatch`): a float division
#: by zero gives inf or NaN as in NumPy instead of raising, so that no check sits in the
#: loops over neurons and the compiler can vectorise them (the steps inlined into the loop
#: are compiled with its flags).
LOOP = JIT | {"error_model": "numpy"}

#: Flags for kernels that are only building blocks of a compiled time loop: inlined into the
#: caller at Numba's IR level, so the loop is optimised once rather than once per call level
#: (every level of compiled calls would otherwise re-optimise everything beneath it).
INLINE = JIT | {"inline": "always"}


def set_threads(n: int) -> None:
    """Run the parallel kernels (``prange``) of the calling thread on at most ``n`` of
    Numba's threads (a process sharing the machine with others uses its share of cores)."""
    import numba

    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
