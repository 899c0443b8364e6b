"""``python -m skdlib table1``: run (or continue) a Table-1 job and print the table.

A job file (:class:`skdlib.distill.Table1Config`) names the teacher/student pairs, the methods
and the trials; the job trains each teacher once, embeds it when a static method needs it, trains
every student run, and writes <out>/results.json, results.csv and table1.md. Rerunning the same
command continues an interrupted job; finished runs are not repeated.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import filenames
from .common import Formatter, add_progress_argument, describe, progress

__all__ = ["NAME", "add_parser", "run"]

NAME = "table1"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``table1``; returns its parser.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args(["--config", "c.json", "--tau", "0.5"]).tau
        0.5
    """
    p = sub.add_parser(
        NAME,
        help="run a Table-1 config and render the table",
        description=describe(__doc__),
        formatter_class=Formatter,
        epilog="examples:\n  python -m skdlib table1 --config configs/table1_synthetic.json\n"
        "  python -m skdlib table1 --config configs/table1_paper.json --out runs/t1",
    )
    p.add_argument("--config", required=True, help="JSON job file, e.g. configs/table1_paper.json")
    p.add_argument("--out", help="override the job's output folder")
    p.add_argument(
        "--beta", type=float, default=None, help="feature-term weight of every student run"
    )
    p.add_argument(
        "--tau", type=float, default=None, help="SKD temperature of every student run (paper: 1)"
    )
    add_progress_argument(p)
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> dict:
    """``table1``: run (or continue) the job and print the table; returns its results."""
    from ..distill import Table1Config, render_table1, run_table1

    cfg = Table1Config.load(args.config)
    if args.out:
        cfg.out = args.out
    overrides = {k: v for k, v in (("beta", args.beta), ("skd_tau", args.tau)) if v is not None}
    if overrides:  # every student run of the job gets them; validated like the file's own keys
        cfg = Table1Config.from_dict(
            {**cfg.to_dict(), "student_config": {**cfg.student_config, **overrides}},
            where=f"{args.config} with --beta/--tau",
        )
    results = run_table1(cfg, progress=progress(args))
    print(render_table1(results), flush=True)
    print(f"\nresults: {Path(cfg.out) / filenames.RESULTS}", flush=True)
    return results
