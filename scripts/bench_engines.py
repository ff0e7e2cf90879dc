"""CUBA (4,000 LIF neurons, 1 s at dt = 0.1 ms) on every engine of ``neurosim simulate``:
native, NEST with 1 and 2 threads, Brian2's runtime device (Cython) and, with
``--standalone``, Brian2's C++ standalone device; the same built network for all.

    python scripts/bench_engines.py [--repeats 3] [--duration 1000] [--standalone]

Prints the machine's load first (the numbers mean little on a busy machine), then for each
engine the time loop alone (``run``: NEST's ``Simulate``, Brian2's ``Network.run`` after a
warm-up run has compiled its code, the native compiled loop after its compile) and the
network construction (``build``), best of ``--repeats``, and the ratios to the native
engine. The rates show that every engine ran the same network.
"""

from __future__ import annotations

import argparse
import os
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--standalone", action="store_true",
                        help="also Brian2's cpp_standalone device (compiles a C++ program)")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    warnings.filterwarnings("ignore")

    from neurosim.builder.lower import lower_populations
    from neurosim.builder.model import build
    from neurosim.engines import run
    from neurosim.specs.io import load_model

    spec = load_model("models/cuba.toml")
    built = build(lower_populations(spec))
    cases = [("native", "native", {}),
             ("nest 1 thread", "nest", {"threads": 1}),
             ("nest 2 threads", "nest", {"threads": 2}),
             ("brian2 runtime", "brian2", {"target": "cython"})]
    if args.standalone:
        cases.append(("brian2 cpp_standalone", "brian2", {"device": "cpp_standalone"}))
    rows = {}
    for label, engine, opts in cases:
        if engine != "nest" and opts.get("device") != "cpp_standalone":
            run(built, 10.0, engine=engine, **opts)  # compile (or load) the code first
        best = None
        for _ in range(args.repeats):
            res = run(built, args.duration, engine=engine, spikes=("exc", "inh"), **opts)
            t = res.timings
            if best is None or t["run"] < best[0]:
                best = (t["run"], t.get("build", 0.0), res)
        rows[label] = best
        rate = best[2].spikes["exc"].mean_rate
        print(f"{label:24s} run {best[0]:7.3f} s   build {best[1]:6.3f} s   exc {rate:5.2f} Hz",
              flush=True)
    base = rows["native"][0]
    print("\nrun time relative to native (x slower):")
    for label, (t, _, _) in rows.items():
        print(f"  {label:24s} {t / base:6.2f}")
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
