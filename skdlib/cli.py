"""``python -m skdlib``: the dispatcher of the commands in :mod:`skdlib.commands`.

:func:`build_parser` collects every command's parser; :func:`main` parses the arguments, runs
the command's ``handler`` and turns the errors a user can act on into one line on stderr and exit
status 1. Parsing imports no torch, so ``--help`` and a wrong argument answer at once.
"""

from __future__ import annotations

import argparse
import sys

from .commands import MODULES

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m skdlib`` parser with every command.

    Example:
        >>> build_parser().parse_args(["table1", "--config", "c.json"]).config
        'c.json'
    """
    parser = argparse.ArgumentParser(
        prog="python -m skdlib",
        description="skd: interpretable neuron embeddings and static knowledge distillation.",
        epilog="python -m skdlib <command> --help describes each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for module in MODULES:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m skdlib``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (FileNotFoundError, RuntimeError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
