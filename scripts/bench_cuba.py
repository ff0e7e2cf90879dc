"""CUBA benchmark: neurosim against Brian2 (runtime Cython and C++ standalone), side by side.

The network is Brian2's ``examples/CUBA.py`` (Vogels & Abbott 2005; Brette et al. 2007,
benchmark 2): 4,000 LIF neurons, p = 0.02, exponential currents, exact integration, dt 0.1 ms,
with a spike monitor on every neuron. Printed, each with its ratio neurosim / Brian2:

1. N = 4,000, 1 s: build time (network and connectivity), first-run compile time (neurosim:
   Numba with an empty cache; Brian2: Cython with an empty cache, and C++ standalone from a
   clean folder), run time of the simulated second.
2. Whole processes (warm caches): ``neurosim simulate models/cuba.toml`` against Brian2's CUBA
   script (the example as published), both without figures and both with them (neurosim's
   overview of raster, rates and traces; Brian2's raster, saved rather than shown).
3. Scaling: N = 1,000 / 4,000 / 16,000 / 64,000 with about 80 synapses per neuron
   (p = 80 / N), synaptic events per second and the ratio to Brian2 Cython at each N.

Brian2 runs in child processes of this script (``--child ...``), so that each gets a fresh
device and its own cache folder. Timings on a shared machine are noisy: read the ratios as
indicative. Usage::

    python scripts/bench_cuba.py                 # everything (several minutes)
    python scripts/bench_cuba.py --sizes 1000,4000 --no-standalone --no-cold
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, whatever is installed
MODEL = ROOT / "models" / "cuba.toml"
SYN_PER_NEURON = 80.0
#: Run times are the best of this many runs (the machine is shared; compile times are not
#: repeated: a first compilation happens once).
REPEATS = 3


# ---------------------------------------------------------------- Brian2 (child processes)

def _brian2_cuba(b2, n: int, p: float):
    """Brian2's CUBA example network (examples/CUBA.py) with ``n`` neurons, probability p."""
    from brian2 import ms, mV

    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    vt, vr, el = -50 * mV, -60 * mV, -49 * mV
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    ns = {"taum": taum, "taue": taue, "taui": taui, "Vt": vt, "Vr": vr, "El": el,
          "we": (60 * 0.27 / 10) * mV, "wi": (-20 * 4.5 / 10) * mV}
    group = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                           method="exact", namespace=ns)
    group.v = "Vr + rand() * (Vt - Vr)"
    group.ge = 0 * mV
    group.gi = 0 * mV
    n_exc = int(0.8 * n)
    ce = b2.Synapses(group, group, on_pre="ge += we", namespace=ns)
    ci = b2.Synapses(group, group, on_pre="gi += wi", namespace=ns)
    ce.connect(f"i<{n_exc}", p=p)
    ci.connect(f"i>={n_exc}", p=p)
    mon = b2.SpikeMonitor(group)
    return b2.Network(group, ce, ci, mon), mon, ce, ci


def child_runtime(n: int, duration: float, cache: str | None) -> dict:
    """Brian2 runtime mode, Cython target: build, compile (first 0.1 ms run), run."""
    t0 = time.perf_counter()
    import brian2 as b2
    from brian2 import ms

    t_import = time.perf_counter() - t0
    b2.prefs.codegen.target = "cython"
    if cache:
        b2.prefs.codegen.runtime.cython.cache_dir = cache
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(1)
    t0 = time.perf_counter()
    net, mon, ce, ci = _brian2_cuba(b2, n, SYN_PER_NEURON / n if n != 4000 else 0.02)
    t_build = time.perf_counter() - t0  # includes compiling the connect code when cold
    t0 = time.perf_counter()
    net.run(0.1 * ms)
    t_compile = time.perf_counter() - t0
    runs = []
    for _ in range(REPEATS):  # best of a few runs of the same length (shared machine)
        before = mon.num_spikes
        t0 = time.perf_counter()
        net.run(duration * ms)
        runs.append(time.perf_counter() - t0)
    return _b2_stats(mon, ce, ci, n, duration, before) | {
        "import": t_import, "build": t_build, "compile": t_compile, "run": min(runs)}


def _b2_stats(mon, ce, ci, n, duration, before=0):
    import numpy as np

    i = np.asarray(mon.i[:])[before:]
    n_exc = int(0.8 * n)
    out_e = np.bincount(np.asarray(ce.i[:]), minlength=n)
    out_i = np.bincount(np.asarray(ci.i[:]), minlength=n)
    events = int((out_e + out_i)[i].sum())
    return {"spikes": int(i.size), "rate_hz": i.size / n / (duration / 1000.0),
            "events": events, "synapses": int(len(ce) + len(ci)), "n_exc": n_exc}


def child_standalone(n: int, duration: float, folder: str) -> dict:
    """Brian2 C++ standalone: code generation + compilation, then the run."""
    t0 = time.perf_counter()
    import brian2 as b2
    from brian2 import ms

    t_import = time.perf_counter() - t0
    b2.set_device("cpp_standalone", directory=folder, build_on_run=False)
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(1)
    t0 = time.perf_counter()
    net, mon, ce, ci = _brian2_cuba(b2, n, SYN_PER_NEURON / n if n != 4000 else 0.02)
    net.run(duration * ms)
    t_describe = time.perf_counter() - t0
    t0 = time.perf_counter()
    b2.device.build(directory=folder, compile=True, run=False, with_output=False)
    t_compile = time.perf_counter() - t0
    runs, procs = [], []
    for _ in range(REPEATS):  # the same binary again: best of a few (shared machine)
        t0 = time.perf_counter()
        b2.device.run(directory=folder, with_output=False)
        procs.append(time.perf_counter() - t0)
        runs.append(float(b2.device._last_run_time))
    return _b2_stats(mon, ce, ci, n, duration) | {
        "import": t_import, "build": t_describe, "compile": t_compile,
        "run": min(runs), "run_process": min(procs)}


def child_brian2_script(figure: str | None = None) -> None:
    """Brian2's CUBA example as published (runtime mode, default target). The example ends
    with a raster (``plot(s_mon.t/ms, s_mon.i, ',k')``, then ``show()``); with ``figure`` that
    raster is saved there instead of shown, so both sides of the comparison draw a figure."""
    import brian2 as b2
    from brian2 import ms, second

    net, mon, _, _ = _brian2_cuba(b2, 4000, 0.02)
    b2.defaultclock.dt = 0.1 * ms
    net.run(1 * second)
    print(mon.num_spikes)
    if figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        plt.plot(mon.t / ms, mon.i, ",k")
        plt.xlabel("Time (ms)")
        plt.ylabel("Neuron index")
        plt.savefig(figure)


def _child(args: list[str], env: dict | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- neurosim

def cuba_spec(n: int):
    """models/cuba.toml scaled to ``n`` neurons (80 % excitatory), p = 80 / n."""
    from neurosim.specs.io import load_model

    spec = load_model(MODEL)
    if n == 4000:
        return spec
    p = SYN_PER_NEURON / n
    sizes = {"exc": int(0.8 * n), "inh": n - int(0.8 * n)}
    pops = tuple(dataclasses.replace(x, size=sizes[x.name]) for x in spec.populations)
    projs = tuple(dataclasses.replace(x, p=p) for x in spec.projections)
    mon = dataclasses.replace(spec.simulation.monitors, state=(), rates=())
    return dataclasses.replace(spec, populations=pops, projections=projs,
                               simulation=dataclasses.replace(spec.simulation, monitors=mon))


def neurosim_run(n: int, duration: float, repeats: int = 3) -> dict:
    from neurosim.builder.lower import lower_populations
    from neurosim.builder.model import build
    from neurosim.spike.population import Simulator

    spec = cuba_spec(n)
    t0 = time.perf_counter()
    built = build(lower_populations(spec))
    t_build = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):  # best of a few runs, each from the same initial state
        sim = Simulator(built, spikes=("exc", "inh"))
        t_compile = sim.compile()
        sim.run(int(round(duration / spec.simulation.dt)), chunk=10 ** 9)
        runs.append(sim.timings["run"])
    res = sim.result()
    spikes = sum(t.count for t in res.spikes.values())
    return {"build": t_build, "compile": t_compile, "run": min(runs),
            "spikes": spikes, "rate_hz": spikes / n / (duration / 1000.0),
            "events": res.op_counts.sops, "synapses": built.n_synapses}


def child_neurosim_cold(duration: float) -> dict:
    """First run in a fresh process with an empty Numba cache (NUMBA_CACHE_DIR set by the
    parent): import, build, compile, run."""
    t0 = time.perf_counter()
    import neurosim.spike.population  # noqa: F401

    t_import = time.perf_counter() - t0
    return neurosim_run(4000, duration, repeats=1) | {"import": t_import}


def machine_limits() -> str:
    """The machine's own references: memory copy bandwidth and a compiled scatter-add
    (``np.bincount`` with weights over random targets, the inner operation of propagation)."""
    import numpy as np

    rng = np.random.default_rng(0)
    big = np.ones(2 ** 25)  # 256 MiB
    dst = np.empty_like(big)
    t_copy = min(_timed(lambda: np.copyto(dst, big)) for _ in range(3))
    n_ev, n_tgt = 2 ** 23, 4000
    idx = rng.integers(0, n_tgt, n_ev)
    w = np.full(n_ev, 0.1)
    t_sc = min(_timed(lambda: np.bincount(idx, weights=w, minlength=n_tgt))
               for _ in range(3))
    return (f"machine: memory copy {2 * big.nbytes / t_copy / 1e9:.1f} GB/s (read + write); "
            f"scatter-add (np.bincount, 4000 targets) {n_ev / t_sc:.3e} events/s")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---------------------------------------------------------------- report

def _ratio(a, b):
    return f"{a / b:6.2f}x" if b else "   n/a"


def _wall(cmd, env=None, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=1000.0, help="simulated ms")
    ap.add_argument("--sizes", default="1000,4000,16000,64000")
    ap.add_argument("--no-standalone", action="store_true", help="skip C++ standalone")
    ap.add_argument("--no-cold", action="store_true",
                    help="skip the first-run (empty cache) compile measurements")
    ap.add_argument("--no-whole", action="store_true", help="skip whole-process timings")
    ap.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        kind, *rest = args.child
        if kind == "runtime":
            out = child_runtime(int(rest[0]), float(rest[1]), rest[2] if len(rest) > 2 else None)
        elif kind == "standalone":
            out = child_standalone(int(rest[0]), float(rest[1]), rest[2])
        elif kind == "script":
            child_brian2_script(rest[0] if rest else None)
            return 0
        elif kind == "neurosim-cold":
            out = child_neurosim_cold(float(rest[0]))
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(out))
        return 0

    dur = args.duration
    print(f"CUBA benchmark, {dur:g} ms simulated, dt 0.1 ms; machine: {os.cpu_count()} cores, "
          "shared (timings indicative)")
    tmp = Path(tempfile.mkdtemp(prefix="bench_cuba_"))
    try:
        # -- 1. N = 4000: build / compile / run
        neurosim_run(4000, 1.0, repeats=1)  # fills the Numba cache if it was empty
        ns_warm = neurosim_run(4000, dur)
        b2_rt = _child(["runtime", "4000", str(dur)])
        rows = [("neurosim (Numba, warm cache; run: best of 6)", ns_warm),
                ("Brian2 runtime, Cython (warm cache)", b2_rt)]
        if not args.no_cold:
            env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp / "numba"))
            rows.append(("neurosim first run (empty Numba cache)",
                         _child(["neurosim-cold", str(dur)], env=env)))
            rows.append(("Brian2 runtime, Cython first run (empty cache)",
                         _child(["runtime", "4000", str(dur), str(tmp / "cython")])))
        b2_sa = None
        if not args.no_standalone:
            b2_sa = _child(["standalone", "4000", str(dur), str(tmp / "standalone")])
            rows.append(("Brian2 C++ standalone (clean folder)", b2_sa))
        # Measure neurosim again after the peers (more samples of a noisy shared machine).
        again = neurosim_run(4000, dur)
        ns_warm["run"] = min(ns_warm["run"], again["run"])
        print(f"\n1. N = 4000, p = 0.02 (seconds; run: best of {REPEATS})")
        print(f"{'':48s} {'build':>8s} {'compile':>8s} {'run':>8s} {'rate Hz':>8s}"
              f" {'events':>10s}")
        for name, r in rows:
            print(f"{name:48s} {r['build']:8.3f} {r['compile']:8.3f} {r['run']:8.3f} "
                  f"{r['rate_hz']:8.2f} {float(r['events']):10.0f}")
        print(f"run-time ratio neurosim / Brian2 Cython:        "
              f"{_ratio(ns_warm['run'], b2_rt['run'])}  (target <= 0.5x)")
        if b2_sa:
            print(f"run-time ratio neurosim / Brian2 C++ standalone: "
                  f"{_ratio(ns_warm['run'], b2_sa['run'])}  (target <= 1.0x; standalone "
                  f"process incl. start-up and result files {b2_sa['run_process']:.3f} s)")
        if not args.no_cold:
            cold_ns = rows[2][1]
            cold_b2 = rows[3][1]
            ns_first = cold_ns["build"] + cold_ns["compile"]
            b2_first = cold_b2["build"] + cold_b2["compile"]
            print(f"first-run build + compile: neurosim {ns_first:.2f} s, Brian2 Cython "
                  f"{b2_first:.2f} s ({_ratio(ns_first, b2_first)})", end="")
            if b2_sa:
                sa_first = b2_sa["build"] + b2_sa["compile"]
                print(f", Brian2 C++ standalone {sa_first:.2f} s ({_ratio(ns_first, sa_first)})")
            else:
                print()

        # -- 2. whole processes, warm caches
        if not args.no_whole:
            out = tmp / "run"
            ns_cmd = [sys.executable, "-m", "neurosim", "simulate", str(MODEL), "--out",
                      str(out), "--no-progress", "--duration", str(dur)]
            t_ns_plain = _wall([*ns_cmd, "--no-plots"])
            t_ns_plots = _wall(ns_cmd)
            _child(["runtime", "4000", "0.1"])  # make sure Brian2's Cython cache is warm
            b2_cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "script"]
            t_b2 = _wall(b2_cmd)
            t_b2_fig = _wall([*b2_cmd, str(tmp / "brian2_raster.png")])
            print("\n2. whole process, warm caches (best of 3, seconds)")
            print(f"neurosim simulate models/cuba.toml --no-plots      {t_ns_plain:7.2f}")
            print(f"Brian2 CUBA script, no figure                      {t_b2:7.2f}")
            print(f"neurosim simulate models/cuba.toml (its figure)    {t_ns_plots:7.2f}")
            print(f"Brian2 CUBA script with its raster, as published   {t_b2_fig:7.2f}")
            print(f"ratio without figures {_ratio(t_ns_plain, t_b2)}, with figures "
                  f"{_ratio(t_ns_plots, t_b2_fig)} (target <= 0.5x)")

        # -- 3. scaling
        sizes = [int(s) for s in args.sizes.split(",") if s]
        print(f"\n3. scaling, about {SYN_PER_NEURON:g} synapses per neuron (p = 80/N), "
              f"{dur:g} ms")
        print(f"{'N':>7s} {'synapses':>10s} {'events':>10s} {'ns run s':>9s} "
              f"{'b2 run s':>9s} {'ns events/s':>12s} {'b2 events/s':>12s} {'ns/event':>9s}"
              f" {'ratio':>7s}")
        for n in sizes:
            ns = neurosim_run(n, dur)
            b2 = _child(["runtime", str(n), str(dur)])
            print(f"{n:7d} {ns['synapses']:10d} {ns['events']:10.0f} {ns['run']:9.3f} "
                  f"{b2['run']:9.3f} {ns['events'] / ns['run']:12.3e} "
                  f"{b2['events'] / b2['run']:12.3e} {1e9 * ns['run'] / ns['events']:9.1f}"
                  f" {_ratio(ns['run'], b2['run'])}")
        print("(ns/event: neurosim run time per synaptic event, neuron updates included; "
              "ratio: neurosim run time / Brian2 Cython run time)")
        print(machine_limits())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
