"""A one-minute end-to-end run of both modes: train the digits MLP briefly, compare it with its
spiking twin, simulate 200 ms of the CUBA network and one LIF neuron.

Used by CI to show that the package runs on whatever NumPy the environment has (NumPy 2 in a
virtual environment without Brian2). Prints the NumPy version and the key numbers; exits
non-zero if any of them is off.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neurosim.compare import compare
from neurosim.data import load_dataset
from neurosim.rate import Trainer
from neurosim.report import write_report
from neurosim.specs import load_model
from neurosim.specs.neurons import LIF
from neurosim.spike.population import simulate_network
from neurosim.spike.single import simulate_neuron

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/smoke"),
                        help="folder for the comparison's report.md and report.json")
    args = parser.parse_args()
    print(f"numpy {np.__version__}")

    spec = load_model(ROOT / "models" / "digits-mlp.toml")
    data = load_dataset("digits")
    trainer = Trainer(spec, seed=0, progress=False).fit(data.x_train, data.y_train, epochs=10)
    result = compare(spec, trainer.params_, data, timesteps=(25, 100), progress=False)
    print(f"digits: classic {result.classic_accuracy:.3f}, "
          f"spiking T=100 {result.spiking_accuracy[100]:.3f}")
    assert result.classic_accuracy > 0.9 and result.spiking_accuracy[100] > 0.9
    write_report(result, args.out)

    cuba = simulate_network(load_model(ROOT / "models" / "cuba.toml"), duration=200.0)
    rates = {name: float(np.mean(r)) for name, r in cuba.rates.items()}
    print(f"cuba: {cuba.op_counts.sops:,.0f} synaptic operations in 200 ms, rates (Hz) {rates}")
    assert cuba.op_counts.sops > 0 and all(0.5 < r < 100 for r in rates.values()), rates

    neuron = LIF()
    run = simulate_neuron(neuron, 2.0, dt=0.01, duration=200.0)
    print(f"LIF ISI {run.isi.mean():.3f} ms, closed form {float(neuron.isi(2.0)):.3f} ms")
    assert abs(run.isi.mean() - float(neuron.isi(2.0))) < 0.02
    print("smoke: ok")


if __name__ == "__main__":
    main()
