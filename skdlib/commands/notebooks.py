"""``python -m skdlib notebooks``: run the tutorial notebooks headless (papermill).

Executes every numbered notebook (or ``--only`` some) with the chosen profile, writes the
executed copies to ``runs/<profile>/notebooks/``, the figures to ``runs/<profile>/figures/`` and
a one-page ``runs/<profile>/summary.md``; exits non-zero on the first failing notebook.
"""

from __future__ import annotations

import argparse

from ..tutorial.profiles import PROFILES
from .common import Formatter, describe

__all__ = ["NAME", "add_parser", "run"]

NAME = "notebooks"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``notebooks``; returns its parser.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args(["--profile", "smoke"]).profile
        'smoke'
    """
    p = sub.add_parser(
        NAME,
        help="run the tutorial notebooks headless (papermill) and write a summary",
        description=describe(__doc__),
        formatter_class=Formatter,
        epilog="example:\n  python -m skdlib notebooks --profile quick --only "
        "01_embed_neurons.ipynb 02_neighbour_neurons.ipynb",
    )
    p.add_argument(
        "--profile",
        default="quick",
        choices=list(PROFILES),
        help="smoke (seconds, for tests), quick (offline CPU tutorial), paper (real data, GPU)",
    )
    p.add_argument("--only", nargs="+", help="notebook file names (default: all, in order)")
    p.add_argument(
        "--trial-run",
        action="store_true",
        help="the profile's data and models with every schedule cut to one epoch, into "
        "runs/<profile>-trial/: a check of the set-up in minutes",
    )
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace):
    """``notebooks``: every tutorial notebook (or ``--only``) with ``--profile``; returns the
    summary's path."""
    from ..tutorial import execute_notebooks, notebook_paths

    paths = notebook_paths()
    if args.only:
        unknown = sorted(set(args.only) - {p.name for p in paths})
        if unknown:
            raise ValueError(f"no notebooks {unknown}; choose from {[p.name for p in paths]}")
        paths = [p for p in paths if p.name in args.only]
    summary = execute_notebooks(args.profile, paths, trial_run=args.trial_run)
    print(f"summary: {summary}", flush=True)
    return summary
