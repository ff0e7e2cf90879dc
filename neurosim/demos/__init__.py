"""Teaching demos: biological and artificial neurons side by side.

Each demo is one module here with ``run(out_dir, *, seed=0, quick=False) -> dict``: it computes
its numbers, writes labelled PNG figures into ``out_dir`` (through :mod:`neurosim.plot.teaching`)
and returns its key numbers (and the list of figures written under ``"figures"``). The same
demos run as ``neurosim demo NAME [--out DIR]`` and as the numbered scripts in
``scripts/tutorials/``; ``docs/tutorial.md`` walks through them in order.

``quick=True`` shortens training and simulation (used by the tests); the facts each demo
demonstrates still hold in quick mode.

Modules are imported only when a demo runs, so listing them stays fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..errors import NeurosimError

__all__ = ["Demo", "DEMOS", "get_demo", "run_demo", "format_results", "script_main"]


@dataclass(frozen=True)
class Demo:
    """One demo: its command-line name, module, tutorial script and a one-line description."""

    name: str
    module: str
    script: str
    description: str


DEMOS: dict[str, Demo] = {d.name: d for d in (
    Demo("artificial-neuron", "neurosim.demos.artificial_neuron", "01_artificial_neuron.py",
         "weighted sum + bias + activation (step, ReLU, sigmoid, tanh) on worked examples"),
    Demo("perceptron", "neurosim.demos.perceptron", "02_perceptron.py",
         "McCulloch-Pitts units, Rosenblatt's rule (AND, OR; fails on XOR), backprop solves "
         "XOR"),
    Demo("lif", "neurosim.demos.lif", "03_lif.py",
         "leaky integrate-and-fire: membrane trace, f-I curve vs ReLU and IF, rate coding"),
    Demo("izhikevich", "neurosim.demos.izhikevich", "04_izhikevich.py",
         "Izhikevich firing-pattern gallery (RS, IB, CH, FS, LTS, RZ) and AdEx adaptation"),
    Demo("hodgkin-huxley", "neurosim.demos.hodgkin_huxley", "05_hodgkin_huxley.py",
         "Hodgkin-Huxley action potential: gating variables, ionic currents, f-I onset"),
    Demo("stdp", "neurosim.demos.stdp", "06_stdp.py",
         "spike-timing-dependent plasticity: the learning window, and a neuron that learns a "
         "hidden repeating pattern"),
    Demo("what-it-sees", "neurosim.demos.what_it_sees", "07_what_it_sees.py",
         "what a trained digits net sees: weights, feature visualisation, memorisation"),
    Demo("same-input", "neurosim.demos.same_input", "08_same_input.py",
         "one digit through the same net in classic and spiking mode, with MACs vs SOPs"),
    Demo("memory", "neurosim.demos.memory", "09_memory.py",
         "what an RNN, an LSTM and a recurrent spiking net remember and for how long; the "
         "vanishing gradient measured"),
    Demo("plasticity", "neurosim.demos.plasticity", "10_plasticity.py",
         "digit receptive fields emerging under STDP without labels, next to backprop "
         "weights of the same size"),
)}


def get_demo(name: str) -> ModuleType:
    """The module of demo ``name``; an unknown name raises :class:`NeurosimError`."""
    try:
        demo = DEMOS[name]
    except KeyError:
        known = ", ".join(DEMOS)
        raise NeurosimError(f"demo: unknown demo {name!r} (known: {known})") from None
    return importlib.import_module(demo.module)


def run_demo(name: str, out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Run demo ``name`` writing its figures into ``out_dir``; return its key numbers."""
    module = get_demo(name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return module.run(out, seed=seed, quick=quick)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


def format_results(name: str, results: dict) -> str:
    """Key numbers of a demo as aligned ``key: value`` lines (figures listed last)."""
    lines = [f"== {name} =="]
    keys = [k for k in results if k != "figures"]
    width = max((len(k) for k in keys), default=0)
    for k in keys:
        lines.append(f"  {k.ljust(width)} : {_fmt(results[k])}")
    for fig in results.get("figures", []):
        lines.append(f"  figure: {fig}")
    return "\n".join(lines)


def script_main(name: str, doc: str | None, default_out, argv: list[str] | None = None) -> int:
    """Command line of a numbered tutorial script: run demo ``name``, print its numbers.

    ``--out DIR`` (default ``default_out``), ``--seed N``, ``--quick``.
    """
    import argparse

    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0]
                                     if doc else name)
    parser.add_argument("--out", default=str(default_out),
                        help=f"folder for the figures (default {default_out})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="shorter training/simulation")
    args = parser.parse_args(argv)
    results = run_demo(name, args.out, seed=args.seed, quick=args.quick)
    print(format_results(name, results))
    return 0
