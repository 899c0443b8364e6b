"""Settings of a neuron-embedding run (paper §3.2 defaults), as a JSON-loadable dataclass.

:class:`EmbeddingConfig` is the one spelling of these settings everywhere: the ``embed`` and
``embed-teacher`` commands take one flag per field (``--dim``, ``--epochs``, ``--mode``, ...),
a tutorial profile holds one in its ``embedding`` field, and Table-1 and ImageNet job files
hold one under their ``"embedding"`` key. :data:`SETTINGS` names two ready-made ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..schedule import StepDecaySGD

if TYPE_CHECKING:
    import torch

__all__ = ["EmbeddingConfig", "MODES", "SETTINGS", "embedding_setting"]

#: How the objective is fitted: ``"minibatch"`` (the paper's procedure, one network forward per
#: step, resumable) or ``"dataset_mean"`` (the same objective fitted exactly from one forward
#: pass over the data, then ``steps`` cheap steps).
MODES = ("minibatch", "dataset_mean")


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
        mode: ``"minibatch"`` (paper) or ``"dataset_mean"`` (:data:`MODES`,
            :meth:`skdlib.embedding.EmbeddingTrainer.train`).
        steps: optimiser steps of the ``dataset_mean`` mode (``epochs`` of them make its
            schedule's epochs).

    Example:
        >>> EmbeddingConfig.from_dict({"optimizer": "adam", "lr": 0.01, "mode": "dataset_mean"})
        ... # doctest: +ELLIPSIS
        EmbeddingConfig(epochs=100, lr=0.01, ..., optimizer='adam', mode='dataset_mean', steps=500)
    """

    epochs: int = 100
    lr: float = 0.1
    milestones: tuple[float, ...] = (0.5, 0.75, 0.9)
    dim: int = 16
    tau: float = 1.0
    exclude_diagonal: bool = False
    optimizer: str = "sgd"
    mode: str = "minibatch"
    steps: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.dim < 1 or self.epochs < 1 or self.steps < 1:
            raise ValueError(
                f"dim, epochs and steps must be >= 1, got {self.dim}, {self.epochs}, {self.steps}"
            )

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """The configured optimizer over ``params``: the paper's SGD, or Adam.

        Example:
            >>> import torch
            >>> type(EmbeddingConfig(optimizer="adam").make_optimizer([torch.zeros(1)])).__name__
            'Adam'
        """
        import torch

        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        return super().make_optimizer(params)


#: Two named settings: ``"paper"`` (§3.2: SGD, lr 0.1, 100 epochs, mini-batches) and
#: ``"offline"`` (Adam, lr 0.01, 8 epochs: converges within a short CPU run). ``embed
#: --setting`` picks one; any field given as well overrides it.
SETTINGS: dict[str, EmbeddingConfig] = {
    "paper": EmbeddingConfig(),
    "offline": EmbeddingConfig(optimizer="adam", lr=0.01, epochs=8),
}


def embedding_setting(name: str, **overrides) -> EmbeddingConfig:
    """The named :data:`SETTINGS` entry with ``overrides`` (fields; ``None`` values are ignored).

    Example:
        >>> embedding_setting("offline", epochs=2, lr=None).epochs
        2
    """
    if name not in SETTINGS:
        raise ValueError(f"unknown embedding setting {name!r}; choose one of {', '.join(SETTINGS)}")
    return replace(SETTINGS[name], **{k: v for k, v in overrides.items() if v is not None})
