"""``python -m skdlib dissect``: Network Dissection of a torchvision model on a Broden folder.

The command line of :func:`~skdlib.dissect.dissect`: it writes ``<out>/dissection.pt`` and one
``tally_<layer>.csv`` per layer, prints the summary, and keeps a checkpoint in its output folder
while it runs (``<out>/dissection.ckpt``, :mod:`skdlib.dissect.resume`): the same command after
a crash in the second pass continues where it stopped, with the same result, and the checkpoint
is removed once the result is saved. Images are decoded in ``--workers`` processes, by default
:func:`skdlib.runtime.default_workers` (``$SKD_WORKERS``, else the CPUs − 1 up to 8, none on a
machine with 2 CPUs or fewer).

Example::

    python -m skdlib dissect --arch resnet18 --weights imagenet --layers layer3 layer4 \\
        --data data/broden1_224 --out runs/dissect
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..runtime import WORKERS_ENV, default_workers
from .pipeline import DEFAULT_QUANTILE, dissect
from .result import DissectionResult

__all__ = ["RANDOM_NOTE", "add_dissect_parser", "cmd_dissect"]

RANDOM_NOTE = (
    "NOTE: --weights none dissects a network with RANDOM weights (seeded by --seed): a baseline "
    "for the trained network's counts, not a result of its own"
)


def cmd_dissect(args: argparse.Namespace) -> DissectionResult:
    """``dissect``: dissect, save into ``--out`` (resuming from its checkpoint), print a summary.

    Returns the :class:`~skdlib.dissect.result.DissectionResult` (also saved).

    Example::

        from skdlib.cli import build_parser
        args = build_parser().parse_args(["dissect", "--weights", "none", "--out", "runs/r"])
        cmd_dissect(args).interpretable("layer4")
    """
    from ..tutorial.network import load_torchvision_model  # the tutorial imports this package

    out = Path(args.out)
    if args.weights == "none":
        print(RANDOM_NOTE, flush=True)
    torch.manual_seed(args.seed)  # random weights are the same on a rerun: it can resume
    model = load_torchvision_model(args.arch, args.weights)
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
    )
    path = result.save(out)
    print(result.summary(), flush=True)
    print(f"result: {path} and {out}/tally_<layer>.csv", flush=True)
    return result


def add_dissect_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``dissect`` on the ``python -m skdlib`` sub-parsers; returns its parser.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> args = add_dissect_parser(sub).parse_args(["--layers", "layer4"])
        >>> args.layers, args.workers, args.out
        (['layer4'], None, 'runs/dissect')
    """
    p = sub.add_parser(
        "dissect",
        help="Network Dissection of a torchvision model on a Broden folder (resumable)",
        description="Writes <out>/dissection.pt and tally_<layer>.csv per layer. While it runs it "
        "keeps <out>/dissection.ckpt: the same command after a crash in the second pass "
        "continues where it stopped, with the same result; the file is removed once the result "
        "is saved.",
    )
    p.add_argument("--arch", default="resnet18", help="torchvision architecture")
    p.add_argument("--weights", default="imagenet", choices=["imagenet", "none"])
    p.add_argument("--seed", type=int, default=0, help="of the random weights (--weights none)")
    p.add_argument("--layers", nargs="+", default=["layer1", "layer2", "layer3", "layer4"])
    p.add_argument("--data", default="data/broden1_224", help="Broden folder (has index.csv)")
    p.add_argument("--out", default="runs/dissect", help="output and checkpoint folder")
    p.add_argument("--quantile", type=float, default=DEFAULT_QUANTILE)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"image-decoding worker processes (default: ${WORKERS_ENV}, else CPUs - 1 up to 8, "
        "0 on 2 CPUs or fewer)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=5.0,
        help="save the second pass's tally this often (minutes; also at its end)",
    )
    p.add_argument(
        "--checkpoint-batches", type=int, default=None, help="... or every this many batches"
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_dissect)
    return p
