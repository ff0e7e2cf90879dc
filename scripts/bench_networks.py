"""The standard population networks on neurosim's engine, NEST and Brian2, side by side.

    python scripts/bench_networks.py [--models cuba,coba,brunel2000:AI,cobahh,microcircuit@0.1]
        [--engines native,nest,brian2] [--threads 1,2] [--duration 1000] [--spin 10000]
        [--nest-connect rules|lists] [--cold] [--numba] [--json out.json]

A model is ``NAME`` (``models/NAME.toml``), with ``:VARIANT`` (one of its ``[variants]``) and
``@SCALE`` (``neurosim simulate --scale``). Every run is its own subprocess, so that its peak
memory (``ru_maxrss``) is its own. Both engines' threads are libgomp's (OpenMP) and run in the
same environment: ``OMP_WAIT_POLICY=PASSIVE`` (NEST's threads do not spin for ever on a shared
machine) with ``GOMP_SPINCOUNT=--spin`` (default 10,000: a thread spins under a millisecond
for the next parallel region before it sleeps, neurosim's own default; ``--spin 0`` sleeps at
once, and every region then pays a wake-up through the kernel), and the same thread counts.
For each run it prints:

- ``build``: seconds from the model file to a network ready to run (neurosim: lowering,
  connectivity and the built arrays; NEST: the populations' lowering plus NEST's Create and
  Connect, each projection one ``nest.Connect`` with NEST's own rule and distributions
  (``nest_engine.run_rules``: NEST draws the synapses, no synapse passes through Python, so
  NEST's memory is NEST's own; ``--nest-connect lists`` hands NEST neurosim's synapse lists
  instead, the same network but neurosim's build and arrays inside NEST's figures); Brian2
  as its engine reports, from neurosim's synapse lists), compile (neurosim's kernel compile
  or cache load) apart;
- ``s/sim-s``: seconds of the time loop per simulated second (neurosim: also its CPU
  seconds, all threads together: on a busy machine the wall clock mostly measures waiting,
  and CPU seconds per thread bound what the threads give on a quiet one);
- ``loop``: how neurosim's time loop ran: ``native`` (its machine code linked from the kernel
  cache, without Numba's compiler in the process: :mod:`neurosim.kernels.native`) or
  ``numba`` (``--numba``: Numba dispatching, as ``NEUROSIM_NATIVE=0``);
- ``peak``: the peak resident memory (GB) of the engine: neurosim's process; for NEST and
  Brian2 their process's less what importing neurosim (and with it Numba and LLVM) and
  reading the model added before the engine was loaded (about 65 MB: a PyNEST script has
  none of it; the process's own peak in parentheses);
- ``B/syn``: (peak - resident memory before building) / synapses; for neurosim also the
  exact bytes of its synapse tables per synapse;
- ``events/s``: synaptic events (spikes times fan-out) per second of the time loop;
- the mean rate of every population, which shows that the engines ran the same network.

Then the ratios neurosim / NEST at the same thread count (time per simulated second, peak
memory, build time) and neurosim's 2-thread speed-up. The machine's load is printed before
every run: the numbers mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout this script is in, not an installed neurosim
DEFAULT_MODELS = "cuba,coba,brunel2000:AI,cobahh,microcircuit@0.1"


def _rss() -> int:
    """Resident memory now (bytes)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _spec(case: dict):
    from neurosim.specs.io import load_model

    path = ROOT / "models" / f"{case['model']}.toml"
    spec = (load_model(path, variant=case["variant"]) if case.get("variant")
            else load_model(path))
    if case.get("scale") not in (None, 1.0):
        from neurosim.builder.scaling import scale_network

        spec = scale_network(spec, case["scale"])
    return spec


def _rates(res, spec, duration_ms: float) -> dict:
    sizes = {p.name: p.size for p in spec.populations}
    return {x.name: x.spikes / sizes[x.name] / (duration_ms / 1000.0)
            for x in res.op_counts.layers if x.name in sizes and x.neurons}


def worker(case: dict) -> dict:
    """One run in this process (the subprocess of :func:`main`)."""
    warnings.filterwarnings("ignore")
    import numpy  # noqa: F401  (PyNEST imports it too: part of either engine's own memory)

    rss_start = _rss()
    from neurosim.engines import simulate

    if case["engine"] == "nest":
        from neurosim.engines import nest_engine  # noqa: F401  (before rss0: neurosim's)
    spec = _spec(case)
    rss0 = _rss()
    out = dict(case)
    dur = case["duration"]
    if case["engine"] == "native":
        from neurosim.builder.lower import build_threads, lower_populations
        from neurosim.builder.model import build
        from neurosim.spike.population import Simulator

        t0 = time.perf_counter()
        n = build_threads(spec, case["threads"])  # one below 2^22 synapses
        built = build(lower_populations(spec, threads=n), release=True, threads=n)
        out["build_s"] = time.perf_counter() - t0
        m = built.model
        n_syn = built.n_synapses
        tables = m.indptr.nbytes + m.indices.nbytes + m.weights.nbytes + m.kof.nbytes + \
            m.delays.nbytes
        out["table_bytes_per_synapse"] = tables / max(n_syn, 1)
        sim = Simulator(built, rates=built.pop_names, threads=case["threads"])
        out["compile_s"] = sim.compile()
        n_steps = int(round(dur / built.dt))
        t0, c0 = time.perf_counter(), time.process_time()
        sim.run(n_steps)
        out["run_s"] = time.perf_counter() - t0
        out["run_cpu_s"] = time.process_time() - c0
        res = sim.result()
        out["loop"] = sim._fn.last
    else:
        opts = {"threads": case["threads"]}
        if case["engine"] == "brian2":
            opts = {"target": "cython"} if case["threads"] == 1 else {
                "device": "cpp_standalone", "threads": case["threads"]}
        if case["engine"] == "nest" and case.get("nest_connect", "rules") == "rules":
            from neurosim.engines import nest_engine

            names = [p.name for p in spec.populations if p.neuron.kind != "poisson_generator"]
            res = nest_engine.run_rules(spec, dur, rates=names, threads=case["threads"])
        else:
            res = simulate(spec, engine=case["engine"], duration=dur, **opts)
        out["build_s"] = res.timings.get("build", float("nan"))
        out["run_s"] = res.timings["run"]
        if case["engine"] == "nest":
            import nest

            n_syn = int(nest.GetKernelStatus("num_connections"))
        else:
            n_syn = None  # Brian2 does not report its synapse count here
    out["synapses"] = n_syn
    out["peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # NEST's own peak: without neurosim and Numba, which this process imported to read the
    # model file and lower its populations, and which a PyNEST script does not load
    out["own_peak_bytes"] = out["peak_bytes"] - (
        rss0 - rss_start if case["engine"] != "native" else 0)
    out["bytes_per_synapse"] = ((out["peak_bytes"] - rss0) / n_syn) if n_syn else None
    out["s_per_sim_s"] = out["run_s"] / (dur / 1000.0)
    out["events_per_s"] = res.op_counts.sops / out["run_s"] if out["run_s"] > 0 else None
    out["rates_hz"] = _rates(res, spec, res.duration)
    return out


def _warm_up(case: dict, env: dict) -> None:
    """Compile (or load) a native case's kernels in a process of its own, 1 ms of the same
    model (at scale 0.05 above 20,000 neurons: the same kernels), so that the measured run
    loads them from the kernel cache: its compile time and memory are a first run's only,
    which ``--cold`` measures."""
    small = dict(case, duration=1.0)
    if sum(p.size for p in _spec(case).populations) > 20_000:
        small["scale"] = 0.05
    subprocess.run([sys.executable, __file__, "--worker", json.dumps(small)], cwd=ROOT,
                   env=env, capture_output=True, text=True)


def _label(case: dict) -> str:
    name = case["model"] + (f":{case['variant']}" if case.get("variant") else "") + (
        f"@{case['scale']:g}" if case.get("scale") not in (None, 1.0) else "")
    return f"{name} {case['engine']} {case['threads']}t"


def _parse_model(text: str) -> dict:
    scale = None
    if "@" in text:
        text, s = text.split("@")
        scale = float(s)
    variant = None
    if ":" in text:
        text, variant = text.split(":")
    return {"model": text, "variant": variant, "scale": scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--engines", default="native,nest,brian2")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--spin", type=int, default=10_000,
                        help="GOMP_SPINCOUNT for both engines (default 10000)")
    parser.add_argument("--nest-connect", choices=("rules", "lists"), default="rules",
                        help="NEST builds with its own connection rules (default) or takes "
                        "neurosim's synapse lists")
    parser.add_argument("--cold", action="store_true",
                        help="no warm-up: a native run may compile its kernels (first run)")
    parser.add_argument("--numba", action="store_true",
                        help="neurosim's loops dispatched by Numba (NEUROSIM_NATIVE=0) instead "
                        "of linked from native object code")
    parser.add_argument("--json", default=None, help="also write every run's figures here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", GOMP_SPINCOUNT=str(args.spin),
               NUMBA_NUM_THREADS=str(max(int(t) for t in args.threads.split(","))),
               NEUROSIM_NATIVE="0" if args.numba else "1")
    print(f"OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT={args.spin} for every engine", flush=True)
    results = []
    for model in args.models.split(","):
        for engine in args.engines.split(","):
            for threads in (int(t) for t in args.threads.split(",")):
                if engine == "brian2" and threads > 1:
                    continue  # Brian2's runtime device is one thread
                case = _parse_model(model) | {"engine": engine, "threads": threads,
                                              "duration": args.duration,
                                              "nest_connect": args.nest_connect}
                if engine == "native" and not args.cold:
                    _warm_up(case, env)
                load = os.getloadavg()
                done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(case)],
                                      cwd=ROOT, env=env, capture_output=True, text=True)
                line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                if done.returncode != 0 or not line:
                    err = (done.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"{_label(case):34s} (load {load[0]:.1f}) not run: {err}", flush=True)
                    continue
                r = json.loads(line[0][7:]) | {"load": load[0]}
                results.append(r)
                tb = (f" tables {r['table_bytes_per_synapse']:.1f}"
                      if "table_bytes_per_synapse" in r else "")
                bps = f"{r['bytes_per_synapse']:.1f}" if r["bytes_per_synapse"] else "-"
                ev = f"{r['events_per_s']:.3g}" if r["events_per_s"] else "-"
                cpu = (f" (cpu {r['run_cpu_s'] / (args.duration / 1000.0):.2f})"
                       if "run_cpu_s" in r else "")
                rates = " ".join(f"{k} {v:.2f}" for k, v in r["rates_hz"].items())
                print(f"{_label(case):34s} (load {load[0]:.1f}) build {r['build_s']:7.2f} s  "
                      f"{r['s_per_sim_s']:8.2f} s/sim-s{cpu}  "
                      f"peak {r['own_peak_bytes'] / 1e9:6.2f} GB"
                      + (f" (process {r['peak_bytes'] / 1e9:.2f})" if engine != "native"
                         else f" loop {r['loop']}") + "  "
                      f"B/syn {bps}{tb}  events/s {ev}  rates Hz: {rates}", flush=True)
    print("\nneurosim / NEST at the same threads (time per simulated second, peak memory, "
          "build time):")
    by = {(_label(r).rsplit(" ", 2)[0], r["engine"], r["threads"]): r for r in results}
    for (name, engine, threads), r in by.items():
        nest = by.get((name, "nest", threads))
        if engine == "native" and nest:
            print(f"  {name:28s} {threads}t  run {r['s_per_sim_s'] / nest['s_per_sim_s']:5.3f}"
                  f"  peak {r['own_peak_bytes'] / nest['own_peak_bytes']:5.3f}"
                  f"  build {r['build_s'] / nest['build_s']:5.3f}")
    for (name, engine, threads), r in by.items():
        one = by.get((name, engine, 1))
        if engine == "native" and threads > 1 and one:
            cpu = (f" (CPU seconds per thread: {one['run_cpu_s'] * threads / r['run_cpu_s']:.2f}x)"
                   if "run_cpu_s" in r and r["run_cpu_s"] > 0 else "")
            print(f"  {name:28s} native {threads} threads: "
                  f"{one['s_per_sim_s'] / r['s_per_sim_s']:.2f}x faster than 1{cpu}")
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on "
          f"{os.cpu_count()} cores")
    if args.json:
        from neurosim.atomic import atomic_write_text

        atomic_write_text(Path(args.json), json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
