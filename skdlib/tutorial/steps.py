"""The tutorial's set-up steps, one function per step, each following the chosen profile.

The notebooks stay thin by calling these (and :func:`skdlib.tutorial.studied_network`): which
Broden to read, which images to show, which distillation job to run, how to fit the embedding.
In the ``paper`` profile they load the real things (ImageNet weights, Broden 224, CIFAR-100) and
stop at once with a message naming the missing file, its URL and where to put it; in ``quick``
and ``smoke`` they build the offline stand-ins, once, and reuse them.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..data import make_synthetic_broden, to_display
from ..dissect import BRODEN_FOLDER, BrodenDataset, BrodenImages, check_broden_layout
from ..distill import Table1Config
from ..distill.cifar import cifar_loader, load_cifar100, load_split
from ..embedding import (
    Callback,
    EmbeddingTrainer,
    NeuronEmbedding,
    VectorSnapshots,
)
from ..loaders import default_workers, make_loader
from ..models import create_model
from .outputs import OutputFolder, project_root
from .profiles import Profile

__all__ = [
    "data_dir",
    "check_paper_inputs",
    "broden",
    "embedding_loader",
    "vector_snapshots",
    "display_set",
    "distillation_config",
    "distillation_batches",
    "train_embedding",
]


def data_dir() -> Path:
    """``data/`` in the project root (see :func:`skdlib.tutorial.project_root`)."""
    return project_root() / "data"


def check_paper_inputs(profile: Profile, data: str | os.PathLike | None = None) -> None:
    """Fail fast when a profile that reads real data lacks any of it — before any long step.

    Checks, for ``broden="real"``, ``data/broden1_224``; for ``weights="imagenet"``, torchvision's
    ResNet18 weights (downloaded now when there is a network); for ``cifar="real"``, both
    CIFAR-100 splits in ``data/cifar-100-python`` (downloaded now likewise). Every missing input
    is reported at once. The notebook runner calls this before the first notebook, and
    notebook 01 in its set-up cell. ``data``: the data folder (default :func:`data_dir`).

    Raises:
        FileNotFoundError: naming each missing input, where it was looked for, its URL and how to
            get it.
    """
    data = Path(data) if data is not None else data_dir()
    problems = []
    if profile.broden == "real":
        try:
            check_broden_layout(data / BRODEN_FOLDER)  # every file index.csv names
        except (FileNotFoundError, ValueError) as exc:
            problems.append(f"Broden: {exc}")
    if profile.weights == "imagenet":
        try:
            create_model("resnet18", weights="imagenet")
        except RuntimeError as exc:
            problems.append(f"ImageNet weights: {exc}")
    if profile.cifar == "real":
        try:
            load_cifar100(data, train=True)
            load_cifar100(data, train=False)
        except RuntimeError as exc:
            problems.append(f"CIFAR-100: {exc}")
    if problems:
        listed = "\n".join(f"{i}. {p}" for i, p in enumerate(problems, 1))
        raise FileNotFoundError(
            f"profile {profile.name!r} reads real data, and {len(problems)} of its inputs "
            f"{'is' if len(problems) == 1 else 'are'} not usable; nothing was run:\n{listed}"
        )


def broden(profile: Profile, progress: bool = True) -> BrodenDataset:
    """The Broden data set of the profile: the real ``data/broden1_224`` or a generated one.

    A generated Broden is written once to ``data/broden_synthetic_<size>px_<n>`` and reused.
    """
    if profile.broden == "real":
        return BrodenDataset(data_dir() / BRODEN_FOLDER)
    root = data_dir() / f"broden_synthetic_{profile.image_size}px_{profile.broden_images}"
    if not (root / "index.csv").exists():
        make_synthetic_broden(
            root, profile.broden_images, size=profile.image_size, seed=0, progress=progress
        )
    return BrodenDataset(root)


def embedding_loader(profile: Profile, dataset: BrodenDataset) -> DataLoader:
    """Broden's images (:class:`~skdlib.dissect.BrodenImages`) shuffled in the profile's batches,
    decoded by ``profile.workers`` processes (``None``: :func:`skdlib.loaders.default_workers`).

    Returns:
        A ``DataLoader`` of float batches ``(B, 3, H, W)``, ImageNet-normalised.
    """
    return make_loader(
        BrodenImages(dataset),
        profile.batch_size,
        shuffle=True,
        workers=profile.workers,
        device=profile.device,
    )


def vector_snapshots(profile: Profile, loader: DataLoader, count: int = 40) -> VectorSnapshots:
    """A :class:`~skdlib.embedding.VectorSnapshots` taking about ``count`` copies over the
    profile's embedding run, from which notebook 04 draws the KL curves of Fig. 4."""
    cfg = profile.embedding
    steps = cfg.steps if cfg.mode == "dataset_mean" else cfg.epochs * len(loader)
    return VectorSnapshots(every=max(1, steps // count))


def display_set(dataset: BrodenDataset, n: int) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` images spread evenly over ``dataset``, for figures and the explorer.

    Returns:
        ``(images, display)``: normalised ``(n, 3, H, W)`` model inputs and ``(n, H, W, 3)``
        uint8 pictures of the same images.
    """
    picks = np.linspace(0, len(dataset) - 1, min(n, len(dataset))).round().astype(int)
    normalised = BrodenImages(dataset)
    images = torch.stack([normalised[int(i)] for i in picks])
    return images, to_display(images)


def distillation_config(profile: Profile, out: OutputFolder) -> dict:
    """The Table-1 job of notebook 05 for ``profile`` (see :func:`skdlib.distill.run_table1`).

    One teacher/student pair, the profile's methods, ``profile.trials`` seeds each; CIFAR-100
    under the CRD protocol in ``paper``, the generated stand-in otherwise. Results go to
    ``out.path("distillation")``.
    Its folders are given relative to the working directory (``../runs/quick/distillation`` from
    ``notebooks/``), so the job, as a notebook shows it, names no folder of the machine it ran on.
    """
    synthetic = profile.cifar == "synthetic"
    return {
        "name": "Static distillation" + (" on the synthetic stand-in" if synthetic else ""),
        "out": os.path.relpath(out.path("distillation")),
        "data": "synthetic" if synthetic else "cifar100",
        "data_root": os.path.relpath(data_dir()),
        "train_per_class": profile.cifar_per_class if synthetic else None,
        "test_per_class": max(1, profile.cifar_per_class // 2) if synthetic else None,
        "pairs": [[profile.teacher_arch, profile.student_arch]],
        "methods": list(profile.methods),
        "trials": profile.trials,
        "teacher_config": {"epochs": profile.teacher_epochs},
        "student_config": {"epochs": profile.student_epochs},
        "embedding": profile.teacher_embedding.to_dict(),
        "device": profile.device,
        "workers": default_workers() if profile.workers is None else profile.workers,
    }


def distillation_batches(config: dict, n: int = 4, seed: int = 0) -> list:
    """The first ``n`` training batches of a :func:`distillation_config` job, as its students see
    them (CRD augmentation, the students' batch size), on the job's device; seeded.

    Returns:
        ``[(images (B, 3, 32, 32), labels (B,)), ...]``.
    """
    job = Table1Config.from_dict(config)
    train = load_split(job.data, True, job.data_root, job.train_per_class, job.data_seed)
    batch_size = job.student_run("none", 0).batch_size
    torch.manual_seed(seed)
    loader = cifar_loader(train, batch_size, True, job.device, job.pipeline, workers=job.workers)
    return list(itertools.islice(loader, n))


def _data_info(dataset, profile: Profile) -> dict:
    """What the embedding was trained on: recorded, and part of its checkpoint's identity."""
    info: dict = {"images": len(dataset), "weights": profile.weights}
    broden = getattr(dataset, "broden", None)
    if broden is not None:
        info["data"] = broden.root.name
    return info


def train_embedding(
    profile: Profile,
    model: nn.Module,
    loader,
    checkpoint: Path | None = None,
    callbacks: list[Callback] = (),
) -> NeuronEmbedding:
    """Embed ``model``'s neurons at ``profile.layers`` with ``profile.embedding``
    (:meth:`EmbeddingTrainer.train`: ``minibatch`` is the paper's procedure, checkpointed to
    ``checkpoint`` and resumable; ``dataset_mean`` fits the same objective exactly from one
    forward pass).
    """
    trainer = EmbeddingTrainer(
        model,
        list(profile.layers),
        profile.embedding,
        device=profile.device,
        arch="resnet18",
        data_info=_data_info(loader.dataset, profile),
    )
    return trainer.train(loader, checkpoint=checkpoint, callbacks=callbacks)
