"""``neurosim demo NAME [--out DIR]``: run a teaching demo; ``neurosim demo --list`` lists them.

Each demo writes labelled PNG figures into ``--out`` (default ``demo-out/NAME``) and prints its
key numbers. See :mod:`neurosim.demos` and ``docs/tutorial.md``.
"""

from __future__ import annotations

import argparse

from ..errors import NeurosimError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="run a teaching demo (biological and artificial neurons side by side)",
        description="Run a teaching demo: it writes PNG figures and prints its key numbers.")
    p.add_argument("name", nargs="?", help="demo name (see --list)")
    p.add_argument("--list", action="store_true", help="list the demos and exit")
    p.add_argument("--out", default=None, help="folder for the figures (default demo-out/NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quick", action="store_true",
                   help="shorter training and simulation (same facts, rougher figures)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demos import DEMOS, format_results, run_demo

    if args.list:
        width = max(len(n) for n in DEMOS)
        for name, demo in DEMOS.items():
            print(f"{name.ljust(width)}  {demo.description}")
        return 0
    if not args.name:
        raise NeurosimError("give a demo NAME or --list")
    if args.name not in DEMOS:  # fail before importing anything heavy
        raise NeurosimError(f"unknown demo {args.name!r} (known: {', '.join(DEMOS)})")
    if args.seed < 0:
        raise NeurosimError(f"--seed: must be >= 0, got {args.seed}")
    from ..runs import RunFolder, run_folder

    out = run_folder(args.out, args.name, root="demo-out")
    with RunFolder(out, "neurosim demo") as run:
        run.begin()
        results = run_demo(args.name, out, seed=args.seed, quick=args.quick)
        run.finish()
    print(format_results(args.name, results))
    return 0
