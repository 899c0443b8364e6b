"""Top-1 / top-5 accuracy and cross-entropy of a classifier over a data loader, and the check
that an epoch of training left everything finite."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import eval_mode, model_device, resolve_device

__all__ = ["evaluate", "check_finite_epoch"]


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


def check_finite_epoch(model: nn.Module, row: Mapping[str, float], epoch: int, run: str) -> None:
    """Raise ``FloatingPointError`` if an epoch diverged: a non-finite ``train_loss`` or
    ``test_loss`` in ``row``, or NaN/inf in the model's weights or batch-norm statistics.

    Called before the epoch is recorded, checkpointed or saved, so a diverged run leaves the last
    good epoch on disk and is never marked complete.

    Example:
        >>> check_finite_epoch(nn.Linear(2, 2), {"train_loss": 1.0, "test_loss": 2.0}, 1, "x")
        >>> row = {"train_loss": float("nan"), "test_loss": 2.0, "lr": 0.05}
        >>> try:
        ...     check_finite_epoch(nn.Linear(2, 2), row, 3, "kd resnet20")
        ... except FloatingPointError as exc:
        ...     print(str(exc)[:62])
        kd resnet20: training diverged in epoch 3 (loss nan, test loss
    """
    state = [t for t in model.state_dict().values() if t.is_floating_point()]
    finite = all(bool(torch.isfinite(t).all()) for t in state)
    if finite and math.isfinite(row["train_loss"]) and math.isfinite(row["test_loss"]):
        return
    raise FloatingPointError(
        f"{run}: training diverged in epoch {epoch} (loss {row['train_loss']}, test loss "
        f"{row['test_loss']}, finite weights: {finite}); not saved. Lower the learning rate "
        f"(now {row.get('lr', float('nan')):g}) and run again: it resumes from the last good "
        "epoch's checkpoint"
    )
