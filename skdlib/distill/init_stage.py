"""The initialisation stage some methods run before the main schedule (CRD's ``init_epochs``):
AB's connector and student feature modules, FT's paraphraser, FSP's student feature modules.

RepDistiller's ``helper/pretrain.py``: for ``init.epochs`` (30) passes over the augmented
training data, the teacher and the student in eval mode but the trained parts in train mode,
SGD (the run's momentum and weight decay) at a constant lr on the method's *unweighted* init
loss, no CE, no KD. Then a fresh optimizer trains the main stage. Each init epoch is reseeded
from ``(seed, −k)`` (never a main epoch's seed) and checkpointed like a main epoch, so a run
stopped anywhere in it resumes to the same weights.

Example:
    >>> from skdlib.models import create_model
    >>> from skdlib.distill import DistillConfig, DistillTrainer
    >>> t = DistillTrainer(create_model("resnet20"), DistillConfig(method="fsp", init_epochs=2),
    ...                    "resnet20", teacher_model=create_model("resnet32"), device="cpu")
    >>> t.init_stage.epochs, t.init_stage.lr
    (2, 0.05)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch

from ..progress import show_bars, tqdm
from ..schedule import epoch_seed

if TYPE_CHECKING:
    from .trainer import DistillTrainer

__all__ = ["InitStageRunner"]


class InitStageRunner:
    """A trainer's initialisation stage: its epochs, lr, optimizer and progress.

    Args:
        trainer: the :class:`~skdlib.distill.DistillTrainer` whose method has an ``init``.

    Attributes:
        epochs: ``config.init_epochs``, or the method's (CRD: 30).
        lr: ``config.init_lr``, else the method's ``lr_by_student`` for this student, else
            ``config.lr``.
        epoch: init epochs done.
        history: one row per init epoch (``init_epoch``, ``lr``, ``init_loss``, ``seconds``).
    """

    def __init__(self, trainer: DistillTrainer) -> None:
        cfg, init = trainer.config, trainer.method.init
        self.trainer = trainer
        self.epochs = init.epochs if cfg.init_epochs is None else cfg.init_epochs
        by_student = init.lr_by_student.get(trainer.student_arch, cfg.lr)
        self.lr = by_student if cfg.init_lr is None else cfg.init_lr
        params = trainer.term.init_parameters()
        self.optimizer = torch.optim.SGD(
            params, lr=self.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
        self.epoch = 0
        self.history: list[dict[str, float]] = []

    @property
    def done(self) -> bool:
        """Every init epoch has run."""
        return self.epoch >= self.epochs

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of the stage."""
        return {"epoch": self.epoch, "optimizer": self.optimizer.state_dict(),
                "history": self.history}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s result."""
        self.epoch = int(state["epoch"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history = list(state["history"])

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """One SGD step of the init loss on a batch (modes set by :meth:`run_epoch`)."""
        tr = self.trainer
        images, labels = images.to(tr.device), labels.to(tr.device)
        term = tr.term
        term.ensure_hooks()
        if tr.method.init.student_features:
            tr.student(images)
        with torch.no_grad():
            tr.teacher_model(images)
        loss = term.init_loss(term.step_inputs(labels=labels, epoch=self.epoch + 1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def run_epoch(self, loader: Iterable, progress: bool | str = False) -> dict[str, float]:
        """The next init epoch over ``loader``; returns its row (and records it).

        Raises:
            FloatingPointError: when the epoch's loss or the weights are not finite (nothing of
                the epoch is then recorded).
        """
        tr = self.trainer
        k = self.epoch + 1
        torch.manual_seed(epoch_seed(tr.config.seed, -k))
        tr.term.set_modes("init")
        total = torch.zeros((), dtype=torch.float64, device=tr.device)
        n, start = 0, time.perf_counter()
        shown = show_bars(progress) and tr.dist.main
        for batch in tqdm(loader, desc=f"init epoch {k}", leave=False, disable=not shown):
            images, labels = batch[0], batch[1]
            total += self.step(images, labels) * labels.shape[0]
            n += labels.shape[0]
        if n == 0:
            raise ValueError("the training loader yielded no batches")
        loss = float(total) / n
        weights = [p for g in self.optimizer.param_groups for p in g["params"]]
        if not math.isfinite(loss) or not all(bool(torch.isfinite(p).all()) for p in weights):
            raise FloatingPointError(
                f"{tr.method.name} {tr.student_arch}: the initialisation stage diverged in its "
                f"epoch {k} (loss {loss}); not saved. Lower init_lr (now {self.lr:g}) and run "
                "again: it resumes from the last good epoch's checkpoint"
            )
        row = {"init_epoch": k, "lr": self.lr, "init_loss": loss,
               "seconds": time.perf_counter() - start}  # fmt: skip
        self.epoch = k
        self.history.append(row)
        return row
