"""Activations for the figures: one forward pass over the shown images, and which units and
images to show.

All figures take precomputed activations (from :func:`collect_activations`), so one pass serves
every figure::

    acts = collect_activations(model, ["layer4"], images)           # {layer: (N, C, h, w)}
    fig = plot_neighbours(emb, "layer4", [17, 40], display, acts["layer4"], k=3)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ..hooks import capture
from ..runtime import eval_mode, resolve_device

__all__ = ["collect_activations", "top_images", "shared_top_images", "most_active_units"]


@torch.no_grad()
def collect_activations(
    model: nn.Module,
    layers: Sequence[str],
    images: torch.Tensor | Iterable,
    device: str | torch.device | None = None,
    batch_size: int = 64,
) -> dict[str, torch.Tensor]:
    """Run ``model`` (eval mode) over ``images`` and keep the named layers' outputs on the CPU.

    Args:
        images: ``(N, 3, H, W)`` preprocessed tensor, or an iterable of such batches (or of
            ``(images, targets)`` pairs, e.g. a DataLoader).

    Returns:
        ``{layer: (N, C, h, w)}`` float tensors.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3))
        >>> collect_activations(net, ["0"], torch.rand(2, 3, 5, 5))["0"].shape
        torch.Size([2, 4, 3, 3])
    """
    device = resolve_device(device)
    if isinstance(images, torch.Tensor):
        images = images.split(batch_size)
    model.to(device)
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    with eval_mode(model), capture(model, layers, detach=True) as acts:
        for batch in images:
            x = batch[0] if isinstance(batch, (list, tuple)) else batch
            model(x.to(device))
            for name in layers:
                parts[name].append(acts[name].float().cpu())
    return {name: torch.cat(chunks) for name, chunks in parts.items()}


def top_images(maps: torch.Tensor, unit: int, n: int = 1) -> list[int]:
    """Indices of the ``n`` images on which ``unit`` reaches its highest activation.

    Args:
        maps: ``(N, C, h, w)`` activations of one layer.

    Example:
        >>> m = torch.zeros(3, 2, 1, 1); m[2, 1] = 5
        >>> top_images(m, 1)
        [2]
    """
    peak = maps[:, unit].flatten(1).amax(1)
    return peak.topk(min(n, len(peak))).indices.tolist()


def shared_top_images(maps: torch.Tensor, units: Sequence[int], n: int = 1) -> list[int]:
    """The ``n`` images on which all of ``units`` fire together most strongly.

    Each unit's peak on an image is divided by its highest peak over all images, so every unit
    scores in ``[0, 1]`` whatever its scale; an image scores the *smallest* of these over the
    units: high only where every unit fires. A figure of a neuron and its neighbours drawn on
    such an image shows whether they light up the same regions, instead of showing neighbours
    that stay dark on the query's own favourite image.

    Args:
        maps: ``(N, C, h, w)`` activations of one layer; units: the units shown together.

    Example:
        >>> m = torch.zeros(3, 2, 1, 1); m[0, 0] = 9; m[1] = 1; m[2, 1] = 3
        >>> shared_top_images(m, [0, 1]), top_images(m, 0)
        ([1], [0])
    """
    peak = maps[:, list(units)].flatten(2).amax(2).float()  # (N, U)
    scale = peak.amax(0).clamp_min(1e-12)
    score = (peak / scale).amin(1)
    return score.topk(min(n, len(score))).indices.tolist()


def most_active_units(maps: torch.Tensor, n: int) -> list[int]:
    """The ``n`` units with the highest peak activation over the shown images.

    Example:
        >>> m = torch.zeros(2, 3, 1, 1); m[0, 2] = 4; m[1, 0] = 2
        >>> most_active_units(m, 2)
        [2, 0]
    """
    peak = maps.flatten(2).amax(2).amax(0)
    return peak.topk(min(n, len(peak))).indices.tolist()
