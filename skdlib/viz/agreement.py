"""Do semantic neighbours fire on the same pixels? The figures' claims as numbers over a layer.

A figure shows a handful of neurons; these measures cover them all. Each unit's mask is where it
fires above its ``quantile`` over the shown images (:func:`unit_masks`); agreement is the IoU of
masks summed over images (:func:`mask_iou`), compared with random partners as the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..embedding import NeuronEmbedding

__all__ = ["unit_masks", "mask_iou", "neighbour_agreement", "additive_agreement"]


def unit_masks(maps: torch.Tensor, quantile: float = 0.9) -> torch.Tensor:
    """Where each unit fires: ``maps > `` its ``quantile`` over all images and positions.

    Args:
        maps: ``(N, C, h, w)``.

    Returns:
        ``(N, C, h, w)`` bool. (A NetDissect-style mask at the maps' own resolution.)
    """
    flat = maps.transpose(0, 1).reshape(maps.shape[1], -1).float()
    thresholds = torch.quantile(flat, quantile, dim=1)
    return maps > thresholds.view(1, -1, 1, 1)


def mask_iou(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """IoU of boolean masks summed over images: ``|x ∩ y| / |x ∪ y|`` along all but dim 1.

    Args:
        x, y: ``(N, P, h, w)`` bool, ``P`` pairs compared position by position.

    Returns:
        ``(P,)`` float; 0 where both masks are empty.
    """
    inter = (x & y).flatten(2).sum((0, 2)).double()
    union = (x | y).flatten(2).sum((0, 2)).double()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(union))


def neighbour_agreement(
    emb: NeuronEmbedding, layer: str, maps: torch.Tensor, quantile: float = 0.9, seed: int = 0
) -> dict[str, float]:
    """Do semantic neighbours fire on the same pixels? Mean mask IoU over all units of a layer.

    Compares every unit with its nearest neuron by semantic vector, and with a random other unit
    (the baseline). Masks from :func:`unit_masks`.

    Returns:
        ``{"nearest": mean IoU, "random": mean IoU}``.
    """
    masks = unit_masks(maps, quantile)
    c = masks.shape[1]
    nearest = [emb.nearest(layer, u, k=1)[0][0] for u in range(c)]
    g = torch.Generator().manual_seed(seed)
    other = (torch.arange(c) + torch.randint(1, c, (c,), generator=g)) % c
    return {
        "nearest": float(mask_iou(masks, masks[:, nearest]).mean()),
        "random": float(mask_iou(masks, masks[:, other]).mean()),
    }


def additive_agreement(
    emb: NeuronEmbedding,
    layer: str,
    maps: torch.Tensor,
    pairs: Sequence[tuple[int, int]],
    quantile: float = 0.9,
    seed: int = 0,
) -> dict[str, float]:
    """Does ``c = nearest(s_a + s_b)`` fire where a or b fire? Mean IoU of ``M_c`` with
    ``M_a ∪ M_b`` over ``pairs``, against a random c.

    Returns:
        ``{"additive": mean IoU, "random": mean IoU}``.
    """
    masks = unit_masks(maps, quantile)
    a, b = (list(t) for t in zip(*pairs, strict=True))
    c = [emb.additive(layer, i, j, k=1)[0][0] for i, j in pairs]
    g = torch.Generator().manual_seed(seed)
    rand = torch.randint(0, masks.shape[1], (len(pairs),), generator=g).tolist()
    union = masks[:, a] | masks[:, b]
    return {
        "additive": float(mask_iou(union, masks[:, c]).mean()),
        "random": float(mask_iou(union, masks[:, rand]).mean()),
    }
