"""Image normalisation: uint8 pixels to model inputs and back, with each model's statistics.

A model sees ``(x / 255 - mean) / std`` per channel. Torchvision's ImageNet models use the
statistics below (:data:`IMAGENET_MEAN`, :data:`IMAGENET_STD`); the CRD CIFAR models use
CIFAR-100's (:data:`skdlib.distill.cifar.CIFAR100_MEAN`). Every reader, dataset and figure in
skdlib goes through these two functions.

Example:
    >>> x = torch.tensor([[[[0, 128]], [[64, 255]], [[255, 1]]]], dtype=torch.uint8)
    >>> bool((denormalise_uint8(normalise_uint8(x, IMAGENET_MEAN, IMAGENET_STD),
    ...                         IMAGENET_MEAN, IMAGENET_STD) == x).all())
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "normalise_uint8", "denormalise_uint8", "to_display"]

#: Per-channel RGB mean and std of ImageNet, as torchvision's pretrained models expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Stats = Sequence[float] | torch.Tensor


def _channel_stats(
    mean: Stats, std: Stats, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``mean`` and ``std`` as float32 ``(C, 1, 1)`` tensors on ``like``'s device (no copy when
    they already are, e.g. a loader's cached ``(1, C, 1, 1)`` tensors)."""

    def as_column(stats: Stats) -> torch.Tensor:
        t = torch.as_tensor(stats, dtype=torch.float32, device=like.device)
        return t.view(-1, 1, 1)

    return as_column(mean), as_column(std)


def normalise_uint8(images: torch.Tensor, mean: Stats, std: Stats) -> torch.Tensor:
    """``(..., C, H, W)`` uint8 pixels -> float32 ``(x / 255 - mean) / std`` (ToTensor+Normalize).

    Args:
        images: one image ``(C, H, W)`` or a batch ``(B, C, H, W)``, any integer dtype.
        mean, std: ``C`` values each, or tensors of ``C`` elements (e.g. ``(1, C, 1, 1)``).

    Example:
        >>> normalise_uint8(torch.zeros(3, 1, 1, dtype=torch.uint8), IMAGENET_MEAN, IMAGENET_STD)
        tensor([[[-2.1179]],
        <BLANKLINE>
                [[-2.0357]],
        <BLANKLINE>
                [[-1.8044]]])
    """
    mean_t, std_t = _channel_stats(mean, std, images)
    return images.to(torch.float32).div_(255.0).sub_(mean_t).div_(std_t)


def denormalise_uint8(images: torch.Tensor, mean: Stats, std: Stats) -> torch.Tensor:
    """Undo :func:`normalise_uint8`: ``(..., C, H, W)`` float -> uint8, rounded and clipped.

    Example:
        >>> stats = (0.5,) * 3, (0.2,) * 3
        >>> x = normalise_uint8(torch.full((3, 1, 1), 200, dtype=torch.uint8), *stats)
        >>> denormalise_uint8(x, *stats).flatten().tolist()
        [200, 200, 200]
    """
    mean_t, std_t = _channel_stats(mean, std, images)
    pixels = (images.float() * std_t + mean_t).mul_(255.0)
    return pixels.round_().clamp_(0, 255).to(torch.uint8)


def to_display(
    images: torch.Tensor, mean: Stats = IMAGENET_MEAN, std: Stats = IMAGENET_STD
) -> np.ndarray:
    """Normalised ``(N, 3, H, W)`` model inputs as ``(N, H, W, 3)`` uint8 pictures.

    Example:
        >>> to_display(torch.zeros(1, 3, 2, 2)).shape
        (1, 2, 2, 3)
    """
    pixels = denormalise_uint8(images.detach().cpu(), mean, std)
    return pixels.permute(0, 2, 3, 1).numpy()
