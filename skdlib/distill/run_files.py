"""A training run's files: its checkpoint, metrics and models, written by rank 0 alone.

:class:`RunFiles` is the part of :class:`~skdlib.distill.DistillTrainer` that reads and writes a
run folder: ``checkpoint.pt`` (everything needed to resume, atomically after every epoch),
``metrics.json`` / ``metrics.csv`` (strict JSON, one row per epoch), ``best.pt`` and ``model.pt``.
In a multi-process run (:mod:`skdlib.distill.distributed`) only rank 0 writes; every rank
resumes from the same checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, filenames
from ..checkpoint import atomic_save, atomic_write_text, csv_text, load_checkpoint
from ..models import save_model

__all__ = ["RunFiles", "RunSummary"]


@dataclass
class RunSummary:
    """Where a run stands: last and best test top-1, epochs done, seconds, per-epoch rows, and
    the initialisation stage's epochs and seconds (for the methods that have one)."""

    last_top1: float | None = None
    best_top1: float | None = None
    best_epoch: int | None = None
    epochs_done: int = 0
    complete: bool = False
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    init_epochs_done: int = 0
    init_seconds: float = 0.0


class RunFiles:
    """Mixin of :class:`~skdlib.distill.DistillTrainer`: the run folder (see the module).

    It uses the trainer's ``student``, ``student_arch``, ``teacher_arch``, ``method``,
    ``weights``, ``settings``, ``config``, ``embedding_meta``, ``optimizer``, ``scheduler``,
    ``epoch``, ``summary``, ``device``, ``dist``, ``term`` (the method's modules: their
    parameters and buffers, e.g. CRD's memory bank and its normalisers) and ``init_stage``.
    """

    # -- checkpoints ----------------------------------------------------------------------------
    def signature(self) -> dict[str, Any]:
        """What identifies a run: a checkpoint only resumes a run with the same signature.

        The method's settings, its initialisation stage and the config keys that came with them
        (``init_epochs``, ``init_lr``, ``settings``) are part of it only when they say something
        (a method with settings or an init stage; a key not at its default), so a checkpoint
        written before they existed still resumes its run.
        """
        config = self.config.to_dict()
        for key, default in (("init_epochs", None), ("init_lr", None), ("settings", {})):
            if config.get(key) == default:
                config.pop(key, None)
        signature = {
            "student": self.student_arch,
            "teacher": self.teacher_arch,
            "method": self.method.name,
            "weights": dict(self.weights),
            "config": config,
            "embedding": self.embedding_meta.get("digest"),
        }
        if self.settings:
            signature["settings"] = dict(self.settings)
        if self.init_stage is not None:
            signature["init"] = [self.init_stage.epochs, self.init_stage.lr]
        return signature

    def _save_checkpoint(self, path: Path) -> None:
        atomic_save(
            {
                "format": filenames.DISTILL_CHECKPOINT_FORMAT,
                "signature": self.signature(),
                "epoch": self.epoch,
                "student": self.student.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "summary": asdict(self.summary),
                "modules": None if self.term.modules is None else self.term.modules.state_dict(),
                "init_stage": None if self.init_stage is None else self.init_stage.state_dict(),
            },
            path,
        )

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(
            path,
            filenames.DISTILL_CHECKPOINT_FORMAT,
            self.signature(),
            "training checkpoint",
            "delete the folder or choose another out_dir",
        )
        self.student.load_state_dict(state["student"])
        if self.term.modules is not None:
            self.term.modules.load_state_dict(state["modules"])
        if self.init_stage is not None:
            self.init_stage.load_state_dict(state["init_stage"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.summary = RunSummary(**state["summary"])
        self.epoch = int(state["epoch"])

    def _write_metrics(self, out: Path) -> None:
        info = {
            "run": self.signature(),
            "embedding": self.embedding_meta or None,
            "device": str(self.device),
            "processes": self.dist.world,
            "library_version": __version__,
        }
        summary = asdict(self.summary)
        history = summary.pop("history")
        if self.init_stage is not None:
            summary["init_history"] = self.init_stage.history
        atomic_write_text(
            out / filenames.METRICS,
            json.dumps({**info, **summary, "history": history}, indent=1, allow_nan=False),
        )
        atomic_write_text(out / filenames.METRICS_CSV, csv_text(history))

    def _record(self, row: dict[str, float], out: Path | None) -> None:
        s = self.summary
        s.history.append(row)
        s.epochs_done = self.epoch
        s.last_top1 = row["test_top1"]
        s.seconds += row["seconds"]
        improved = s.best_top1 is None or row["test_top1"] > s.best_top1
        if improved:
            s.best_top1, s.best_epoch = row["test_top1"], self.epoch
        s.complete = self.epoch >= self.config.epochs
        if out is None:
            return
        if self.dist.main:
            if improved:
                save_model(
                    self.student,
                    self.student_arch,
                    out / filenames.BEST_MODEL,
                    **self._model_info(),
                )
            self._save_checkpoint(out / filenames.CHECKPOINT)
            self._write_metrics(out)
        self.dist.barrier()  # no rank runs ahead of the files of this epoch

    def _record_init(self, out: Path | None) -> None:
        """After an init epoch: the checkpoint and metrics (the stage resumes from there)."""
        if out is None:
            return
        if self.dist.main:
            self._save_checkpoint(out / filenames.CHECKPOINT)
            self._write_metrics(out)
        self.dist.barrier()

    def _model_info(self) -> dict[str, Any]:
        s = self.summary
        return {"method": self.method.name, "epochs": s.epochs_done, "last_top1": s.last_top1}
