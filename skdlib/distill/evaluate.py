"""Top-1 / top-5 accuracy and cross-entropy of a classifier over a data loader."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import eval_mode, model_device, resolve_device

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable, device: str | torch.device | None = None
) -> dict[str, float]:
    """Top-1 / top-5 accuracy (%) and mean cross-entropy of ``model`` over ``loader``.

    The model is put in eval mode and restored afterwards.

    Args:
        model: maps ``(B, 3, H, W)`` to ``(B, K)`` logits.
        loader: iterable of ``(images, targets)``.

    Returns:
        ``{"top1", "top5", "loss", "n"}``.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
        >>> r = evaluate(net, [(torch.zeros(4, 3, 2, 2), torch.zeros(4, dtype=torch.long))])
        >>> r["n"], r["top5"]
        (4, 100.0)
    """
    device = resolve_device(device) if device is not None else model_device(model)
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    n = 0
    with eval_mode(model):
        for images, targets in loader:
            images = images.to(device, non_blocking=True)
            targets = targets.to(device, non_blocking=True)
            logits = model(images)
            k = min(5, logits.shape[1])
            top = logits.topk(k, dim=1).indices
            hit = top == targets[:, None]
            sums += torch.stack(
                [
                    hit[:, 0].sum(),
                    hit.any(1).sum(),
                    F.cross_entropy(logits, targets, reduction="sum"),
                ]
            ).double()
            n += targets.shape[0]
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    top1, top5, loss = (sums / n).tolist()
    return {"top1": 100.0 * top1, "top5": 100.0 * top5, "loss": loss, "n": n}
