"""The network whose neurons the tutorial studies: torchvision's ResNet18 with its published
weights, or — offline — one trained here to recognise the synthetic concepts.

ImageNet weights cannot be fetched offline (:func:`skdlib.models.create_model` says where to put
the file), and a randomly initialised network has no concept-selective units to embed or dissect.
:func:`train_concept_classifier` trains a torchvision classifier briefly on synthetic concept
scenes (:mod:`skdlib.data`) with a multi-label objective — "which colours, shapes, parts, texture
and scene are in this image" — so its units become selective for the same concepts the generated
Broden labels. :func:`studied_network` picks one or the other for a profile.

Example::

    model = create_model("resnet18", num_classes=len(CONCEPTS))
    data = SyntheticConceptImages(2000, size=112, seed=1, targets="concepts")
    history = train_concept_classifier(model, data, epochs=3)
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .. import filenames
from ..checkpoint import atomic_save, load_artifact
from ..data import CONCEPTS, SyntheticConceptImages
from ..loaders import make_loader
from ..models import create_model
from ..progress import tqdm
from ..runtime import resolve_device
from .outputs import OutputFolder
from .profiles import Profile

__all__ = [
    "PRETRAIN_SEED",
    "train_concept_classifier",
    "multilabel_scores",
    "load_or_train",
    "studied_network",
    "random_network",
]

#: Seed of the concept pre-training images; the generated Broden uses seed 0, so the network is
#: dissected on images it never saw.
PRETRAIN_SEED = 1000


def multilabel_scores(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Mean per-image accuracy of thresholded sigmoids and the exact-match rate.

    Args:
        logits: ``(N, L)``; targets: ``(N, L)`` multi-hot.

    Example:
        >>> multilabel_scores(torch.tensor([[3.0, -3.0]]), torch.tensor([[1.0, 0.0]]))
        {'label_accuracy': 1.0, 'exact_match': 1.0}
    """
    pred = logits > 0
    truth = targets > 0.5
    return {
        "label_accuracy": float((pred == truth).float().mean()),
        "exact_match": float((pred == truth).all(1).float().mean()),
    }


def train_concept_classifier(
    model: nn.Module,
    dataset: Dataset,
    epochs: int = 3,
    batch_size: int = 64,
    lr: float = 1e-3,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` (its output has one logit per concept) with binary cross-entropy.

    Adam with a cosine learning-rate decay over all steps; the model ends in eval mode.

    Args:
        model: e.g. ``torchvision.models.resnet18(num_classes=len(CONCEPTS))``.
        dataset: yields ``(image (3, H, W), multi-hot (L,))``, e.g.
            ``SyntheticConceptImages(n, targets="concepts")``.

    Returns:
        ``{"loss": [...], "label_accuracy": [...]}`` per epoch (training batches).
    """
    device = resolve_device(device)
    loader = make_loader(
        dataset, batch_size, shuffle=True, seed=seed, drop_last=len(dataset) > batch_size,
        device=device,
    )  # fmt: skip
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(loader))
    history: dict[str, list[float]] = {"loss": [], "label_accuracy": []}
    for epoch in tqdm(
        range(epochs), desc="concept pretraining", unit="epoch", disable=not progress
    ):
        total, correct, count = 0.0, 0.0, 0
        for images, targets in tqdm(
            loader, desc=f"epoch {epoch + 1}", leave=False, disable=not progress
        ):
            images, targets = images.to(device), targets.to(device).float()
            logits = model(images)
            if logits.shape != targets.shape:
                raise ValueError(
                    f"model outputs {tuple(logits.shape)} but targets are "
                    f"{tuple(targets.shape)}: give the model one output per concept"
                )
            loss = F.binary_cross_entropy_with_logits(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(images)
            correct += float(((logits.detach() > 0) == (targets > 0.5)).float().mean()) * len(
                images
            )
            count += len(images)
        history["loss"].append(total / count)
        history["label_accuracy"].append(correct / count)
    model.eval()
    return history


def load_or_train(
    model: nn.Module, path: str | os.PathLike, train_kwargs: dict
) -> tuple[nn.Module, dict]:
    """Load ``model``'s weights from ``path`` if it exists, else train and save them atomically.

    ``train_kwargs`` go to :func:`train_concept_classifier` (``dataset`` included) and are stored
    beside the weights; a file written with other settings is retrained rather than reused.

    Returns:
        ``(model, info)`` where ``info`` holds the training history and settings.
    """
    path = Path(path)
    settings = {k: v for k, v in train_kwargs.items() if isinstance(v, (int, float, str))}
    dataset = train_kwargs["dataset"]
    settings["dataset"] = f"{type(dataset).__name__}(n={len(dataset)})"
    if path.exists():
        state = load_artifact(path, "pretrained weights")
        if state.get("settings") == settings:
            model.load_state_dict(state["model"])
            return model.eval(), {"history": state["history"], "settings": settings}
    history = train_concept_classifier(model, **train_kwargs)
    atomic_save({"model": model.state_dict(), "history": history, "settings": settings}, path)
    return model, {"history": history, "settings": settings}


def studied_network(profile: Profile, out: OutputFolder, progress: bool = True) -> nn.Module:
    """The ResNet18 whose neurons the tutorial studies, in eval mode.

    ``weights="imagenet"``: torchvision's ImageNet weights (downloaded on first use; a clear
    error offline). ``weights="concepts"``: a ResNet18 with one output per synthetic concept,
    trained by :func:`train_concept_classifier` on
    ``profile.pretrain_images`` scenes and cached in ``out.path("network.pt")``.
    """
    if profile.weights == "imagenet":
        return create_model("resnet18", weights="imagenet").eval()
    if profile.weights != "concepts":
        raise ValueError(f"profile {profile.name!r}: unknown weights {profile.weights!r}")
    torch.manual_seed(PRETRAIN_SEED)
    model = create_model("resnet18", num_classes=len(CONCEPTS))
    images = SyntheticConceptImages(
        profile.pretrain_images, size=profile.image_size, seed=PRETRAIN_SEED, targets="concepts"
    )
    model, _ = load_or_train(
        model,
        out.path(filenames.NETWORK),
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


def random_network(profile: Profile, seed: int = 0) -> nn.Module:
    """The studied network's architecture with random weights (seeded), in eval mode.

    Network Dissection's classic control: dissected under the same settings, a network that
    learned nothing shows how many units pass the IoU rule by chance. It has the same outputs as
    :func:`studied_network` (``len(CONCEPTS)`` for ``weights="concepts"``, 1000 otherwise).

    Example:
        >>> from skdlib.tutorial import get_profile
        >>> random_network(get_profile("smoke")).fc.out_features
        52
    """
    classes = len(CONCEPTS) if profile.weights == "concepts" else 1000
    torch.manual_seed(seed)
    return create_model("resnet18", num_classes=classes).eval()
