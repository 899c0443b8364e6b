"""``python -m skdlib distill`` and ``embed-teacher``: one CIFAR training run, and the semantic
vectors of a trained teacher.

``distill`` trains a teacher (``--method none``) or a student with any registered method; its
run folder holds a checkpoint after every epoch (rerunning the same command resumes),
``metrics.json`` and, once finished, ``model.pt``. ``embed-teacher`` embeds a trained teacher's
stage outputs (Eq. 1) into ``<out>/embedding.pt`` for the static methods. Both run on N
processes with ``torchrun`` (``--batch-size`` is the global batch).
"""

from __future__ import annotations

import argparse

from .. import filenames
from ..distill.config import DATASETS, PIPELINES, DistillConfig
from ..distill.methods import METHODS
from ..loaders import WORKERS_ENV
from ..models.registry import CIFAR_ARCHS
from .common import (
    Formatter,
    add_embedding_arguments,
    add_progress_argument,
    describe,
    embedding_config,
    progress,
)

__all__ = ["NAMES", "add_parser", "run_distill", "run_embed_teacher"]

NAMES = ("distill", "embed-teacher")


def _common() -> argparse.ArgumentParser:
    """The flags both commands share: data, device, workers, output folder."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        default="cifar100",
        choices=list(DATASETS),
        help="CIFAR-100 (downloaded into --data-root) or its generated stand-in",
    )
    common.add_argument("--data-root", default="data", help="where CIFAR-100 is (or goes)")
    common.add_argument(
        "--per-class", type=int, default=None, help="training images per class (synthetic)"
    )
    common.add_argument(
        "--test-per-class", type=int, default=None, help="test images per class (synthetic)"
    )
    common.add_argument("--device", default="auto", help="auto (the GPU when present), cpu, cuda")
    common.add_argument(
        "--pipeline",
        default="auto",
        choices=list(PIPELINES),
        help="device: the split on the GPU, batched augmentation; torchvision: a DataLoader",
    )
    common.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"DataLoader worker processes (default: ${WORKERS_ENV}, else CPUs - 1 up to 8, "
        "0 on 2 CPUs or fewer)",
    )
    common.add_argument("--out", required=True, help="run folder (resumes if it has a checkpoint)")
    common.add_argument(
        "--teacher-arch", help="the teacher's architecture (needed for RepDistiller checkpoints)"
    )
    add_progress_argument(common)
    return common


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``distill`` and ``embed-teacher``.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub)
        >>> args = sub.choices["distill"].parse_args(["--arch", "resnet8x4", "--out", "r"])
        >>> args.method, args.epochs, args.lr
        ('none', 240, 0.05)
    """
    common = _common()
    crd = DistillConfig()
    methods = "\n".join(f"  {m.name:8} {m.description}" for m in METHODS.values())
    settings = ", ".join(
        f"{m.name}: " + " ".join(f"{k}={v:g}" for k, v in m.settings.items())
        for m in METHODS.values()
        if m.settings
    )
    p = sub.add_parser(
        "distill",
        parents=[common],
        help="train a CIFAR-100 model: a teacher (--method none) or a student (kd, skd, ...)",
        description=f"{describe(__doc__)}\n\nmethods:\n{methods}\n\nsettings (--setting): "
        f"{settings}",
        formatter_class=Formatter,
        epilog="examples:\n"
        "  python -m skdlib distill --arch resnet32x4 --out runs/t\n"
        "  python -m skdlib distill --arch resnet8x4 --method skd "
        f"--embedding runs/t/{filenames.EMBEDDING} --out runs/s",
    )
    p.add_argument("--arch", required=True, choices=list(CIFAR_ARCHS), help="the model to train")
    p.add_argument(
        "--method", default="none", choices=list(METHODS), help="distillation method (above)"
    )
    p.add_argument(
        "--teacher-model", help="the teacher's model file (methods that run the teacher)"
    )
    p.add_argument("--embedding", help="the teacher's embedding file (static methods: skd)")
    p.add_argument("--epochs", type=int, default=crd.epochs, help="passes over the data")
    p.add_argument(
        "--batch-size", type=int, default=crd.batch_size, help="global batch (all processes)"
    )
    p.add_argument("--lr", type=float, default=crd.lr, help="initial SGD learning rate")
    p.add_argument(
        "--beta", type=float, default=None, help="weight of the feature term (default: method's)"
    )
    p.add_argument(
        "--tau", type=float, default=crd.skd_tau, help="SKD's softmax temperature (paper: 1)"
    )
    p.add_argument("--seed", type=int, default=crd.seed, help="initialisation and data order")
    p.add_argument(
        "--init-epochs",
        type=int,
        default=None,
        help="epochs of the initialisation stage of ab/ft/fsp (default: the method's, CRD: 30)",
    )
    p.add_argument(
        "--init-lr",
        type=float,
        default=None,
        help="lr of that stage (default: --lr; ft with a resnet/wrn student: 0.01)",
    )
    p.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one of the method's settings (listed above), e.g. nce_k=4096; repeatable",
    )
    p.set_defaults(handler=run_distill)

    p = sub.add_parser(
        "embed-teacher",
        parents=[common],
        help="embed a trained teacher's stage outputs (Eq. 1)",
        description=describe(__doc__),
        formatter_class=Formatter,
        epilog="example:\n  python -m skdlib embed-teacher "
        f"--teacher-model runs/t/{filenames.MODEL} --out runs/t",
    )
    p.add_argument("--teacher-model", required=True, help="the teacher's model file")
    add_embedding_arguments(p, "paper")
    p.set_defaults(handler=run_embed_teacher)


def _splits(args: argparse.Namespace, test: bool = True):
    from ..distill.cifar import load_split

    train = load_split(args.data, True, args.data_root, args.per_class)
    test_split = load_split(args.data, False, args.data_root, args.test_per_class) if test else None
    return train, test_split


def _settings(pairs: list[str]) -> dict[str, float]:
    """``["nce_k=4096", ...]`` -> ``{"nce_k": 4096.0}``; a malformed item names itself."""
    out = {}
    for item in pairs:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValueError(
                f"--setting {item!r}: expected NAME=VALUE with a number, e.g. nce_k=4096"
            )
    return out


def run_distill(args: argparse.Namespace) -> None:
    """``distill``: one training run (a teacher with ``--method none``, or a student)."""
    from ..distill import train_model
    from ..distill.cifar import cifar_loader
    from ..distill.distributed import init_distributed

    cfg = DistillConfig(
        method=args.method,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        beta=args.beta,
        skd_tau=args.tau,
        seed=args.seed,
        init_epochs=args.init_epochs,
        init_lr=args.init_lr,
        settings={args.method: _settings(args.setting)} if args.setting else {},
    )
    train, test = _splits(args)
    d = init_distributed(args.device)  # one process, or this rank of a torchrun job
    trainer = train_model(
        args.arch,
        cifar_loader(
            train, cfg.batch_size, True, d.device, args.pipeline, workers=args.workers,
            distributed=d, with_index=METHODS[args.method].needs_index,
        ),
        cifar_loader(test, 256, False, d.device, args.pipeline, workers=args.workers),
        cfg,
        args.out,
        teacher_model=args.teacher_model,
        teacher_arch=args.teacher_arch,
        embedding=args.embedding,
        num_classes=len(train.classes),
        device=d.device,
        progress=progress(args),
        distributed=d,
    )  # fmt: skip
    s = trainer.summary
    if not d.main:
        return
    print(
        f"{args.method} {args.arch}: last-epoch top-1 {s.last_top1:.2f}, best {s.best_top1:.2f}"
        f" (epoch {s.best_epoch}); metrics in {args.out}/{filenames.METRICS}",
        flush=True,
    )


def run_embed_teacher(args: argparse.Namespace) -> None:
    """``embed-teacher``: semantic vectors of a trained teacher's stage outputs. Under
    ``torchrun`` rank 0 embeds (a one-off cost) while the others wait, so a multi-process
    script can run it before ``distill``."""
    from ..distill import embed_teacher
    from ..distill.distributed import init_distributed

    d = init_distributed(args.device)
    if not d.main:
        d.barrier()
        return
    train, _ = _splits(args, test=False)
    emb = embed_teacher(
        args.teacher_model,
        train,
        embedding_config(args),
        args.out,
        teacher_arch=args.teacher_arch,
        device=args.device,
        pipeline=args.pipeline,
        progress=progress(args),
    )
    print(f"embedded {emb.meta['arch']} {emb.meta['channels']} -> {args.out}/{filenames.EMBEDDING}")
    d.barrier()
