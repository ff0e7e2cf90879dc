"""Correctness figures of the standard population networks: the native engine against NEST.

For each network, the same model file (same connectivity, weights, delays and initial state)
runs in both simulators; per population this prints and writes the mean rate, the ISI CV and,
for Brunel's regimes, the population-rate spectrum's peak and the synchrony (variance over
mean of the 1 ms spike counts):

- ``brunel``: Brunel (2000)'s four regimes (``--brunel-scale``, default 1: full size);
- ``cuba`` and ``cobahh``: Brette et al. (2007)'s benchmarks 2 and 3;
- ``microcircuit``: Potjans and Diesmann (2014) at ``--mc-scale`` (default 0.1), beside the
  published full-scale rates.

Writes ``OUT/networks.json`` and ``OUT/rates.png`` (rates native against NEST, one panel per
network). NEST runs with ``OMP_WAIT_POLICY=PASSIVE``.

    python scripts/networks_vs_nest.py --out runs/networks-vs-nest
    python scripts/networks_vs_nest.py --models microcircuit --mc-scale 1.0 --engines native
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PUBLISHED = {"L23E": 0.903, "L23I": 2.965, "L4E": 4.414, "L4I": 5.876, "L5E": 7.569,
             "L5I": 8.633, "L6E": 1.105, "L6I": 7.829}
MODELS = Path(__file__).resolve().parent.parent / "models"


def run(spec, engine: str, duration: float, threads: int) -> dict:
    """Per-population rate (Hz), ISI CV, spectrum peak (Hz) and synchrony of one run."""
    from neurosim.engines import simulate
    from neurosim.monitor.spectrum import rate_spectrum, synchrony

    opts = {"threads": threads} if engine == "nest" else {}
    t0 = time.perf_counter()
    res = simulate(spec, engine=engine, duration=duration, **opts)
    wall = time.perf_counter() - t0
    out = {"wall_s": wall, "timings_s": res.timings, "populations": {}}
    for name, tr in res.spikes.items():
        sp = rate_spectrum(tr.times, tr.size, res.duration)
        out["populations"][name] = {
            "rate_hz": tr.mean_rate, "isi_cv": tr.cv, "peak_hz": sp.peak,
            "peak_prominence": sp.prominence,
            "synchrony": synchrony(tr.times, tr.size, res.duration)}
    return out


def networks(args):
    from neurosim.builder.scaling import scale_network
    from neurosim.specs.io import load_model

    for name in args.models:
        if name == "brunel":
            for variant in ("SR", "AI", "SI_fast", "SI_slow"):
                spec = load_model(MODELS / "brunel2000.toml", variant=variant)
                yield f"brunel-{variant}", scale_network(spec, args.brunel_scale)
        elif name == "microcircuit":
            yield "microcircuit", scale_network(load_model(MODELS / "microcircuit.toml"),
                                                args.mc_scale)
        else:
            yield name, load_model(MODELS / f"{name}.toml")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["brunel", "cuba", "cobahh", "microcircuit"],
                   choices=["brunel", "cuba", "cobahh", "microcircuit"])
    p.add_argument("--engines", nargs="+", default=["native", "nest"],
                   choices=["native", "nest"])
    p.add_argument("--duration", type=float, default=1000.0, help="ms")
    p.add_argument("--brunel-scale", type=float, default=1.0)
    p.add_argument("--mc-scale", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1, help="NEST threads")
    p.add_argument("--out", default="runs/networks-vs-nest")
    p.add_argument("--redraw", action="store_true", help="only draw OUT/networks.json again")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()}")
    if args.redraw:
        figures(json.loads((out / "networks.json").read_text()), out)
        return 0
    results = {}
    path = out / "networks.json"
    if path.exists():  # add to an earlier run's results
        results = json.loads(path.read_text())
    for label, spec in networks(args):
        results[label] = results.get(label, {})
        for engine in args.engines:
            got = run(spec, engine, args.duration, args.threads)
            got["load"] = os.getloadavg()[0]
            results[label][engine] = got
            for pop, st in got["populations"].items():
                print(f"{label:18s} {engine:6s} {pop:5s} rate {st['rate_hz']:8.3f} Hz  "
                      f"CV {st['isi_cv']:.3f}  peak {st['peak_hz']:6.1f} Hz  "
                      f"sync {st['synchrony']:.1f}", flush=True)
            from neurosim.atomic import atomic_write_text

            atomic_write_text(path, json.dumps(results, indent=1, default=float) + "\n")
    figures(results, out)
    return 0


def figures(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.atomic import atomic_path

    labels = [k for k in results if "native" in results[k]]
    fig, axes = plt.subplots(1, len(labels), figsize=(3.2 * len(labels), 3.4), squeeze=False)
    for ax, label in zip(axes[0], labels):
        pops = list(results[label]["native"]["populations"])
        x = np.arange(len(pops))
        nat = [results[label]["native"]["populations"][p]["rate_hz"] for p in pops]
        ax.bar(x - 0.2, nat, 0.4, label="neurosim")
        if "nest" in results[label]:
            nst = [results[label]["nest"]["populations"][p]["rate_hz"] for p in pops]
            ax.bar(x + 0.2, nst, 0.4, label="NEST")
        if label.startswith("microcircuit"):
            ax.plot(x, [PUBLISHED[p] for p in pops], "k_", ms=14, label="published")
        ax.set_xticks(x, pops, rotation=45, fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("rate (Hz)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out / "rates.png", ".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
