"""The epoch schedule shared by every training loop: SGD with step decay of the learning rate
(:class:`StepDecaySGD`, the base of the embedding's and the distillation's configs), and the
per-epoch seeds that make an interrupted and resumed run draw exactly what an uninterrupted one
draws.

Both the paper's embedding (lr x0.1 at 50/75/90 of 100 epochs) and the CRD protocol (x0.1 at
150/180/210 of 240) decay at fixed *fractions* of the run, so the schedule keeps its shape when a
short run scales the number of epochs down.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import JsonConfig

if TYPE_CHECKING:  # imported where an optimiser is built: configs load without torch
    import torch

__all__ = ["StepDecaySGD", "milestone_epochs", "step_decay", "epoch_seed"]


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
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = step_decay(opt, (0.5,), 4, 0.1)
        >>> for _ in range(2):
        ...     opt.step(); sched.step()
        >>> opt.param_groups[0]["lr"]
        0.1
    """
    import torch

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


@dataclass
class StepDecaySGD(JsonConfig):
    """SGD with momentum and weight decay, the lr multiplied by ``lr_decay`` after each fraction
    in ``milestones`` of ``epochs``: the optimisation every trainer here shares.

    A base class: :class:`~skdlib.embedding.EmbeddingConfig` (the paper's embedding: 100 epochs,
    lr 0.1, decay at 50/75/90 %) and :class:`~skdlib.distill.DistillConfig` (the CRD protocol:
    240 epochs, lr 0.05, decay at 150/180/210) give the defaults.

    Attributes:
        epochs: passes over the data.
        lr: the initial learning rate.
        milestones: fractions of ``epochs`` after which the lr decays.
        momentum, weight_decay: SGD's (both protocols: 0.9 and 5e-4).
        lr_decay: the decay factor (0.1).
        seed: seeds the initialisation and each epoch's data order.

    Example:
        >>> import torch
        >>> cfg = StepDecaySGD(epochs=4, lr=1.0, milestones=(0.5,))
        >>> opt = cfg.make_optimizer([torch.zeros(1, requires_grad=True)])
        >>> cfg.make_scheduler(opt).milestones
        Counter({2: 1})
    """

    epochs: int
    lr: float
    milestones: tuple[float, ...]
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_decay: float = 0.1
    seed: int = 0

    def make_optimizer(self, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
        """SGD over ``params`` with this lr, momentum and weight decay."""
        import torch

        return torch.optim.SGD(
            params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
        )

    def make_scheduler(self, optimizer: torch.optim.Optimizer):
        """The step decay of ``optimizer``'s lr (stepped once per epoch), see :func:`step_decay`."""
        return step_decay(optimizer, self.milestones, self.epochs, self.lr_decay)
