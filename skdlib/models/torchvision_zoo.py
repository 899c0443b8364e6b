"""torchvision's ImageNet classifiers, with random or published weights.

The published weights are downloaded by torchvision into ``$TORCH_HOME/hub/checkpoints`` on first
use; without network access :func:`load_torchvision_model` says which file to fetch and where to
put it. Call it through :func:`skdlib.models.create_model`, which also records the name.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision

__all__ = ["is_torchvision_model", "load_torchvision_model"]


def is_torchvision_model(name: str) -> bool:
    """Whether torchvision has a classification model ``name``.

    Example:
        >>> is_torchvision_model("resnet18"), is_torchvision_model("resnet8x4")
        (True, False)
    """
    return name in torchvision.models.list_models(module=torchvision.models)


def load_torchvision_model(
    name: str, weights: str = "none", num_classes: int | None = None
) -> torch.nn.Module:
    """A torchvision classification model with ``weights`` = ``"none"`` or ``"imagenet"``.

    ``num_classes`` other than the 1000 ImageNet classes gives a freshly initialised head and
    needs ``weights="none"``.

    Example:
        >>> load_torchvision_model("resnet18").fc.out_features
        1000
    """
    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError as exc:
        raise ValueError(f"unknown torchvision model {name!r}: {exc}") from exc
    if weights == "none":
        return builder(weights=None) if num_classes is None else builder(num_classes=num_classes)
    if weights != "imagenet":
        raise ValueError(f"weights must be 'none' or 'imagenet', got {weights!r}")
    if num_classes not in (None, 1000):
        raise ValueError(f"ImageNet weights have 1000 outputs, not {num_classes}")
    enum = torchvision.models.get_model_weights(name).DEFAULT
    try:
        return builder(weights=enum)
    except Exception as exc:  # noqa: BLE001 - any download failure gets the same advice
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise RuntimeError(
            f"could not load the ImageNet weights of {name} ({exc}). Download {enum.url} and put "
            f"it in {cache}/, or run with --weights none."
        ) from exc
