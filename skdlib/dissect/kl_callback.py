"""The paper's Figure 4 while an embedding trains: three KL curves, logged by a callback.

:class:`KLMetricCallback` plugs into :class:`~skdlib.embedding.EmbeddingTrainer` and logs, every
few steps, the KL metric (:mod:`skdlib.dissect.kl_metric`) of the vectors being learned, of
random vectors, and of the supervised upper bound, optimised one step per training step from the
same start. Its history survives a resume; :meth:`KLMetricCallback.plot` draws the figure.
:meth:`KLMetricCallback.replay` gives the same curves afterwards from the
:class:`~skdlib.embedding.VectorSnapshots` of a finished run, so nothing is trained twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import torch

from ..embedding import Callback
from .kl_metric import kl_from_log_p, random_baseline, target_log_distribution

__all__ = ["KLMetricCallback"]


class KLMetricCallback(Callback):
    """Log the three KL curves of the paper's Figure 4 while an embedding trains.

    Args:
        targets: ``{layer: (C, N)}`` IoU targets, or a
            :class:`~skdlib.dissect.DissectionResult` (its ``iou``). Every layer must be one the
            trainer embeds, with the same channel count.
        every: log every ``every`` optimiser steps (0: at the end of each epoch). Step 0 (before
            training) is always logged.
        draws: random vector sets averaged for the baseline.
        upper_lr: Adam learning rate of the upper bound (one step per training step).
        seed: seed of the random draws.
        tau, exclude_diagonal: default to the trainer's config.

    After (or during) training, :attr:`history` holds ``step``, ``epoch``, ``learned``,
    ``random``, ``upper`` (means over layers) and ``layers`` (the same per layer); it is saved in
    the trainer's checkpoints, so a resumed run continues the curves;
    :func:`skdlib.viz.plot_kl_curves` draws them.

    Example (``tests/dissect/test_kl_callback.py`` runs it on planted units)::

        kl = KLMetricCallback(dissection, every=10)
        trainer.fit(loader, callbacks=[kl])
        fig = plot_kl_curves(kl.history)  # skdlib.viz
    """

    def __init__(
        self,
        targets: Mapping[str, torch.Tensor] | Any,
        every: int = 0,
        draws: int = 5,
        upper_lr: float = 0.05,
        seed: int = 0,
        tau: float | None = None,
        exclude_diagonal: bool | None = None,
    ) -> None:
        iou = getattr(targets, "iou", targets)
        if not isinstance(iou, Mapping) or not iou:
            raise TypeError("targets must be {layer: (C, N) IoU} or a DissectionResult")
        if every < 0:
            raise ValueError(f"every must be >= 0, got {every}")
        self.targets = {name: t.detach().double().cpu() for name, t in iou.items()}
        self.every = int(every)
        self.draws = int(draws)
        self.upper_lr = float(upper_lr)
        self.seed = int(seed)
        self.tau = tau
        self.exclude_diagonal = exclude_diagonal
        self.step = 0
        self.epoch = 0
        self.history: dict[str, Any] = self._empty_history()
        self._upper: dict[str, torch.Tensor] | None = None
        self._upper_opt: torch.optim.Optimizer | None = None
        self._upper_steps = 0
        self._log_p: dict[str, torch.Tensor] = {}
        self._random: dict[str, float] = {}
        self._pending_state: dict | None = None

    def _empty_history(self) -> dict[str, Any]:
        return {
            "step": [],
            "epoch": [],
            "learned": [],
            "random": [],
            "upper": [],
            "layers": {n: {"learned": [], "random": [], "upper": []} for n in self.targets},
        }

    # -- callback hooks -------------------------------------------------------------------------
    def on_train_start(self, trainer) -> None:
        vectors = trainer.vectors.as_dict()
        for name, iou in self.targets.items():
            if name not in vectors:
                raise KeyError(
                    f"KL targets name layer {name!r}, which the trainer does not embed "
                    f"(layers: {list(vectors)})"
                )
            if vectors[name].shape[0] != iou.shape[0]:
                raise ValueError(
                    f"layer {name!r}: the trainer embeds {vectors[name].shape[0]} channels but "
                    f"the IoU targets have {iou.shape[0]} rows"
                )
        cfg = trainer.config
        self.tau = cfg.tau if self.tau is None else self.tau
        if self.exclude_diagonal is None:
            self.exclude_diagonal = cfg.exclude_diagonal
        self._log_p = {
            n: target_log_distribution(t, self.tau, self.exclude_diagonal)
            for n, t in self.targets.items()
        }
        dim = cfg.dim
        self._random = {
            n: random_baseline(t, dim, self.draws, self.seed, self.tau, self.exclude_diagonal)
            for n, t in self.targets.items()
        }
        if self._upper is None:  # fresh run: the bound starts where the learned vectors start
            self._upper = {
                n: vectors[n].detach().float().cpu().clone().requires_grad_(True)
                for n in self.targets
            }
        self._upper_opt = torch.optim.Adam(list(self._upper.values()), lr=self.upper_lr)
        if self._pending_state is not None:
            self._upper_opt.load_state_dict(self._pending_state)
            self._pending_state = None
        if not self.history["step"]:
            self._log(trainer)

    def on_step_end(self, trainer, step: int, loss: torch.Tensor) -> None:
        self.step += 1
        if self.every and self.step % self.every == 0:
            self._log(trainer)

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None:
        self.epoch = epoch
        if not self.every:
            self._log(trainer)

    # -- logging --------------------------------------------------------------------------------
    def _advance_upper(self) -> None:
        while self._upper_steps < self.step:
            loss = sum(
                kl_from_log_p(self._log_p[n], s, self.tau, self.exclude_diagonal)
                for n, s in self._upper.items()
            )
            self._upper_opt.zero_grad(set_to_none=True)
            loss.backward()
            self._upper_opt.step()
            self._upper_steps += 1

    def _log(self, trainer) -> None:
        self._advance_upper()
        vectors = trainer.vectors.as_dict()
        h = self.history
        h["step"].append(self.step)
        h["epoch"].append(self.epoch)
        sums = {"learned": 0.0, "random": 0.0, "upper": 0.0}
        with torch.no_grad():
            for n, log_p in self._log_p.items():
                values = {
                    "learned": float(
                        kl_from_log_p(
                            log_p, vectors[n].detach().cpu(), self.tau, self.exclude_diagonal
                        )  # fmt: skip
                    ),
                    "random": self._random[n],
                    "upper": float(
                        kl_from_log_p(log_p, self._upper[n], self.tau, self.exclude_diagonal)
                    ),
                }
                for key, value in values.items():
                    h["layers"][n][key].append(value)
                    sums[key] += value
        for key, value in sums.items():
            h[key].append(value / len(self._log_p))

    @classmethod
    def replay(
        cls,
        targets: Mapping[str, torch.Tensor] | Any,
        snapshots: Any,
        draws: int = 5,
        upper_lr: float = 0.05,
        seed: int = 0,
    ) -> KLMetricCallback:
        """The curves of a finished run, from its :class:`~skdlib.embedding.VectorSnapshots`.

        Logs at every snapshot what a live callback with the snapshots' ``every`` would have
        logged at that step (same random baseline, same upper-bound steps), so the history
        equals the live one.

        Args:
            targets: as for the constructor (a dissection of the embedded network).
            snapshots: :class:`~skdlib.embedding.VectorSnapshots` (or its file loaded with
                ``VectorSnapshots.load``).

        Example::

            snaps = VectorSnapshots.load("runs/paper/embedding_snapshots.pt")
            fig = plot_kl_curves(KLMetricCallback.replay(dissection, snaps).history)
        """
        settings = snapshots.settings
        kl = cls(
            targets,
            every=snapshots.every,
            draws=draws,
            upper_lr=upper_lr,
            seed=seed,
            tau=settings["tau"],
            exclude_diagonal=settings["exclude_diagonal"],
        )
        config = SimpleNamespace(**settings)
        for i, (step, epoch, vectors) in enumerate(
            zip(snapshots.steps, snapshots.epochs, snapshots.vectors, strict=True)
        ):
            trainer = SimpleNamespace(vectors=SimpleNamespace(as_dict=lambda v=vectors: v))
            trainer.config = config
            kl.step, kl.epoch = step, epoch
            if i == 0:
                kl.on_train_start(trainer)  # logs the start, as a live callback does
            else:
                kl._log(trainer)
        return kl

    # -- checkpointing --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "history": self.history,
            "step": self.step,
            "epoch": self.epoch,
            "upper_steps": self._upper_steps,
            "upper": None
            if self._upper is None
            else {n: s.detach().clone() for n, s in self._upper.items()},
            "upper_opt": None if self._upper_opt is None else self._upper_opt.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.history = state["history"]
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self._upper_steps = int(state["upper_steps"])
        if state["upper"] is not None:
            self._upper = {n: s.clone().requires_grad_(True) for n, s in state["upper"].items()}
        self._pending_state = state["upper_opt"]
