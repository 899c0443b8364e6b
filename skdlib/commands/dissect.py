"""``python -m skdlib dissect``: Network Dissection of a torchvision model on a Broden folder.

Writes <out>/dissection.pt and one tally_<layer>.csv per layer, prints the summary, and writes
the HTML report <out>/report/index.html with one page per layer (each unit's top images with its
mask, concept and IoU, sorted by IoU; open it from disk; --no-report skips it). While it runs it
keeps <out>/dissection.ckpt: the same command after a crash in the second pass continues where
it stopped, with the same result; the file is removed once the result is saved. Images are
decoded in --workers processes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import filenames
from ..dissect.rules import DEFAULT_QUANTILE, DEFAULT_TOP_K
from ..loaders import WORKERS_ENV
from ..models.registry import ARCHITECTURES
from .common import Formatter, add_progress_argument, describe

__all__ = ["NAME", "RANDOM_NOTE", "add_parser", "run"]

NAME = "dissect"

RANDOM_NOTE = (
    "NOTE: --weights none dissects a network with RANDOM weights (seeded by --seed): a baseline "
    "for the trained network's counts, not a result of its own"
)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``dissect``; returns its parser.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> args = add_parser(sub).parse_args(["--layers", "layer4"])
        >>> args.layers, args.workers, args.out
        (['layer4'], None, 'runs/dissect')
    """
    p = sub.add_parser(
        NAME,
        help="Network Dissection of a torchvision model on a Broden folder (resumable)",
        description=describe(__doc__),
        formatter_class=Formatter,
        epilog="example:\n  python -m skdlib dissect --arch resnet18 --weights imagenet "
        "--layers layer3 layer4 --data data/broden1_224 --out runs/dissect",
    )
    p.add_argument("--arch", default="resnet18", help="a torchvision architecture")
    p.add_argument(
        "--weights", default="imagenet", choices=["imagenet", "none"], help="ImageNet or random"
    )
    p.add_argument("--seed", type=int, default=0, help="of the random weights (--weights none)")
    p.add_argument(
        "--layers",
        nargs="+",
        default=list(ARCHITECTURES["resnet18"].stages),
        help="modules whose channels are dissected",
    )
    p.add_argument("--data", default="data/broden1_224", help="Broden folder (has index.csv)")
    p.add_argument("--out", default="runs/dissect", help="output and checkpoint folder")
    p.add_argument(
        "--quantile",
        type=float,
        default=DEFAULT_QUANTILE,
        help="per-unit activation quantile that thresholds its mask",
    )
    p.add_argument("--batch-size", type=int, default=32, help="images per batch")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"image-decoding worker processes (default: ${WORKERS_ENV}, else CPUs - 1 up to 8, "
        "0 on 2 CPUs or fewer)",
    )
    p.add_argument("--device", default="auto", help="auto (the GPU when present), cpu, cuda")
    p.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=5.0,
        help="save the second pass's tally this often (minutes; also at its end)",
    )
    p.add_argument(
        "--checkpoint-batches", type=int, default=None, help="... or every this many batches"
    )
    p.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"write the HTML report into <out>/{filenames.REPORT_FOLDER}/",
    )
    p.add_argument(
        "--top-k",
        type=int,
        default=DEFAULT_TOP_K,
        help="top images kept per unit during the first pass, shown in the report (0: none)",
    )
    add_progress_argument(p)
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace):
    """``dissect``: dissect, save into ``--out`` (resuming from its checkpoint), print a summary.

    Returns the :class:`~skdlib.dissect.DissectionResult` (also saved).
    """
    import torch

    from ..dissect import dissect
    from ..loaders import default_workers
    from ..models import create_model

    out = Path(args.out)
    if args.weights == "none":
        print(RANDOM_NOTE, flush=True)
    torch.manual_seed(args.seed)  # random weights are the same on a rerun: it can resume
    model = create_model(args.arch, weights=args.weights)
    workers = default_workers() if args.workers is None else args.workers
    print(
        f"dissecting {args.arch} ({args.weights} weights), layers {' '.join(args.layers)}, on "
        f"{args.data} with {workers} image-decoding worker process(es); checkpoint in {out}",
        flush=True,
    )
    result = dissect(
        model,
        args.layers,
        args.data,
        quantile=args.quantile,
        batch_size=args.batch_size,
        num_workers=workers,
        device=args.device,
        arch=args.arch if args.weights != "none" else f"{args.arch} (random weights)",
        progress=not args.no_progress,
        checkpoint=out,
        checkpoint_seconds=60.0 * args.checkpoint_minutes,
        checkpoint_batches=args.checkpoint_batches,
        top_k=args.top_k,
    )
    path = result.save(out)
    print(result.summary(), flush=True)
    tally = filenames.TALLY_CSV.format(layer="<layer>")
    print(f"result: {path} and {out}/{tally}", flush=True)
    if args.report:
        if args.top_k < 1:
            print("no report: --top-k 0 keeps no top images to show", flush=True)
        else:
            from ..viz.dissection_report import write_report

            print(f"report: {write_report(result, out / filenames.REPORT_FOLDER)}", flush=True)
    return result
