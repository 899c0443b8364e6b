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

from ..data import make_synthetic_broden, to_display
from ..dissect import BRODEN_FOLDER, BrodenDataset, BrodenImages
from ..distill import DistillConfig, Table1Config
from ..distill.cifar import load_split, make_loader
from ..embedding import Callback, EmbeddingConfig, EmbeddingTrainer, NeuronEmbedding
from .outputs import OutputFolder, project_root
from .profiles import Profile

__all__ = [
    "data_dir",
    "check_paper_inputs",
    "broden",
    "display_set",
    "distillation_config",
    "distillation_batches",
    "train_embedding",
]


def data_dir() -> Path:
    """``data/`` in the project root (see :func:`skdlib.tutorial.project_root`)."""
    return project_root() / "data"


def check_paper_inputs(profile: Profile) -> None:
    """Fail fast in the ``paper`` profile when Broden is missing (before any long step).

    Raises:
        FileNotFoundError: naming the folder looked for, the download URL and the helper command.
    """
    if profile.broden == "real":
        BrodenDataset(data_dir() / BRODEN_FOLDER)


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
        "pairs": [[profile.teacher, profile.student]],
        "methods": list(profile.methods),
        "trials": profile.trials,
        "teacher": {"epochs": profile.teacher_epochs},
        "student": {"epochs": profile.student_epochs},
        "embedding": {  # offline: a few Adam epochs converge on the small stand-in
            "epochs": 3 if synthetic else profile.embed_epochs,
            "optimizer": profile.embed_optimizer,
            "lr": profile.embed_lr,
        },
        "device": profile.device,
    }


def distillation_batches(config: dict, n: int = 4, seed: int = 0) -> list:
    """The first ``n`` training batches of a :func:`distillation_config` job, as its students see
    them (CRD augmentation, the students' batch size), on the job's device; seeded.

    Returns:
        ``[(images (B, 3, 32, 32), labels (B,)), ...]``.
    """
    job = Table1Config.from_dict(config)
    train = load_split(job.data, True, job.data_root, job.train_per_class, job.data_seed)
    batch_size = DistillConfig.from_dict(job.student).batch_size
    torch.manual_seed(seed)
    loader = make_loader(train, batch_size, True, job.device, job.pipeline, workers=job.workers)
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
    """Embed ``model``'s neurons at ``profile.layers`` the profile's way (``embed_mode``).

    ``minibatch`` is the paper's procedure (:meth:`EmbeddingTrainer.fit`, checkpointed to
    ``checkpoint`` and resumable); ``dataset_mean`` fits the same objective exactly from one
    forward pass (:meth:`EmbeddingTrainer.fit_dataset_mean`).
    """
    config = EmbeddingConfig(
        epochs=profile.embed_epochs, optimizer=profile.embed_optimizer, lr=profile.embed_lr
    )
    trainer = EmbeddingTrainer(
        model,
        list(profile.layers),
        config,
        device=profile.device,
        arch="resnet18",
        data_info=_data_info(loader.dataset, profile),
    )
    if profile.embed_mode == "dataset_mean":
        return trainer.fit_dataset_mean(loader, steps=profile.embed_steps, callbacks=callbacks)
    return trainer.fit(loader, checkpoint=checkpoint, callbacks=callbacks)
