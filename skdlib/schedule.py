"""The epoch schedule shared by every training loop: step decay of the learning rate, and the
per-epoch seeds that make an interrupted and resumed run draw exactly what an uninterrupted one
draws.

Both the paper's embedding (lr x0.1 at 50/75/90 of 100 epochs) and the CRD protocol (x0.1 at
150/180/210 of 240) decay at fixed *fractions* of the run, so the schedule keeps its shape when a
short run scales the number of epochs down.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

__all__ = ["milestone_epochs", "step_decay", "epoch_seed"]


def milestone_epochs(fractions: Sequence[float], epochs: int) -> list[int]:
    """Epochs after which the learning rate decays, from fractions of ``epochs``.

    Example:
        >>> milestone_epochs((0.625, 0.75, 0.875), 240), milestone_epochs((0.5, 0.75, 0.9), 4)
        ([150, 180, 210], [2, 3, 4])
    """
    return sorted({max(1, round(f * epochs)) for f in fractions})


def step_decay(
    optimizer: torch.optim.Optimizer, fractions: Sequence[float], epochs: int, factor: float
) -> torch.optim.lr_scheduler.MultiStepLR:
    """A scheduler (stepped once per epoch) that multiplies the lr by ``factor`` at
    :func:`milestone_epochs`.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = step_decay(opt, (0.5,), 4, 0.1)
        >>> for _ in range(2):
        ...     opt.step(); sched.step()
        >>> opt.param_groups[0]["lr"]
        0.1
    """
    return torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=milestone_epochs(fractions, epochs), gamma=factor
    )


def epoch_seed(seed: int, epoch: int) -> int:
    """The RNG seed of one epoch, a hash of ``(seed, epoch)``: reseeding from it at every epoch
    makes a resumed run draw exactly what an uninterrupted one draws.

    Example:
        >>> epoch_seed(0, 1) == epoch_seed(0, 1) != epoch_seed(0, 2)
        True
    """
    digest = hashlib.sha256(f"skdlib-epoch:{seed}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**63)
