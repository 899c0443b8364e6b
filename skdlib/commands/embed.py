"""``python -m skdlib embed``: learn semantic vectors for a torchvision model's neurons (Eq. 1).

Writes ``<out>/embedding.pt`` and ``<out>/summary.json`` (loss ends, a few neighbour and additive
queries) and prints the summary; a ``minibatch`` run checkpoints to ``<out>/embedding.ckpt`` and
resumes from it. The offline default embeds a *random* ResNet18 on generated images, and says
so.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import filenames
from ..loaders import WORKERS_ENV
from ..models.registry import ARCHITECTURES
from .common import (
    Formatter,
    add_embedding_arguments,
    add_progress_argument,
    describe,
    embedding_config,
    progress,
)

__all__ = ["NAME", "OFFLINE_NOTE", "add_parser", "run", "summarize", "format_summary"]

NAME = "embed"

OFFLINE_NOTE = (
    "NOTE: offline default - the ResNet18 weights are RANDOM and the images SYNTHETIC. The "
    "neighbours below describe this untrained network, not the paper's results; use "
    "--weights imagenet with real data for those."
)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``embed`` on ``python -m skdlib``'s sub-parsers; returns its parser.

    Example:
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> args = add_parser(sub).parse_args(["--epochs", "2"])
        >>> args.arch, args.layers, args.epochs, args.setting
        ('resnet18', None, 2, 'offline')
    """
    p = sub.add_parser(
        NAME,
        help="learn semantic vectors for a model's neurons (Eq. 1)",
        description=describe(__doc__),
        formatter_class=Formatter,
        epilog="example:\n  python -m skdlib embed --arch resnet18 --weights imagenet "
        "--data data/broden1_224 --setting paper --out runs/embed",
    )
    p.add_argument("--arch", default="resnet18", help="a torchvision architecture")
    p.add_argument(
        "--weights", default="none", choices=["none", "imagenet"], help="random or ImageNet"
    )
    p.add_argument(
        "--layers",
        nargs="+",
        default=None,
        help="modules whose channels are embedded (default: the architecture's stages, "
        f"e.g. {' '.join(ARCHITECTURES['resnet18'].stages)})",
    )
    p.add_argument(
        "--data",
        default="synthetic",
        help="'synthetic', a Broden folder (its images only) or an ImageFolder path",
    )
    p.add_argument("--images", type=int, default=512, help="synthetic images to generate")
    p.add_argument("--size", type=int, default=128, help="synthetic image size (pixels)")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch")
    add_embedding_arguments(p, "offline")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"image-decoding processes (default: ${WORKERS_ENV}, else CPUs - 1 up to 8, "
        "0 on 2 CPUs or fewer)",
    )
    p.add_argument("--device", default="auto", help="auto (the GPU when present), cpu, cuda")
    p.add_argument("--out", default="runs/offline", help="output folder")
    add_progress_argument(p)
    p.set_defaults(handler=run)
    return p


def _dataset(args: argparse.Namespace, seed: int):
    """The images to embed on: generated scenes, a Broden folder (its images only, as the
    notebooks read them), or any ImageFolder tree (the weights' own preprocessing)."""
    import torchvision

    from ..data import SyntheticConceptImages
    from ..dissect import BrodenDataset, BrodenImages

    if args.data == "synthetic":
        return SyntheticConceptImages(args.images, size=args.size, seed=seed)
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


def run(args: argparse.Namespace):
    """``embed``: train and save an embedding; prints a summary; returns the
    :class:`~skdlib.embedding.NeuronEmbedding`."""
    import torch

    from ..checkpoint import atomic_write_text
    from ..embedding import EmbeddingTrainer
    from ..loaders import make_loader
    from ..models import create_model, stage_names
    from ..runtime import resolve_device

    out = Path(args.out)
    config = embedding_config(args)
    offline = args.weights == "none" and args.data == "synthetic"
    if offline:
        print(OFFLINE_NOTE, flush=True)
    device = resolve_device(args.device)
    torch.manual_seed(config.seed)  # random weights (offline default) are reproducible too
    model = create_model(args.arch, weights=args.weights)
    if args.layers is None and args.arch not in ARCHITECTURES:
        raise ValueError(f"{args.arch} has no declared stages: name its layers with --layers")
    layers = args.layers or stage_names(model)
    dataset = _dataset(args, config.seed)
    loader = make_loader(
        dataset, args.batch_size, shuffle=True, workers=args.workers, device=device
    )
    data_info = {"name": str(args.data), "n_images": len(dataset), "weights": args.weights}
    if args.data == "synthetic":
        data_info.update(size=args.size, seed=config.seed)
    trainer = EmbeddingTrainer(
        model, layers, config, device=device, arch=args.arch, data_info=data_info
    )
    print(
        f"embedding {args.arch} {layers} on {len(dataset)} images, device {device}; "
        f"setting {args.setting}: {config.optimizer} lr {config.lr:g}, {config.epochs} epochs, "
        f"{config.mode}",
        flush=True,
    )
    emb = trainer.train(
        loader, checkpoint=out / filenames.EMBEDDING_CHECKPOINT, progress=progress(args)
    )
    path = emb.save(out / filenames.EMBEDDING)
    summary = summarize(emb)
    atomic_write_text(out / filenames.EMBED_SUMMARY, json.dumps(summary, indent=2))
    print(format_summary(summary, path), flush=True)
    if offline:
        print(OFFLINE_NOTE, flush=True)
    return emb


def summarize(emb, units: int = 4) -> dict:
    """Loss curve ends and a few neighbour / additive queries on the last layer of a
    :class:`~skdlib.embedding.NeuronEmbedding`."""
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
