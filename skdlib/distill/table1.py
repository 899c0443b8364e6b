"""The paper's Table 1 as a batch job: pairs × methods × trials, one results file, one table.

A JSON config (:class:`Table1Config`; see ``configs/table1_paper.json`` and
``configs/table1_synthetic.json``) names the teacher/student pairs, the methods, the number of
trials and the training settings.
:func:`run_table1` then

1. trains each teacher once (``method="none"``) — or loads it from ``teacher_checkpoints``;
2. embeds each teacher's neurons at its stage outputs (only if an SKD method is requested);
3. trains every student run; ``"none"`` (the student trained alone) runs once per student
   architecture and trial and serves every pair with that student; a method's initialisation
   stage (AB, FT, FSP) runs inside its run, and CRD's loader carries each image's index;

Before anything trains, every method is checked against every pair
(:meth:`~skdlib.distill.methods.Method.pair_problem`: FSP needs equal channels, SKD equal
stages, AT/NST/VID/AB as many feature stages), and a mismatch names the pair and the reason;

and writes ``results.json`` / ``results.csv`` (one row per run) and ``table1.md``, the Table-1
layout with our numbers beside the published ones (:mod:`skdlib.distill.report`). Every run has
its own folder with per-epoch checkpoints, so an interrupted job restarted with the same config
continues where it stopped and finished runs are not repeated.

Config keys (all optional except ``out``)::

    {"name": "...", "out": "runs/table1",
     "data": "cifar100" | "synthetic", "data_root": "data",
     "train_per_class": 50, "test_per_class": 10, "data_seed": 0,     # synthetic only
     "pairs": "paper" | [["resnet56", "resnet20"], ...],
     "methods": ["none", "kd", "crd", "fitnet", "ab", "fsp", "skd", ...], "trials": 3,
     "teacher_config": {DistillConfig fields}, "student_config": {DistillConfig fields},
     "embedding": {EmbeddingConfig fields},
     "teacher_checkpoints": {"resnet56": "path/to/model.pt"},
     "device": "auto", "pipeline": "auto", "workers": null, "eval_batch_size": 256}
    # workers null: skdlib.loaders.default_workers()

Example (a few CPU minutes)::

    cfg = Table1Config.load("configs/table1_synthetic.json")
    results = run_table1(cfg)          # or: python -m skdlib table1 --config ...
    print(render_table1(results))
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import filenames
from ..checkpoint import atomic_write_text, csv_text
from ..config import ConfigError, JsonConfig
from ..embedding import EmbeddingConfig
from ..models import CIFAR_ARCHS, PAPER_PAIRS, load_model
from ..progress import show_bars, tqdm
from ..runtime import resolve_device
from .cifar import cifar_loader, load_split
from .config import DATASETS, DistillConfig
from .evaluate import evaluate
from .methods import get_method
from .report import render_table1
from .steps import embed_teacher, finished_embedding, train_model

__all__ = ["Table1Config", "run_table1"]


@dataclass
class Table1Config(JsonConfig):
    """A Table-1 job; see the module docstring for the JSON form. Defaults: the paper's.

    Example:
        >>> Table1Config.from_dict({"out": "runs/x", "pairs": [["resnet56", "resnet20"]]}).pairs
        [('resnet56', 'resnet20')]
    """

    out: str
    name: str = "Table 1"
    data: str = "cifar100"
    data_root: str = "data"
    train_per_class: int | None = None
    test_per_class: int | None = None
    data_seed: int = 0
    pairs: list[tuple[str, str]] | str = field(default_factory=lambda: list(PAPER_PAIRS))
    methods: list[str] = field(default_factory=lambda: ["none", "kd", "skd"])
    trials: int = 3
    teacher_config: dict[str, Any] = field(default_factory=dict)
    student_config: dict[str, Any] = field(default_factory=dict)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    teacher_checkpoints: dict[str, str] = field(default_factory=dict)
    device: str = "auto"
    pipeline: str = "auto"
    workers: int | None = None
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.pairs, str):
            if self.pairs != "paper":
                raise ConfigError(
                    f"key 'pairs': a list of [teacher, student] or 'paper', got {self.pairs!r}"
                )
            self.pairs = list(PAPER_PAIRS)
        for pair in self.pairs:
            if any(m not in CIFAR_ARCHS for m in pair):
                raise ConfigError(
                    f"key 'pairs': {list(pair)} is not a [teacher, student] pair of model names "
                    f"({', '.join(CIFAR_ARCHS)})"
                )
        if not self.methods:
            raise ConfigError("key 'methods': choose at least one method")
        for method in self.methods:
            get_method(method)  # an unknown name lists the registered ones
        for teacher, student in self.pairs:  # before anything trains: can each method run?
            for method in self.methods:
                problem = get_method(method).pair_problem(teacher, student)
                if problem:
                    raise ConfigError(
                        f"key 'pairs': method {method!r} cannot distil {teacher} into {student}: "
                        f"{problem}; choose another pair or leave {method!r} out of 'methods'"
                    )
        if self.data not in DATASETS:
            raise ConfigError(f"key 'data' must be one of {DATASETS}, got {self.data!r}")
        if self.trials < 1:
            raise ConfigError(f"key 'trials' must be >= 1, got {self.trials}")
        for key in ("teacher_config", "student_config"):
            overrides = getattr(self, key)
            if "method" in overrides:
                raise ConfigError(f"key '{key}' must not set 'method' (set 'methods' instead)")
            DistillConfig.from_dict(overrides, where=f"key '{key}'")
        teachers = {t for t, _ in self.pairs}
        for name, path in self.teacher_checkpoints.items():
            if name not in teachers:
                raise ConfigError(
                    f"key 'teacher_checkpoints': {name!r} is not the teacher of any pair "
                    f"(teachers: {sorted(teachers)})"
                )
            if not Path(path).is_file():
                raise ConfigError(
                    f"key 'teacher_checkpoints': the file for {name}, {path}, does not exist"
                )

    def teacher_run(self) -> DistillConfig:
        """The :class:`DistillConfig` a teacher trains with (``teacher_config``, no method)."""
        return DistillConfig.from_dict({**self.teacher_config, "method": "none"})

    def student_run(self, method: str, trial: int) -> DistillConfig:
        """The :class:`DistillConfig` of one student run: ``student_config`` with ``method``,
        and the seed moved on by ``trial``."""
        base = DistillConfig.from_dict(self.student_config)
        seed = base.seed + trial
        return DistillConfig.from_dict({**self.student_config, "method": method, "seed": seed})


def _plan(cfg: Table1Config) -> list[dict[str, Any]]:
    """Every student run once: ``none`` per (student, trial); the others per (pair, trial)."""
    runs, seen = [], set()
    for teacher, student in cfg.pairs:
        for method in cfg.methods:
            for trial in range(cfg.trials):
                key = (None if method == "none" else teacher, student, method, trial)
                if key not in seen:
                    seen.add(key)
                    runs.append(
                        {"teacher": key[0], "student": student, "method": method, "trial": trial}
                    )
    return runs


def _run_dir(out: Path, run: Mapping[str, Any]) -> Path:
    if run["method"] == "none":
        return out / "students" / "scratch" / run["student"] / f"trial{run['trial']}"
    pair = f"{run['teacher']}_to_{run['student']}"
    return out / "students" / pair / run["method"].replace("+", "_") / f"trial{run['trial']}"


def _row(role: str, run: Mapping[str, Any], summary: Mapping[str, Any], folder: Path) -> dict:
    return {
        "role": role,
        "teacher": run.get("teacher"),
        "student": run["student"],
        "method": run["method"],
        "trial": run["trial"],
        "last_top1": summary.get("last_top1"),
        "best_top1": summary.get("best_top1"),
        "best_epoch": summary.get("best_epoch"),
        "epochs": summary.get("epochs_done"),
        "seconds": round(float(summary.get("seconds") or 0.0), 2),
        "init_epochs": summary.get("init_epochs_done", 0),
        "init_seconds": round(float(summary.get("init_seconds") or 0.0), 2),
        "dir": str(folder),
    }


def _save_results(out: Path, cfg: Table1Config, rows: list[dict]) -> dict[str, Any]:
    results = {
        "name": cfg.name,
        "config": cfg.to_dict(),
        "runs": rows,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic_write_text(out / filenames.RESULTS, json.dumps(results, indent=1))
    atomic_write_text(out / filenames.RESULTS_CSV, csv_text(rows))
    atomic_write_text(out / filenames.TABLE1_MD, render_table1(results) + "\n")
    return results


def run_table1(
    config: Table1Config | str | os.PathLike | Mapping[str, Any], progress: bool | str = True
) -> dict[str, Any]:
    """Run (or continue) a Table-1 job; returns the results written to ``<out>/results.json``.

    Args:
        config: a :class:`Table1Config`, a JSON file of one, or a dict.
        progress: tqdm bars (overall runs, epochs, batches); ``"epochs"``: a printed line per
            epoch of every run instead; ``False``: silent.

    Returns:
        ``{"name", "config", "runs": [row, ...], "updated"}``; a row has ``role`` (``teacher`` or
        ``student``), ``teacher``, ``student``, ``method``, ``trial``, ``last_top1``,
        ``best_top1``, ``best_epoch``, ``epochs``, ``seconds`` (the main stage's),
        ``init_epochs``, ``init_seconds`` (an initialisation stage's: AB, FT, FSP), ``dir``.
        The results file (and
        ``results.csv``, ``table1.md``) is rewritten after every run.
    """
    cfg = Table1Config.coerce(config)
    out = Path(cfg.out)
    device = resolve_device(cfg.device)
    train_set = load_split(
        cfg.data, True, cfg.data_root, cfg.train_per_class, cfg.data_seed, download=True
    )
    test_set = load_split(
        cfg.data, False, cfg.data_root, cfg.test_per_class, cfg.data_seed, download=True
    )
    loaders: dict[tuple[int, bool], Any] = {}

    def train_loader(batch_size: int, with_index: bool = False):
        key = (batch_size, with_index)
        if key not in loaders:
            loaders[key] = cifar_loader(
                train_set, batch_size, True, device, cfg.pipeline, workers=cfg.workers,
                with_index=with_index,
            )  # fmt: skip
        return loaders[key]

    test_loader = cifar_loader(
        test_set, cfg.eval_batch_size, False, device, cfg.pipeline, workers=cfg.workers
    )
    num_classes = len(train_set.classes)
    students = _plan(cfg)
    teachers = list(dict.fromkeys(t for t, _ in cfg.pairs))
    needs_embedding = any(get_method(m).static for m in cfg.methods)
    rows: list[dict] = []
    overall = tqdm(
        total=len(teachers) * (1 + needs_embedding) + len(students),
        desc=cfg.name,
        unit="run",
        disable=not show_bars(progress),
    )

    for name in teachers if needs_embedding else ():  # a changed embedding config stops here
        finished_embedding(out / "teachers" / name, train_set, cfg.embedding, name)
    model_files: dict[str, Path] = {}
    for name in teachers:
        folder = out / "teachers" / name
        tcfg = cfg.teacher_run()
        overall.set_postfix_str(f"teacher {name}")
        if name in cfg.teacher_checkpoints:
            path = Path(cfg.teacher_checkpoints[name])
            model = load_model(path, name, num_classes).to(device)
            test = evaluate(model, test_loader, device)
            summary = {"last_top1": test["top1"], "best_top1": test["top1"], "epochs_done": 0}
            model_files[name] = path
        else:
            trainer = train_model(
                name,
                train_loader(tcfg.batch_size),
                test_loader,
                tcfg,
                folder,
                num_classes=num_classes,
                device=device,
                progress=progress,
            )
            summary = trainer.summary.__dict__
            model_files[name] = folder / filenames.MODEL
        rows.append(
            _row("teacher", {"student": name, "method": "none", "trial": 0}, summary, folder)
        )
        _save_results(out, cfg, rows)
        overall.update()
        if needs_embedding:
            overall.set_postfix_str(f"embedding {name}")
            embed_teacher(
                model_files[name],
                train_set,
                cfg.embedding,
                folder,
                teacher_arch=name,
                batch_size=tcfg.batch_size,
                device=device,
                pipeline=cfg.pipeline,
                progress=progress,
            )
            overall.update()

    for run in students:
        folder = _run_dir(out, run)
        scfg = cfg.student_run(run["method"], run["trial"])
        overall.set_postfix_str(f"{run['method']} {run['student']} trial {run['trial']}")
        teacher = run["teacher"]
        method = get_method(run["method"])
        trainer = train_model(
            run["student"],
            train_loader(scfg.batch_size, method.needs_index),
            test_loader,
            scfg,
            folder,
            teacher_model=model_files[teacher] if method.needs_teacher else None,
            teacher_arch=teacher,
            embedding=out / "teachers" / teacher / filenames.EMBEDDING if method.static else None,
            num_classes=num_classes,
            device=device,
            progress=progress,
        )
        rows.append(_row("student", run, trainer.summary.__dict__, folder))
        results = _save_results(out, cfg, rows)
        overall.update()
    overall.close()
    return results if students else _save_results(out, cfg, rows)
