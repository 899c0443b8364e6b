"""``python -m skdlib imagenet``: the ImageNet-size job, ResNet34 -> ResNet18 plain, KD and SKD.

Reads an ImageFolder tree (``train/`` and ``val/``); the teacher's neurons are embedded once,
then each student method trains on torchvision's classic recipe. Run it on one process, or on N
with torchrun; only rank 0 prints and writes <out>/results.json.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import filenames
from .common import Formatter, add_progress_argument, describe, progress

__all__ = ["NAME", "add_parser", "run"]

NAME = "imagenet"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``imagenet``; returns its parser.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args(["--config", "job.json"]).config
        'job.json'
    """
    p = sub.add_parser(
        NAME,
        help="ResNet34 -> ResNet18 plain/KD/SKD on an ImageFolder (torchrun-ready)",
        description=describe(__doc__),
        formatter_class=Formatter,
        epilog="examples:\n  python -m skdlib imagenet --config configs/imagenet_synthetic.json\n"
        "  torchrun --standalone --nproc_per_node 8 -m skdlib imagenet "
        "--config configs/imagenet_resnet34.json",
    )
    p.add_argument(
        "--config", required=True, help="JSON job file, e.g. configs/imagenet_resnet34.json"
    )
    p.add_argument("--out", help="override the job's output folder")
    add_progress_argument(p)
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> dict:
    """``imagenet``: run (or continue) the job (:mod:`skdlib.distill.imagenet`)."""
    from ..distill.imagenet import ImageNetJob, run_imagenet_job

    job = ImageNetJob.load(args.config)
    if args.out:
        job.out = args.out
    results = run_imagenet_job(job, progress=progress(args))
    if results["processes"] > 1 and int(os.environ.get("RANK", "0")) != 0:
        return results
    for r in results["runs"]:
        print(
            f"{r['method']:>5} {job.student_arch}: last-epoch top-1 {r['last_top1']:.2f}, "
            f"best {r['best_top1']:.2f} ({r['seconds']:.0f} s)",
            flush=True,
        )
    print(f"results: {Path(job.out) / filenames.RESULTS}", flush=True)
    return results
