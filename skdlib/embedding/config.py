"""Settings of a neuron-embedding run (paper §3.2 defaults), as a JSON-loadable dataclass."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..schedule import StepDecaySGD

__all__ = ["EmbeddingConfig"]


@dataclass
class EmbeddingConfig(StepDecaySGD):
    """Settings of a neuron-embedding run; defaults are the paper's (§3.2).

    Attributes:
        dim: K, the length of each semantic vector (paper: 16).
        tau: softmax temperature of both similarity distributions (paper: 1).
        exclude_diagonal: drop self-similarity from the distributions (paper: keep it).
        epochs: passes over the data (paper: 100).
        lr, momentum, weight_decay: SGD settings (paper: 0.1, 0.9, 5e-4).
        milestones: epochs, as fractions of ``epochs``, at which the learning rate is multiplied by
            ``lr_decay`` (paper: 50/75/90 of 100 epochs, i.e. ``(0.5, 0.75, 0.9)``).
        lr_decay: learning-rate decay factor (paper: 0.1).
        seed: seeds the vectors' initialisation and each epoch's data order.
        optimizer: ``"sgd"`` (paper) or ``"adam"``. The gradient of Eq. 1 is small — each row of
            ``q - p`` is a difference of near-uniform distributions over C neurons, so it shrinks
            roughly as ``C^-1.5`` — and SGD at lr 0.1 needs the paper's ~10^5 steps; Adam (lr
            ~0.01) is insensitive to that scale and converges in a few hundred steps, which is
            what short offline runs use.
    """

    epochs: int = 100
    lr: float = 0.1
    milestones: tuple[float, ...] = (0.5, 0.75, 0.9)
    dim: int = 16
    tau: float = 1.0
    exclude_diagonal: bool = False
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.dim < 1 or self.epochs < 1:
            raise ValueError(f"dim and epochs must be >= 1, got {self.dim} and {self.epochs}")

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """The configured optimizer over ``params``: the paper's SGD, or Adam.

        Example:
            >>> type(EmbeddingConfig(optimizer="adam").make_optimizer([torch.zeros(1)])).__name__
            'Adam'
        """
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        return super().make_optimizer(params)
