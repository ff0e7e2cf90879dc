"""The ``neurosim`` command: a thin layer over the public API.

Each sub-command lives in :mod:`neurosim.commands` as a module with ``add_parser(subparsers)``
(which sets ``func``); heavy imports happen inside the commands, so ``neurosim --help`` and a
warm ``neurosim simulate`` start fast. Every sub-command also takes ``--max-memory SIZE`` (the
memory budget, :mod:`neurosim.limits`) and ``--debug``.

No traceback reaches the user: every failure prints one line ``neurosim CMD: error: ...`` on
stderr and exits non-zero:

- 2: bad input (:class:`~neurosim.errors.NeurosimError`, naming the file, the layer or
  population and the field) or a bad command line;
- 1: a fault: an I/O error (naming the path: no space, read-only, not a folder), memory
  exhausted, or an internal error (its type and message);
- 130: interrupted (Ctrl-C), at any moment including start-up.

``--debug`` prints the traceback as well.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import NeurosimError

__all__ = ["main", "COMMANDS", "one_line"]

COMMANDS = ("train", "evaluate", "simulate", "compare", "export", "sweep", "demo")


def one_line(text) -> str:
    """``text`` on one line (a message with line breaks would read as several errors)."""
    return " ".join(str(text).split())


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def _max_memory(text: str) -> int:
    from .limits import parse_size

    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _common_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("all commands")
    g.add_argument("--max-memory", type=_max_memory, default=None, metavar="SIZE",
                   help="memory budget (e.g. 2G, 500M); work estimated above it is refused "
                        "before allocating (default: half of this machine's memory)")
    g.add_argument("--debug", action="store_true",
                   help="show the traceback of an error")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="neurosim",
        description="Run, compare and teach spiking and classic neural networks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"neurosim.commands.{name}").add_parser(sub)
    for p in sub.choices.values():  # also those of commands added later
        if not any("--max-memory" in a.option_strings for a in p._actions):
            _common_options(p)
    return parser


def _report(command: str, err: BaseException, debug: bool) -> int:
    """Print ``err`` as one line (with the traceback first under ``--debug``); exit status."""
    if debug:
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    if isinstance(err, NeurosimError):
        message, status = str(err), 2
    elif isinstance(err, OSError):
        from .runs import io_error

        path = err.filename if err.filename is not None else "(unknown path)"
        message, status = str(io_error(path, err)), 1
    elif isinstance(err, MemoryError):
        message, status = ("out of memory (lower the sizes, or set --max-memory below the "
                           "free memory so that the estimate refuses it first)"), 1
    else:
        message, status = (f"internal error: {type(err).__name__}: {err} (rerun with --debug "
                           "for the traceback)"), 1
    print(f"{command}: error: {one_line(message)}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in raw
    command = "neurosim"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = f"neurosim {args.command}"
        from .limits import memory_budget

        with memory_budget(getattr(args, "max_memory", None)):
            result = args.func(args)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as err:  # noqa: BLE001 -- the one place every failure becomes one line
        return _report(command, err, debug)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
