"""CUBA network (Vogels & Abbott 2005; Brette et al. 2007, benchmark 2) in a few lines.

The same network as Brian2's ``examples/CUBA.py``: 4,000 LIF neurons with exponential
synaptic currents, read from ``models/cuba.toml``. Prints rates and ISI CV per population and
the synaptic events, and draws the spike raster::

    python scripts/cuba.py [--duration 1000] [--out runs/cuba-script]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, whatever is installed

from neurosim.plot.spikes import plot_raster  # noqa: E402
from neurosim.specs.io import load_model  # noqa: E402
from neurosim.spike.population import simulate_network  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=1000.0, help="simulated ms")
    ap.add_argument("--out", default="runs/cuba-script", help="folder of the raster figure")
    args = ap.parse_args()
    spec = load_model(ROOT / "models" / "cuba.toml")
    res = simulate_network(spec, duration=args.duration, progress=True)
    for name, tr in res.spikes.items():
        print(f"{name}: {tr.count} spikes, {tr.mean_rate:.2f} Hz, ISI CV {tr.cv:.2f}")
    print(f"{res.op_counts.sops:.0f} synaptic events in {res.timings['run']:.3f} s "
          f"(compile/cache load {res.timings['compile']:.2f} s)")
    plot_raster(res.spikes, Path(args.out) / "raster.png", title="CUBA: spike raster")


if __name__ == "__main__":
    main()
