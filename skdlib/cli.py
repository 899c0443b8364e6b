"""``python -m skdlib``: every command of the project, one per step of the method.

=================== ===========================================================================
command             what it does
=================== ===========================================================================
``notebooks``       run the tutorial notebooks headless (papermill) and write a summary
``embed``           learn semantic vectors for a torchvision model's neurons (Eq. 1)
``download-broden`` fetch, unpack and verify Broden 224 (~1 GB, resumable)
``dissect``         Network Dissection of a model on a Broden folder (resumable)
``distill``         train a CIFAR-100 model: a teacher (``--method none``) or a student
``embed-teacher``   embed a trained CIFAR teacher's stage outputs (Eq. 1)
``table1``          run a Table-1 job (:class:`skdlib.distill.Table1Config`) and render it
``imagenet``        ResNet34 -> ResNet18: plain, KD and SKD on an ImageFolder (torchrun-ready)
=================== ===========================================================================

Every command is one ``cmd_*`` function registered as its parser's ``handler``; :func:`main`
calls it and turns the errors a user can act on into one line on stderr and exit status 1.
The offline default of ``embed`` embeds a *random* ResNet18 on generated images, and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader

from .checkpoint import atomic_write_text
from .data import SyntheticConceptImages
from .dissect import BRODEN_URL, BrodenDataset, BrodenImages, download_broden
from .dissect.command import add_dissect_parser
from .distill import (
    METHODS,
    MODEL_NAMES,
    DistillConfig,
    Table1Config,
    embed_teacher,
    render_table1,
    run_table1,
    train_model,
)
from .distill.cifar import DATASETS, load_split, make_loader
from .distill.command import add_imagenet_parser
from .distill.distributed import init_distributed
from .embedding import EmbeddingConfig, EmbeddingTrainer, NeuronEmbedding
from .progress import EPOCH_LINES
from .runtime import resolve_device
from .tutorial import PROFILES, execute_notebooks, load_torchvision_model, notebook_paths

__all__ = ["main", "build_parser", "OFFLINE_NOTE"]

OFFLINE_NOTE = (
    "NOTE: offline default - the ResNet18 weights are RANDOM and the images SYNTHETIC. The "
    "neighbours below describe this untrained network, not the paper's results; use "
    "--weights imagenet with real data for those."
)


#: ``embed``'s two settings: a short offline one (the default) and the paper's (§3.2).
EMBED_SETTINGS = {
    "offline": {"optimizer": "adam", "epochs": 8},
    "paper": {"optimizer": "sgd", "epochs": 100},
}


def _progress(args: argparse.Namespace) -> bool | str:
    """Bars, or with ``--no-progress`` one printed line per epoch (batch logs)."""
    return EPOCH_LINES if args.no_progress else True


def _default_lr(args: argparse.Namespace) -> float:
    return args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 0.01)


def _apply_setting(args: argparse.Namespace) -> None:
    """Fill ``--optimizer``/``--epochs`` not given on the command line from ``--setting``."""
    for key, value in EMBED_SETTINGS[args.setting].items():
        if getattr(args, key) is None:
            setattr(args, key, value)


# -- embed ------------------------------------------------------------------------------------


def _embed_dataset(args: argparse.Namespace):
    """The images to embed on: generated scenes, a Broden folder (its images only, as the
    notebooks read them), or any ImageFolder tree (the weights' own preprocessing)."""
    if args.data == "synthetic":
        return SyntheticConceptImages(args.images, size=args.size, seed=args.seed)
    root = Path(args.data)
    if not root.is_dir():
        raise FileNotFoundError(
            f"data folder {root} does not exist; pass --data synthetic, a Broden folder "
            "(python -m skdlib download-broden) or an ImageFolder-style folder "
            "(root/<any subfolder>/<image files>)"
        )
    if (root / "index.csv").is_file():
        images = BrodenImages(BrodenDataset(root))
        print(
            f"{root} is a Broden data set: embedding on its {len(images)} images at their own "
            "size (its segmentation maps are labels, not images)",
            flush=True,
        )
        return images
    weights = torchvision.models.get_model_weights(args.arch).DEFAULT
    return torchvision.datasets.ImageFolder(str(root), transform=weights.transforms())


def cmd_embed(args: argparse.Namespace) -> NeuronEmbedding:
    """``embed``: train and save an embedding; prints a summary; returns the embedding."""
    out = Path(args.out)
    _apply_setting(args)
    offline = args.weights == "none" and args.data == "synthetic"
    if offline:
        print(OFFLINE_NOTE, flush=True)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)  # random weights (offline default) are reproducible too
    model = load_torchvision_model(args.arch, args.weights)
    dataset = _embed_dataset(args)
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
    )
    config = EmbeddingConfig(
        dim=args.dim,
        tau=args.tau,
        epochs=args.epochs,
        lr=_default_lr(args),
        seed=args.seed,
        optimizer=args.optimizer,
    )
    data_info = {"name": str(args.data), "n_images": len(dataset), "weights": args.weights}
    if args.data == "synthetic":
        data_info.update(size=args.size, seed=args.seed)
    trainer = EmbeddingTrainer(
        model, args.layers, config, device=device, arch=args.arch, data_info=data_info
    )
    print(
        f"embedding {args.arch} {args.layers} on {len(dataset)} images, device {device}; "
        f"setting {args.setting}: {config.optimizer} lr {config.lr:g}, {config.epochs} epochs",
        flush=True,
    )
    emb = trainer.fit(loader, checkpoint=out / "embedding.ckpt", progress=_progress(args))
    path = emb.save(out / "embedding.pt")
    summary = summarize(emb)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    print(format_summary(summary, path), flush=True)
    if offline:
        print(OFFLINE_NOTE, flush=True)
    return emb


def summarize(emb: NeuronEmbedding, units: int = 4) -> dict:
    """Loss curve ends and a few neighbour / additive queries on the last layer."""
    layer = emb.layers[-1]
    history = emb.meta["history"]
    return {
        "arch": emb.meta["arch"],
        "layers": emb.meta["channels"],
        "loss_first_epoch": history["loss"][0],
        "loss_last_epoch": history["loss"][-1],
        "epochs": history["epoch"][-1],
        "neighbours": {
            f"{layer}:{u}": [[n, round(c, 3)] for n, c in emb.nearest(layer, u, k=3)]
            for u in range(units)
        },
        "additive": {f"{layer}:0+1": [[n, round(c, 3)] for n, c in emb.additive(layer, 0, 1, k=1)]},
    }


def format_summary(summary: dict, path: Path) -> str:
    """The :func:`summarize` dict as the lines ``embed`` prints."""
    lines = [
        f"saved {path}",
        f"loss: epoch 1 {summary['loss_first_epoch']:.5f} -> epoch {summary['epochs']} "
        f"{summary['loss_last_epoch']:.5f}",
        "nearest neurons (unit: [(neighbour, cosine), ...]):",
    ]
    lines += [f"  {k}: {v}" for k, v in summary["neighbours"].items()]
    lines += [f"additive s_a + s_b -> nearest: {k}: {v}" for k, v in summary["additive"].items()]
    return "\n".join(lines)


# -- notebooks, download-broden ---------------------------------------------------------------


def cmd_notebooks(args: argparse.Namespace) -> Path:
    """``notebooks``: every tutorial notebook (or ``--only``) with ``--profile``."""
    paths = notebook_paths()
    if args.only:
        unknown = sorted(set(args.only) - {p.name for p in paths})
        if unknown:
            raise ValueError(f"no notebooks {unknown}; choose from {[p.name for p in paths]}")
        paths = [p for p in paths if p.name in args.only]
    summary = execute_notebooks(args.profile, paths, trial_run=args.trial_run)
    print(f"summary: {summary}", flush=True)
    return summary


def cmd_download_broden(args: argparse.Namespace) -> Path:
    """``download-broden``: returns the verified ``broden1_224`` folder."""
    root = download_broden(
        args.dest, url=args.url, keep_archive=args.keep_archive, progress=not args.no_progress
    )
    print(f"Broden is ready in {root}", flush=True)
    return root


# -- distill, embed-teacher, table1 -----------------------------------------------------------


def _splits(args: argparse.Namespace, test: bool = True):
    train = load_split(args.data, True, args.data_root, args.per_class)
    return train, (load_split(args.data, False, args.data_root) if test else None)


def cmd_distill(args: argparse.Namespace) -> None:
    """``distill``: one training run (a teacher with ``--method none``, or a student)."""
    train, test = _splits(args)
    d = init_distributed(args.device)  # one process, or this rank of a torchrun job
    device = d.device
    cfg = DistillConfig(
        method=args.method,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        beta=args.beta,
        skd_tau=args.tau,
        seed=args.seed,
    )
    trainer = train_model(
        args.arch,
        make_loader(
            train, cfg.batch_size, True, device, args.pipeline, workers=args.workers, distributed=d
        ),
        make_loader(test, 256, False, device, args.pipeline, workers=args.workers),
        cfg,
        args.out,
        teacher=args.teacher,
        teacher_arch=args.teacher_arch,
        embedding=args.embedding,
        num_classes=len(train.classes),
        device=device,
        progress=_progress(args),
        distributed=d,
    )
    s = trainer.summary
    if not d.main:
        return
    print(
        f"{args.method} {args.arch}: last-epoch top-1 {s.last_top1:.2f}, best {s.best_top1:.2f}"
        f" (epoch {s.best_epoch}); metrics in {args.out}/metrics.json",
        flush=True,
    )


def cmd_embed_teacher(args: argparse.Namespace) -> None:
    """``embed-teacher``: semantic vectors of a trained teacher's stage outputs. Under
    ``torchrun`` rank 0 embeds (a one-off cost) while the others wait, so a multi-process
    script can run it before ``distill``."""
    d = init_distributed(args.device)
    if not d.main:
        d.barrier()
        return
    train, _ = _splits(args, test=False)
    cfg = EmbeddingConfig(
        dim=args.dim,
        epochs=args.epochs,
        lr=_default_lr(args),
        optimizer=args.optimizer,
        seed=args.seed,
    )
    emb = embed_teacher(
        args.teacher,
        train,
        cfg,
        args.out,
        teacher_arch=args.teacher_arch,
        device=args.device,
        pipeline=args.pipeline,
        progress=_progress(args),
    )
    print(f"embedded {emb.meta['arch']} {emb.meta['channels']} -> {args.out}/embedding.pt")
    d.barrier()


def cmd_table1(args: argparse.Namespace) -> None:
    """``table1``: run (or continue) a Table-1 job and print the table."""
    cfg = Table1Config.load(args.config)
    if args.out:
        cfg.out = args.out
    overrides = {k: v for k, v in (("beta", args.beta), ("skd_tau", args.tau)) if v is not None}
    if overrides:  # every student run of the job gets them; validated like the file's own keys
        cfg = Table1Config.from_dict(
            {**cfg.to_dict(), "student": {**cfg.student, **overrides}},
            where=f"{args.config} with --beta/--tau",
        )
    results = run_table1(cfg, progress=_progress(args))
    print(render_table1(results), flush=True)
    print(f"\nresults: {Path(cfg.out) / 'results.json'}", flush=True)


# -- the parser ---------------------------------------------------------------------------------


def _add_embed(sub) -> None:
    p = sub.add_parser("embed", help="learn semantic vectors for a model's neurons (Eq. 1)")
    p.add_argument("--arch", default="resnet18", help="torchvision architecture")
    p.add_argument("--weights", default="none", choices=["none", "imagenet"])
    p.add_argument("--layers", nargs="+", default=["layer1", "layer2", "layer3", "layer4"])
    p.add_argument(
        "--data",
        default="synthetic",
        help="'synthetic', a Broden folder (its images only) or an ImageFolder path",
    )
    p.add_argument("--images", type=int, default=512, help="synthetic images to generate")
    p.add_argument("--size", type=int, default=128, help="synthetic image size (pixels)")
    p.add_argument(
        "--setting",
        default="offline",
        choices=list(EMBED_SETTINGS),
        help="offline (default): adam, 8 epochs - converges in the few steps of a short run; "
        "paper: sgd lr 0.1, 100 epochs (§3.2). --optimizer/--epochs/--lr override either",
    )
    p.add_argument("--epochs", type=int, default=None, help="default: the setting's")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument(
        "--optimizer", default=None, choices=["sgd", "adam"], help="default: the setting's"
    )
    p.add_argument("--lr", type=float, default=None, help="default: 0.1 sgd, 0.01 adam")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="runs/offline", help="output folder")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_embed)


def _add_tutorial_and_data(sub) -> None:
    p = sub.add_parser(
        "notebooks", help="run the tutorial notebooks headless (papermill) and write a summary"
    )
    p.add_argument("--profile", default="quick", choices=list(PROFILES))
    p.add_argument("--only", nargs="+", help="notebook file names (default: all, in order)")
    p.add_argument(
        "--trial-run",
        action="store_true",
        help="the profile's data and models with every schedule cut to one epoch, into "
        "runs/<profile>-trial/: a check of the set-up in minutes",
    )
    p.set_defaults(handler=cmd_notebooks)
    p = sub.add_parser(
        "download-broden",
        help="download broden1_224 (~1 GB, resumable), unpack it into --dest, verify the layout",
    )
    p.add_argument("--dest", default="data", help="folder to unpack into (default: data)")
    p.add_argument("--url", default=BRODEN_URL, help=f"archive address (default: {BRODEN_URL})")
    p.add_argument("--keep-archive", action="store_true", help="keep the zip after unpacking")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_download_broden)


def _add_distillation(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", default="cifar100", choices=list(DATASETS))
    common.add_argument("--data-root", default="data")
    common.add_argument("--per-class", type=int, default=None, help="synthetic train images")
    common.add_argument("--device", default="auto")
    common.add_argument("--pipeline", default="auto", choices=["auto", "device", "torchvision"])
    common.add_argument("--workers", type=int, default=0)
    common.add_argument("--out", required=True, help="run folder (resumes if it has a checkpoint)")
    common.add_argument("--no-progress", action="store_true")
    common.add_argument("--teacher-arch", help="teacher architecture (RepDistiller checkpoints)")

    methods = "; ".join(f"{m.name}: {m.description}" for m in METHODS.values())
    p = sub.add_parser(
        "distill",
        parents=[common],
        help="train a CIFAR-100 model: a teacher (--method none) or a student (kd, skd, ...)",
        description=f"Methods: {methods}.",
    )
    p.add_argument("--arch", required=True, choices=list(MODEL_NAMES), help="the model to train")
    p.add_argument("--method", default="none", choices=list(METHODS))
    p.add_argument("--teacher", help="teacher model file (methods that run the teacher)")
    p.add_argument("--embedding", help="teacher embedding file (skd, skd+kd)")
    p.add_argument("--epochs", type=int, default=240)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--beta", type=float, default=None, help="default: the method's")
    p.add_argument("--tau", type=float, default=1.0, help="SKD temperature (paper: 1)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_distill)

    p = sub.add_parser(
        "embed-teacher", parents=[common], help="embed a trained teacher's stage outputs (Eq. 1)"
    )
    p.add_argument("--teacher", required=True, help="teacher model file")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--lr", type=float, default=None, help="default: 0.1 sgd, 0.01 adam")
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_embed_teacher)

    p = sub.add_parser("table1", help="run a Table-1 config and render the table")
    p.add_argument("--config", required=True, help="JSON config, e.g. configs/table1_paper.json")
    p.add_argument("--out", help="override the config's output folder")
    p.add_argument(
        "--beta", type=float, default=None, help="SKD/feature weight of every student run"
    )
    p.add_argument(
        "--tau", type=float, default=None, help="SKD temperature of every student run (paper: 1)"
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=cmd_table1)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m skdlib`` parser with every command."""
    parser = argparse.ArgumentParser(
        prog="python -m skdlib",
        description="skd: interpretable neuron embeddings and static knowledge distillation.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_tutorial_and_data(sub)
    _add_embed(sub)
    add_dissect_parser(sub)
    _add_distillation(sub)
    add_imagenet_parser(sub)
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
