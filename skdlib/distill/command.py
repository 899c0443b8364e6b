"""``python -m skdlib imagenet``: the ImageNet-size job (:mod:`skdlib.distill.imagenet`).

Run it on one process, or on N with ``torchrun --standalone --nproc_per_node N -m skdlib imagenet
--config ...``; only rank 0 prints. Registered by :mod:`skdlib.cli`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..progress import EPOCH_LINES
from .imagenet import ImageNetJob, run_imagenet_job

__all__ = ["cmd_imagenet", "add_imagenet_parser"]


def cmd_imagenet(args: argparse.Namespace) -> None:
    """``imagenet``: run (or continue) an ImageNet-size job (:mod:`skdlib.distill.imagenet`)."""
    job = ImageNetJob.load(args.config)
    if args.out:
        job.out = args.out
    results = run_imagenet_job(job, progress=EPOCH_LINES if args.no_progress else True)
    if results["processes"] > 1 and int(os.environ.get("RANK", "0")) != 0:
        return
    for run in results["runs"]:
        print(
            f"{run['method']:>5} {job.student}: last-epoch top-1 {run['last_top1']:.2f}, "
            f"best {run['best_top1']:.2f} ({run['seconds']:.0f} s)",
            flush=True,
        )
    print(f"results: {Path(job.out) / 'results.json'}", flush=True)


def add_imagenet_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``imagenet`` command to ``python -m skdlib``'s subparsers; returns its parser."""
    p = sub.add_parser(
        "imagenet", help="ResNet34 -> ResNet18 plain/KD/SKD on an ImageFolder (torchrun-ready)"
    )
    p.add_argument("--config", required=True, help="JSON, e.g. configs/imagenet_resnet34.json")
    p.add_argument("--out", help="override the job's output folder")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_imagenet)
    return p
