"""``python -m skdlib download-broden``: fetch, unpack and verify Broden 224 (~1 GB, resumable).

An interrupted download continues where it stopped; the archive is unpacked into a temporary
sibling folder that is renamed into place only when every file ``index.csv`` names is there.
"""

from __future__ import annotations

import argparse

from ..dissect.broden_format import BRODEN_URL
from .common import Formatter, describe

__all__ = ["NAME", "add_parser", "run"]

NAME = "download-broden"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``download-broden``; returns its parser.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args([]).dest
        'data'
    """
    p = sub.add_parser(
        NAME,
        help="download broden1_224 (~1 GB, resumable), unpack it into --dest, verify the layout",
        description=describe(__doc__),
        formatter_class=Formatter,
        epilog="example:\n  python -m skdlib download-broden --dest data",
    )
    p.add_argument("--dest", default="data", help="folder to unpack into")
    p.add_argument("--url", default=BRODEN_URL, help="archive address")
    p.add_argument("--keep-archive", action="store_true", help="keep the zip after unpacking")
    p.add_argument("--no-progress", action="store_true", help="no download progress bar")
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace):
    """``download-broden``: returns the verified ``broden1_224`` folder."""
    from ..dissect import download_broden

    root = download_broden(
        args.dest, url=args.url, keep_archive=args.keep_archive, progress=not args.no_progress
    )
    print(f"Broden is ready in {root}", flush=True)
    return root
