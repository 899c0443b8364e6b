"""Hooks into the embedding trainer's loop, e.g. the KL-metric logger of the paper's Fig. 4."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .trainer import EmbeddingTrainer

__all__ = ["Callback"]


class Callback:
    """Hooks into :meth:`EmbeddingTrainer.fit`; override what you need.

    ``trainer.vectors`` (a :class:`SemanticVectors`) holds the current vectors at every call.
    A callback that keeps state across a resume implements ``state_dict``/``load_state_dict``;
    the trainer stores it in the checkpoint.
    """

    def on_train_start(self, trainer: EmbeddingTrainer) -> None:
        """Called once before the first epoch (also after a resume)."""

    def on_step_end(self, trainer: EmbeddingTrainer, step: int, loss: torch.Tensor) -> None:
        """Called after each optimiser step; ``loss`` is a detached scalar tensor."""

    def on_epoch_end(self, trainer: EmbeddingTrainer, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch (1-based), before its checkpoint is written (so the callback's
        ``state_dict`` includes this epoch); ``logs`` has the epoch's mean loss and its lr."""

    def on_train_end(self, trainer: EmbeddingTrainer) -> None:
        """Called once after the last epoch."""
