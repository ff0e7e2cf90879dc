"""Compiled kernels are cached: a second process loads them instead of compiling again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = r"""
import json
import numba
from neurosim.neurons import LIF
from neurosim.spike.single import simulate_neuron
from neurosim.kernels import dispatch

simulate_neuron(LIF(), 2.0, dt=0.1, duration=50.0)
stats = {}
for module in dispatch._LOADED.values():  # the generated time loop of this network
    for name in dir(module):
        obj = getattr(module, name)
        if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.signatures:
            stats[name] = {"hits": sum(obj.stats.cache_hits.values()),
                           "misses": sum(obj.stats.cache_misses.values())}
print(json.dumps(stats))
"""


def _run(cache_dir) -> dict:
    # Numba dispatching (NEUROSIM_NATIVE=0): a native run calls no dispatcher in the second
    # process (tests/test_native.py)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), NEUROSIM_CACHE_DIR=str(cache_dir),
               NEUROSIM_NATIVE="0")
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_compiled_kernels_from_the_cache(tmp_path):
    first = _run(tmp_path)  # empty cache: everything it runs is compiled
    assert first and all(s["misses"] > 0 and s["hits"] == 0 for s in first.values()), first
    # Second process: the entry kernel comes from the cache (its callees are linked into it),
    # and nothing at all is compiled again.
    second = _run(tmp_path)
    assert second and set(second) <= set(first), (first, second)
    assert all(s["misses"] == 0 for s in second.values()), second
    assert sum(s["hits"] for s in second.values()) >= 1, second
