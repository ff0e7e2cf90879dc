"""The one place where JIT flags are chosen for every Numba kernel.

``cache=True`` writes compiled machine code beside the sources, so a second process does not
compile again. ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python (for coverage).
"""

from __future__ import annotations

import os

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


#: Iterations an OpenMP thread spins for the next parallel region before it sleeps, unless
#: the user chose (``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``). A step's regions follow one
#: another a few microseconds apart; a thread that sleeps between them (``PASSIVE``, a spin
#: count of 0) is woken through the kernel for every region, 30 to 70 microseconds each here,
#: which made CUBA's 8-microsecond step 8x slower on two threads than on one. 10,000 spins
#: last well under a millisecond, so idle threads still sleep on a shared machine.
SPIN_COUNT = 10_000


def spin_policy(environ=os.environ) -> None:
    """Give libgomp (Numba's ``omp`` threading layer) a bounded spin (:data:`SPIN_COUNT`)
    when the user set neither ``GOMP_SPINCOUNT`` nor ``OMP_WAIT_POLICY``. libgomp reads them
    once, when it is loaded: by Numba's first parallel region or :func:`set_threads`."""
    if "GOMP_SPINCOUNT" not in environ and "OMP_WAIT_POLICY" not in environ:
        environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)


def set_threads(n: int) -> None:
    """Run the parallel kernels (``prange``) of the calling thread on at most ``n`` of
    Numba's threads (a process sharing the machine with others uses its share of cores)."""
    import numba

    spin_policy()
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
