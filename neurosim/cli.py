"""The ``neurosim`` command: a thin layer over the public API.

Each sub-command lives in :mod:`neurosim.commands` as a module with ``add_parser(subparsers)``
(which sets ``func``); heavy imports happen inside the commands, so ``neurosim --help`` and a
warm ``neurosim simulate`` start fast. Errors that describe bad input
(:class:`~neurosim.errors.NeurosimError`) print as one line, without a traceback, and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import NeurosimError

__all__ = ["main", "COMMANDS"]

COMMANDS = ("train", "evaluate", "simulate", "compare", "export", "sweep", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurosim",
        description="Run, compare and teach spiking and classic neural networks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"neurosim.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except NeurosimError as err:
        print(f"neurosim {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neurosim {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
