"""Command line: ``python -m skdlib embed`` embeds a torchvision model's neurons.

The offline default (no internet, no GPU needed) embeds ResNet18's ``layer1..layer4`` with
*random* weights on synthetic concept images that the project generates itself; the output says so.
With ``--weights imagenet`` and ``--data PATH`` (an ImageFolder-style tree, e.g. Broden's images
sorted into one folder) it runs the paper's setting.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader

from .data import SyntheticConceptImages
from .embedding import EmbeddingConfig, EmbeddingTrainer, NeuronEmbedding
from .pretrained import load_torchvision_model
from .runtime import resolve_device

__all__ = ["main", "load_torchvision_model", "build_parser"]

OFFLINE_NOTE = (
    "NOTE: offline default - the ResNet18 weights are RANDOM and the images SYNTHETIC. The "
    "neighbours below describe this untrained network, not the paper's results; use "
    "--weights imagenet with real data for those."
)


def _dataset(args: argparse.Namespace):
    if args.data == "synthetic":
        return SyntheticConceptImages(args.images, size=args.size, seed=args.seed)
    root = Path(args.data)
    if not root.is_dir():
        raise FileNotFoundError(
            f"data folder {root} does not exist; pass --data synthetic or an ImageFolder-style "
            "folder (root/<any subfolder>/<image files>)"
        )
    weights = torchvision.models.get_model_weights(args.model).DEFAULT
    return torchvision.datasets.ImageFolder(str(root), transform=weights.transforms())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m skdlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    embed = sub.add_parser("embed", help="learn semantic vectors for a model's neurons (Eq. 1)")
    embed.add_argument("--model", default="resnet18", help="torchvision model name")
    embed.add_argument("--weights", default="none", choices=["none", "imagenet"])
    embed.add_argument("--layers", nargs="+", default=["layer1", "layer2", "layer3", "layer4"])
    embed.add_argument("--data", default="synthetic", help="'synthetic' or an ImageFolder path")
    embed.add_argument("--images", type=int, default=512, help="synthetic images to generate")
    embed.add_argument("--size", type=int, default=128, help="synthetic image size (pixels)")
    embed.add_argument("--epochs", type=int, default=8)
    embed.add_argument("--batch-size", type=int, default=64)
    embed.add_argument("--dim", type=int, default=16)
    embed.add_argument("--tau", type=float, default=1.0)
    embed.add_argument(
        "--optimizer",
        default="adam",
        choices=["sgd", "adam"],
        help="adam (default) converges in the few steps of an offline run; the paper uses sgd "
        "with --lr 0.1 over ~100 epochs of Broden",
    )
    embed.add_argument("--lr", type=float, default=None, help="default: 0.1 sgd, 0.01 adam")
    embed.add_argument("--seed", type=int, default=0)
    embed.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    embed.add_argument("--device", default="auto")
    embed.add_argument("--out", default="runs/offline", help="output folder")
    embed.add_argument("--no-progress", action="store_true")
    nbs = sub.add_parser(
        "notebooks", help="run the tutorial notebooks headless (papermill) and write a summary"
    )
    nbs.add_argument("--profile", default="quick", choices=["smoke", "quick", "paper"])
    nbs.add_argument("--only", nargs="+", help="notebook file names (default: all, in order)")
    add_download_broden_parser(sub)
    from .table1 import add_commands as add_distill_commands  # distill, embed-teacher, table1

    add_distill_commands(sub)
    return parser


def run_embed(args: argparse.Namespace) -> NeuronEmbedding:
    """Train and save an embedding as the ``embed`` command describes; returns it."""
    out = Path(args.out)
    offline = args.weights == "none" and args.data == "synthetic"
    if offline:
        print(OFFLINE_NOTE, flush=True)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)  # random weights (offline default) are reproducible too
    model = load_torchvision_model(args.model, args.weights)
    dataset = _dataset(args)
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
    )
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 0.01)
    config = EmbeddingConfig(
        dim=args.dim,
        tau=args.tau,
        epochs=args.epochs,
        lr=lr,
        seed=args.seed,
        optimizer=args.optimizer,
    )
    data_info = {"name": args.data, "n_images": len(dataset), "weights": args.weights}
    if args.data == "synthetic":
        data_info.update(size=args.size, seed=args.seed)
    trainer = EmbeddingTrainer(
        model, args.layers, config, device=device, arch=args.model, data_info=data_info
    )
    print(
        f"embedding {args.model} {args.layers} on {len(dataset)} images, device {device}",
        flush=True,
    )
    emb = trainer.fit(loader, checkpoint=out / "embedding.ckpt", progress=not args.no_progress)
    path = emb.save(out / "embedding.pt")
    summary = summarize(emb)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(format_summary(summary, path), flush=True)
    if offline:
        print(OFFLINE_NOTE, flush=True)
    return emb


def summarize(emb: NeuronEmbedding, units: int = 4) -> dict:
    """Loss curve ends and a few neighbour / additive queries on the last layer."""
    layer = emb.layers[-1]
    history = emb.meta["history"]
    return {
        "model": emb.meta["arch"],
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
    lines = [
        f"saved {path}",
        f"loss: epoch 1 {summary['loss_first_epoch']:.5f} -> epoch {summary['epochs']} "
        f"{summary['loss_last_epoch']:.5f}",
        "nearest neurons (unit: [(neighbour, cosine), ...]):",
    ]
    lines += [f"  {k}: {v}" for k, v in summary["neighbours"].items()]
    lines += [f"additive s_a + s_b -> nearest: {k}: {v}" for k, v in summary["additive"].items()]
    return "\n".join(lines)


def add_download_broden_parser(sub) -> None:
    """The ``download-broden`` subcommand: fetch, unpack and verify ``broden1_224``."""
    from .dissect import BRODEN_URL

    dl = sub.add_parser(
        "download-broden",
        help="download broden1_224 (~1 GB, resumable), unpack it into --dest, verify the layout",
    )
    dl.add_argument("--dest", default="data", help="folder to unpack into (default: data)")
    dl.add_argument("--url", default=BRODEN_URL, help=f"archive address (default: {BRODEN_URL})")
    dl.add_argument("--keep-archive", action="store_true", help="keep the zip after unpacking")
    dl.add_argument("--no-progress", action="store_true")


def run_download_broden(args: argparse.Namespace) -> Path:
    """Run ``download-broden``; returns the verified ``broden1_224`` folder."""
    from .dissect import download_broden

    root = download_broden(
        args.dest, url=args.url, keep_archive=args.keep_archive, progress=not args.no_progress
    )
    print(f"Broden is ready in {root}", flush=True)
    return root


def run_tutorial(args: argparse.Namespace) -> Path:
    """Run ``notebooks``: every tutorial notebook (or ``--only``) with ``--profile``."""
    from .batch import notebook_paths, run_notebooks

    paths = notebook_paths()
    if args.only:
        unknown = sorted(set(args.only) - {p.name for p in paths})
        if unknown:
            raise ValueError(f"no notebooks {unknown}; choose from {[p.name for p in paths]}")
        paths = [p for p in paths if p.name in args.only]
    summary = run_notebooks(args.profile, paths)
    print(f"summary: {summary}", flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m skdlib``."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "embed":
            run_embed(args)
        elif args.command == "notebooks":
            run_tutorial(args)
        elif args.command == "download-broden":
            run_download_broden(args)
        elif args.command in ("distill", "embed-teacher", "table1"):
            args.run(args)
    except (FileNotFoundError, RuntimeError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
