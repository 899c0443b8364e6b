"""torchvision models with their published weights, and a clear message when they cannot load."""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision

__all__ = ["load_torchvision_model"]


def load_torchvision_model(name: str, weights: str) -> torch.nn.Module:
    """A torchvision classification model with ``weights`` = ``"none"`` or ``"imagenet"``.

    ImageNet weights are downloaded by torchvision into ``$TORCH_HOME/hub/checkpoints``; without
    network access this raises a ``RuntimeError`` naming the URL and where to put the file.

    Example:
        >>> load_torchvision_model("resnet18", "none").fc.out_features
        1000
    """
    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError as exc:
        raise ValueError(f"unknown torchvision model {name!r}: {exc}") from exc
    if weights == "none":
        return builder(weights=None)
    if weights != "imagenet":
        raise ValueError(f"weights must be 'none' or 'imagenet', got {weights!r}")
    enum = torchvision.models.get_model_weights(name).DEFAULT
    try:
        return builder(weights=enum)
    except Exception as exc:  # noqa: BLE001 - any download failure gets the same advice
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise RuntimeError(
            f"could not load the ImageNet weights of {name} ({exc}). Download {enum.url} and put "
            f"it in {cache}/, or run with --weights none."
        ) from exc
