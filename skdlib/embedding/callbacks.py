"""Hooks into the embedding trainer's loop: the base :class:`Callback`, and
:class:`VectorSnapshots`, which keeps the vectors as they train (so the paper's Fig. 4 can be
drawn later from the one run, without training again)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .. import filenames
from ..checkpoint import atomic_save, check_format, load_artifact

if TYPE_CHECKING:
    from .trainer import EmbeddingTrainer

__all__ = ["Callback", "VectorSnapshots"]


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


class VectorSnapshots(Callback):
    """Copies of the vectors as they train: before the first step, then every ``every``
    optimiser steps (0: at the end of each epoch).

    The copies are small (``C × K`` floats per layer; ResNet18's four layers at K = 16 take
    61 kB), so a run keeps dozens; :meth:`save` writes them, and
    :meth:`skdlib.dissect.KLMetricCallback.replay` draws the KL curves of the paper's Fig. 4 from
    them once a dissection exists — the same curves a live :class:`KLMetricCallback` with the
    same ``every`` would log. The state survives a resume (it is saved in the checkpoint).

    Attributes:
        steps, epochs: the optimiser step (counted over the whole run) and the epoch of each copy.
        vectors: one ``{layer: (C, K)}`` dict of CPU tensors per copy.
        settings: ``tau``, ``exclude_diagonal`` and ``dim`` of the run.

    Example:
        >>> from torch import nn
        >>> from skdlib.embedding import EmbeddingConfig, EmbeddingTrainer
        >>> net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU())
        >>> trainer = EmbeddingTrainer(net, ["1"], EmbeddingConfig(dim=4, epochs=2), device="cpu")
        >>> snaps = VectorSnapshots(every=2)
        >>> _ = trainer.fit([torch.rand(4, 3, 6, 6)] * 3, callbacks=[snaps], progress=False)
        >>> snaps.steps, tuple(snaps.vectors[-1]["1"].shape)
        ([0, 2, 4, 6], (6, 4))
    """

    def __init__(self, every: int = 0) -> None:
        if every < 0:
            raise ValueError(f"every must be >= 0, got {every}")
        self.every = int(every)
        self.step = 0
        self.epoch = 0
        self.steps: list[int] = []
        self.epochs: list[int] = []
        self.vectors: list[dict[str, torch.Tensor]] = []
        self.settings: dict[str, Any] = {}

    def _take(self, trainer: EmbeddingTrainer) -> None:
        self.steps.append(self.step)
        self.epochs.append(self.epoch)
        self.vectors.append(
            {n: v.detach().cpu().clone() for n, v in trainer.vectors.as_dict().items()}
        )

    def on_train_start(self, trainer: EmbeddingTrainer) -> None:
        cfg = trainer.config
        self.settings = {"tau": cfg.tau, "exclude_diagonal": cfg.exclude_diagonal, "dim": cfg.dim}
        if not self.steps:
            self._take(trainer)

    def on_step_end(self, trainer: EmbeddingTrainer, step: int, loss: torch.Tensor) -> None:
        self.step += 1
        if self.every and self.step % self.every == 0:
            self._take(trainer)

    def on_epoch_end(self, trainer: EmbeddingTrainer, epoch: int, logs: dict[str, float]) -> None:
        self.epoch = epoch
        if not self.every:
            self._take(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {
            "format": filenames.SNAPSHOTS_FORMAT,
            "every": self.every,
            "step": self.step,
            "epoch": self.epoch,
            "steps": list(self.steps),
            "epochs": list(self.epochs),
            "vectors": list(self.vectors),
            "settings": dict(self.settings),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.every = int(state["every"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.steps, self.epochs = list(state["steps"]), list(state["epochs"])
        self.vectors = list(state["vectors"])
        self.settings = dict(state["settings"])

    def save(self, path: str | os.PathLike) -> Path:
        """Write the snapshots atomically (one ``torch.save`` file)."""
        if not self.steps:
            raise ValueError("no snapshots yet: pass this callback to a fit first")
        return atomic_save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> VectorSnapshots:
        """Read snapshots written by :meth:`save`."""
        state = load_artifact(path, "vector snapshots")
        check_format(state, filenames.SNAPSHOTS_FORMAT, path, "vector-snapshots file")
        snaps = cls()
        snaps.load_state_dict(state)
        return snaps
