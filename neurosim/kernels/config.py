"""The one place where JIT flags are chosen for every Numba kernel.

``cache=True`` writes compiled machine code beside the sources, so a second process does not
compile again. ``NUMBA_DISABLE_JIT=1`` runs every kernel as plain Python (for coverage).
"""

from __future__ import annotations

#: Flags for every ``numba.njit`` in :mod:`neurosim.kernels` (njit is always nopython).
JIT = {"cache": True, "nogil": True, "fastmath": False}
