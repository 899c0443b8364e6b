"""The tutorial's set-up steps, one function per step, each following the chosen profile.

The notebooks stay thin by calling these: which network to study, which Broden to read, which
images to show. In the ``paper`` profile they load the real things (ImageNet weights, Broden 224,
CIFAR-100) and stop at once with a message naming the missing file, its URL and where to put it;
in ``quick`` and ``smoke`` they build the offline stand-ins, once, and reuse them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

from .data import CONCEPTS, SyntheticConceptImages, make_synthetic_broden
from .dissect import BRODEN_FOLDER, BrodenDataset, BrodenImages
from .embedding import Callback, EmbeddingConfig, EmbeddingTrainer, NeuronEmbedding
from .pretrain import load_or_train
from .pretrained import load_torchvision_model
from .profiles import Profile
from .runs import RunDir, project_root
from .viz import to_display

__all__ = [
    "data_dir",
    "check_paper_inputs",
    "studied_network",
    "broden",
    "display_set",
    "distillation_config",
    "train_embedding",
]

#: Seed of the concept pre-training images; the generated Broden uses seed 0, so the network is
#: dissected on images it never saw.
PRETRAIN_SEED = 1000


def data_dir() -> Path:
    """``data/`` in the project root (see :func:`skdlib.runs.project_root`)."""
    return project_root() / "data"


def check_paper_inputs(profile: Profile) -> None:
    """Fail fast in the ``paper`` profile when Broden is missing (before any long step).

    Raises:
        FileNotFoundError: naming the folder looked for, the download URL and the helper command.
    """
    if profile.broden == "real":
        BrodenDataset(data_dir() / BRODEN_FOLDER)


def studied_network(profile: Profile, run: RunDir, progress: bool = True) -> nn.Module:
    """The ResNet18 whose neurons the tutorial studies, in eval mode.

    ``weights="imagenet"``: torchvision's ImageNet weights (downloaded on first use; a clear
    error offline). ``weights="concepts"``: a ResNet18 with one output per synthetic concept,
    trained by :func:`skdlib.pretrain.train_concept_classifier` on
    ``profile.pretrain_images`` scenes and cached in ``run.path("network.pt")``.
    """
    if profile.weights == "imagenet":
        return load_torchvision_model("resnet18", "imagenet").eval()
    if profile.weights != "concepts":
        raise ValueError(f"profile {profile.name!r}: unknown weights {profile.weights!r}")
    torch.manual_seed(PRETRAIN_SEED)
    model = torchvision.models.resnet18(num_classes=len(CONCEPTS))
    images = SyntheticConceptImages(
        profile.pretrain_images, size=profile.image_size, seed=PRETRAIN_SEED, targets="concepts"
    )
    model, _ = load_or_train(
        model,
        run.path("network.pt"),
        {
            "dataset": images,
            "epochs": profile.pretrain_epochs,
            "batch_size": profile.batch_size,
            "seed": PRETRAIN_SEED,
            "device": profile.device,
            "progress": progress,
        },
    )
    return model.eval()


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


def distillation_config(profile: Profile, run: RunDir) -> dict:
    """The Table-1 job of notebook 05 for ``profile`` (see :func:`skdlib.table1.run_table1`).

    One teacher/student pair, the profile's methods, one trial; CIFAR-100 under the CRD protocol
    in ``paper``, the generated stand-in otherwise. Results go to ``run.path("distillation")``.
    """
    synthetic = profile.cifar == "synthetic"
    return {
        "name": "Static distillation" + (" on the synthetic stand-in" if synthetic else ""),
        "out": str(run.path("distillation")),
        "data": "synthetic" if synthetic else "cifar100",
        "data_root": str(data_dir()),
        "train_per_class": profile.cifar_per_class if synthetic else None,
        "test_per_class": max(1, profile.cifar_per_class // 2) if synthetic else None,
        "pairs": [[profile.teacher, profile.student]],
        "methods": list(profile.methods),
        "trials": 1,
        "teacher": {"epochs": profile.teacher_epochs},
        "student": {"epochs": profile.student_epochs},
        "embedding": {  # offline: a few Adam epochs converge on the small stand-in
            "epochs": 3 if synthetic else profile.embed_epochs,
            "optimizer": profile.embed_optimizer,
            "lr": profile.embed_lr,
        },
        "device": profile.device,
    }


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
        data_info={"images": len(loader.dataset), "weights": profile.weights},
    )
    if profile.embed_mode == "dataset_mean":
        return trainer.fit_dataset_mean(loader, steps=profile.embed_steps, callbacks=callbacks)
    return trainer.fit(loader, checkpoint=checkpoint, callbacks=callbacks)
