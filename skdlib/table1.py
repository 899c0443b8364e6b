"""The paper's Table 1 as a batch job: pairs × methods × trials, one results file, one table.

A JSON config (see ``configs/table1_paper.json`` and ``configs/table1_synthetic.json``) names the
teacher/student pairs, the methods, the number of trials and the training settings.
:func:`run_table1` then

1. trains each teacher once (``method="none"``) — or loads it from ``teacher_checkpoints``;
2. embeds each teacher's neurons at its stage outputs (only if an SKD method is requested);
3. trains every student run; ``"none"`` (the student trained alone) runs once per student
   architecture and trial and serves every pair with that student;

and writes ``results.json`` / ``results.csv`` (one row per run) and ``table1.md``, the Table-1
layout with our numbers beside the published ones. Every run has its own folder with per-epoch
checkpoints, so an interrupted job restarted with the same config continues where it stopped
and finished runs are not repeated.

Config keys (all optional except ``out``)::

    {"name": "...", "out": "runs/table1",
     "data": "cifar100" | "synthetic", "data_root": "data",
     "train_per_class": 50, "test_per_class": 10, "data_seed": 0,     # synthetic only
     "pairs": "paper" | [["resnet56", "resnet20"], ...],
     "methods": ["none", "kd", "skd", "sp", "rkd", "at", "pkt"], "trials": 3,
     "teacher": {DistillConfig fields}, "student": {DistillConfig fields},
     "embedding": {EmbeddingConfig fields},
     "teacher_checkpoints": {"resnet56": "path/to/model.pt"},
     "device": "auto", "pipeline": "auto", "workers": 0, "eval_batch_size": 256}

Example (a few CPU minutes)::

    cfg = load_config("configs/table1_synthetic.json")
    results = run_table1(cfg)          # or: python -m skdlib table1 --config ...
    print(render_table1(results))
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .checkpoint import atomic_write_text, csv_text
from .cifar import DATASETS, load_split, make_loader
from .distill import (
    EMBEDDING_METHODS,
    METHODS,
    DistillConfig,
    embed_teacher,
    evaluate,
    load_model,
    train_model,
)
from .embedding import EmbeddingConfig
from .models import MODEL_NAMES, PAPER_PAIRS
from .runtime import resolve_device

__all__ = [
    "PUBLISHED",
    "ROWS",
    "plot_results",
    "Table1Config",
    "load_config",
    "pair_label",
    "render_table1",
    "run_table1",
    "synthetic_end_to_end",
]

#: Published top-1 (%) of the paper's Table 1 for the methods implemented here; ``"teacher"`` and
#: ``"none"`` (the student trained alone) are the first two rows. KD, PKT, AT, SP and RKD are
#: CRD's figures, which the paper reprints; ``"skd+kd"`` has no published number.
PUBLISHED: dict[tuple[str, str], dict[str, float]] = {
    ("wrn_40_2", "wrn_16_2"): {
        "teacher": 75.61, "none": 73.26, "kd": 74.92, "pkt": 74.54, "at": 74.08, "sp": 73.83,
        "rkd": 73.35, "skd": 73.79,
    },
    ("resnet56", "resnet20"): {
        "teacher": 72.34, "none": 69.06, "kd": 70.66, "pkt": 70.34, "at": 70.55, "sp": 69.67,
        "rkd": 69.61, "skd": 70.23,
    },
    ("resnet110", "resnet20"): {
        "teacher": 74.31, "none": 69.06, "kd": 70.67, "pkt": 70.25, "at": 70.22, "sp": 70.04,
        "rkd": 69.25, "skd": 70.27,
    },
    ("resnet110", "resnet32"): {
        "teacher": 74.31, "none": 71.14, "kd": 73.08, "pkt": 72.61, "at": 72.31, "sp": 72.69,
        "rkd": 71.82, "skd": 71.86,
    },
    ("resnet32x4", "resnet8x4"): {
        "teacher": 79.42, "none": 72.50, "kd": 73.33, "pkt": 73.64, "at": 73.44, "sp": 72.94,
        "rkd": 71.90, "skd": 72.91,
    },
    ("vgg13", "vgg8"): {
        "teacher": 74.64, "none": 70.36, "kd": 72.98, "pkt": 72.88, "at": 71.43, "sp": 72.68,
        "rkd": 71.48, "skd": 71.09,
    },
}  # fmt: skip

#: Row order and labels of the rendered table.
ROWS: dict[str, str] = {
    "teacher": "Teacher",
    "none": "Student",
    "kd": "KD",
    "pkt": "PKT",
    "at": "AT",
    "sp": "SP",
    "rkd": "RKD",
    "skd": "SKD",
    "skd+kd": "SKD+KD",
}

_LABELS = {
    "wrn_40_2": "WRN-40-2",
    "wrn_16_2": "WRN-16-2",
}


def pair_label(teacher: str, student: str) -> str:
    """Column header of a pair, e.g. ``"WRN-40-2 → WRN-16-2"``.

    Example:
        >>> pair_label("resnet32x4", "resnet8x4")
        'resnet32x4 → resnet8x4'
    """
    return f"{_LABELS.get(teacher, teacher)} → {_LABELS.get(student, student)}"


@dataclass
class Table1Config:
    """A Table-1 job; see the module docstring for the JSON form. Defaults: the paper's."""

    out: str
    name: str = "Table 1"
    data: str = "cifar100"
    data_root: str = "data"
    train_per_class: int | None = None
    test_per_class: int | None = None
    data_seed: int = 0
    pairs: list[tuple[str, str]] = field(default_factory=lambda: list(PAPER_PAIRS))
    methods: list[str] = field(default_factory=lambda: ["none", "kd", "skd"])
    trials: int = 3
    teacher: dict[str, Any] = field(default_factory=dict)
    student: dict[str, Any] = field(default_factory=dict)
    embedding: dict[str, Any] = field(default_factory=dict)
    teacher_checkpoints: dict[str, str] = field(default_factory=dict)
    device: str = "auto"
    pipeline: str = "auto"
    workers: int = 0
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        if self.pairs == "paper":
            self.pairs = list(PAPER_PAIRS)
        pairs = []
        for pair in self.pairs:
            if len(pair) != 2 or any(m not in MODEL_NAMES for m in pair):
                raise ValueError(
                    f"config 'pairs': {pair!r} is not a [teacher, student] pair of model names "
                    f"({', '.join(MODEL_NAMES)})"
                )
            pairs.append((str(pair[0]), str(pair[1])))
        self.pairs = pairs
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ValueError(f"config 'methods': unknown {bad}; choose from {', '.join(METHODS)}")
        if self.data not in DATASETS:
            raise ValueError(f"config 'data' must be one of {DATASETS}, got {self.data!r}")
        if self.trials < 1:
            raise ValueError(f"config 'trials' must be >= 1, got {self.trials}")
        for key in ("teacher", "student"):
            overrides = getattr(self, key)
            if "method" in overrides:
                raise ValueError(f"config '{key}' must not set 'method' (set 'methods' instead)")
            DistillConfig.from_dict(overrides)  # unknown keys fail here, with the valid ones
        EmbeddingConfig(**self.embedding)

    def teacher_config(self) -> DistillConfig:
        return DistillConfig.from_dict({**self.teacher, "method": "none"})

    def student_config(self, method: str, trial: int) -> DistillConfig:
        base = DistillConfig.from_dict(self.student)
        seed = base.seed + trial
        return DistillConfig.from_dict({**self.student, "method": method, "seed": seed})

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["pairs"] = [list(p) for p in self.pairs]
        return out


def load_config(source: str | os.PathLike | Mapping[str, Any]) -> Table1Config:
    """A :class:`Table1Config` from a JSON file or a dict; unknown keys are an error.

    Example:
        >>> load_config({"out": "runs/x", "pairs": [["resnet56", "resnet20"]]}).pairs
        [('resnet56', 'resnet20')]
    """
    if isinstance(source, Mapping):
        values, where = dict(source), "config"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"Table-1 config not found: {path}")
        try:
            values, where = json.loads(path.read_text()), str(path)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    known = set(Table1Config.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; valid keys: {sorted(known)}")
    if "out" not in values:
        raise ValueError(f"{where}: 'out' (the output folder) is required")
    return Table1Config(**values)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


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
        "dir": str(folder),
    }


def _save_results(out: Path, cfg: Table1Config, rows: list[dict]) -> dict[str, Any]:
    results = {
        "name": cfg.name,
        "config": cfg.to_dict(),
        "runs": rows,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic_write_text(out / "results.json", json.dumps(results, indent=1))
    atomic_write_text(out / "results.csv", csv_text(rows))
    atomic_write_text(out / "table1.md", render_table1(results) + "\n")
    return results


def run_table1(
    config: Table1Config | str | os.PathLike | Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    """Run (or continue) a Table-1 job; returns the results written to ``<out>/results.json``.

    Args:
        config: a :class:`Table1Config`, a JSON path or a dict (see :func:`load_config`).
        progress: tqdm bars (overall runs, epochs, batches).

    Returns:
        ``{"name", "config", "runs": [row, ...], "updated"}``; a row has ``role`` (``teacher`` or
        ``student``), ``teacher``, ``student``, ``method``, ``trial``, ``last_top1``,
        ``best_top1``, ``best_epoch``, ``epochs``, ``seconds``, ``dir``. The results file (and
        ``results.csv``, ``table1.md``) is rewritten after every run.
    """
    cfg = config if isinstance(config, Table1Config) else load_config(config)
    out = Path(cfg.out)
    device = resolve_device(cfg.device)
    train_set = load_split(
        cfg.data, True, cfg.data_root, cfg.train_per_class, cfg.data_seed, download=True
    )
    test_set = load_split(
        cfg.data, False, cfg.data_root, cfg.test_per_class, cfg.data_seed, download=True
    )
    loaders: dict[int, Any] = {}

    def train_loader(batch_size: int):
        if batch_size not in loaders:
            loaders[batch_size] = make_loader(
                train_set, batch_size, True, device, cfg.pipeline, workers=cfg.workers
            )
        return loaders[batch_size]

    test_loader = make_loader(
        test_set, cfg.eval_batch_size, False, device, cfg.pipeline, workers=cfg.workers
    )
    num_classes = len(train_set.classes)
    students = _plan(cfg)
    teachers = list(dict.fromkeys(t for t, _ in cfg.pairs))
    needs_embedding = any(m in EMBEDDING_METHODS for m in cfg.methods)
    rows: list[dict] = []
    overall = tqdm(
        total=len(teachers) * (1 + needs_embedding) + len(students),
        desc=cfg.name,
        unit="run",
        disable=not progress,
    )

    model_files: dict[str, Path] = {}
    for name in teachers:
        folder = out / "teachers" / name
        tcfg = cfg.teacher_config()
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
            model_files[name] = folder / "model.pt"
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
                EmbeddingConfig(**cfg.embedding),
                folder,
                teacher_name=name,
                batch_size=tcfg.batch_size,
                device=device,
                pipeline=cfg.pipeline,
                progress=progress,
            )
            overall.update()

    for run in students:
        folder = _run_dir(out, run)
        scfg = cfg.student_config(run["method"], run["trial"])
        overall.set_postfix_str(f"{run['method']} {run['student']} trial {run['trial']}")
        teacher = run["teacher"]
        needs_teacher = run["method"] not in ("none", "skd")
        trainer = train_model(
            run["student"],
            train_loader(scfg.batch_size),
            test_loader,
            scfg,
            folder,
            teacher=model_files[teacher] if needs_teacher else None,
            teacher_name=teacher,
            embedding=out / "teachers" / teacher / "embedding.pt"
            if run["method"] in EMBEDDING_METHODS
            else None,
            num_classes=num_classes,
            device=device,
            progress=progress,
        )
        rows.append(_row("student", run, trainer.summary.__dict__, folder))
        results = _save_results(out, cfg, rows)
        overall.update()
    overall.close()
    return results if students else _save_results(out, cfg, rows)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _cell(values: Sequence[float], published: float | None) -> str:
    if values:
        mean = statistics.fmean(values)
        ours = f"{mean:.2f}"
        if len(values) > 1:
            ours += f" ± {statistics.stdev(values):.2f}"
    else:
        ours = "—"
    paper = f"{published:.2f}" if published is not None else "—"
    return f"{ours} ({paper})"


def render_table1(results: Mapping[str, Any], metric: str = "last_top1") -> str:
    """The Table-1 layout as Markdown: pairs as columns, methods as rows, ``ours (paper)``.

    "ours" is the mean (± sample std over trials when there are several) of ``metric``
    (``"last_top1"``, CRD's and the paper's choice, or ``"best_top1"``); "paper" is
    :data:`PUBLISHED` (— where there is none, e.g. a pair outside the paper).

    Args:
        results: as returned by :func:`run_table1` (or read from ``results.json``).

    Example:
        >>> runs = [{"role": "student", "teacher": "resnet56", "student": "resnet20",
        ...          "method": "skd", "trial": t, "last_top1": v} for t, v in enumerate([70, 71])]
        >>> cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["skd"]}
        >>> print(render_table1({"config": cfg, "runs": runs}).splitlines()[-1])
        | SKD | 70.50 ± 0.71 (70.23) |
    """
    if metric not in ("last_top1", "best_top1"):
        raise ValueError(f"metric must be 'last_top1' or 'best_top1', got {metric!r}")
    cfg = results.get("config", {})
    pairs = [tuple(p) for p in cfg.get("pairs", [])]
    methods = [m for m in ROWS if m == "teacher" or m in cfg.get("methods", [])]
    runs = results.get("runs", [])

    def values(pair: tuple[str, str], row: str) -> list[float]:
        teacher, student = pair
        out = []
        for r in runs:
            if r.get(metric) is None or (isinstance(r[metric], float) and math.isnan(r[metric])):
                continue
            if row == "teacher":
                hit = r["role"] == "teacher" and r["student"] == teacher
            elif row == "none":
                hit = r["role"] == "student" and r["method"] == "none" and r["student"] == student
            else:
                hit = r["role"] == "student" and (r["teacher"], r["student"], r["method"]) == (
                    teacher,
                    student,
                    row,
                )
            if hit:
                out.append(float(r[metric]))
        return out

    header = "| |" + "".join(f" {pair_label(*p)} |" for p in pairs)
    lines = [
        f"{results.get('name', 'Table 1')}: top-1 (%) on the test set, {metric.replace('_', ' ')}"
        " — ours, mean ± std over trials (published)",
        "",
        header,
        "|---|" + "---|" * len(pairs),
    ]
    for row in methods:
        cells = [_cell(values(p, row), PUBLISHED.get(p, {}).get(row)) for p in pairs]
        lines.append(f"| {ROWS[row]} |" + "".join(f" {c} |" for c in cells))
    return "\n".join(lines)


def plot_results(results: Mapping[str, Any], metric: str = "last_top1"):
    """Bar chart of top-1 per method (and the teacher) for every pair of a results dict.

    Returns:
        The matplotlib figure; bars are the mean over trials, labelled with their value.
    """
    import matplotlib.pyplot as plt

    runs = results.get("runs", [])
    pairs = [tuple(p) for p in results.get("config", {}).get("pairs", [])]
    fig, axes = plt.subplots(
        1,
        max(1, len(pairs)),
        figsize=(4.5 * max(1, len(pairs)), 3.4),
        squeeze=False,
        layout="constrained",
    )
    for ax, (teacher, student) in zip(axes[0], pairs, strict=False):
        bars: dict[str, list[float]] = {}
        for r in runs:
            if r["role"] == "teacher" and r["student"] == teacher:
                bars.setdefault(f"teacher\n{teacher}", []).append(r[metric])
            elif (
                r["role"] == "student"
                and r["student"] == student
                and (r["method"] == "none" or r["teacher"] == teacher)
            ):
                bars.setdefault(ROWS.get(r["method"], r["method"]), []).append(r[metric])
        names = list(bars)
        means = [sum(v) / len(v) for v in bars.values()]
        ax.bar(names, means, color=["0.6"] + ["C0"] * (len(names) - 1))
        for i, m in enumerate(means):
            ax.text(i, m, f"{m:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_title(pair_label(teacher, student), fontsize=9)
        ax.set_ylabel(f"top-1 % ({metric.replace('_', ' ')})")
    return fig


# --------------------------------------------------------------------------------------------
# The offline demonstration
# --------------------------------------------------------------------------------------------

SYNTHETIC_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "table1_synthetic.json"


def synthetic_end_to_end(
    out: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> tuple[dict[str, Any], str]:
    """Teacher → embedding → SKD student (with the plain student and KD beside it), offline.

    Runs ``configs/table1_synthetic.json``: resnet56 → resnet20 on the generated 100-class
    stand-in (:class:`skdlib.data.SyntheticCIFAR100`, 10 training images per class, 10
    epochs each), the embedding with Adam for 3 epochs. About 5 minutes on an idle 2-core CPU;
    a second call reuses the finished runs and returns at once.

    The numbers describe the stand-in and these short schedules, not CIFAR-100 (the published
    column is there for orientation). With so few steps the deep teacher is *weaker* than the
    student trained alone, and KD, which follows the teacher's soft labels, suffers for it;
    SKD only asks the student's neurons to keep the teacher's relational structure.

    Args:
        out: output folder (default: the config's, ``runs/table1_synthetic``).
        overrides: config keys to replace, e.g. ``{"trials": 2}``.

    Returns:
        ``(results, table)``: the results dict and the rendered Markdown table.
    """
    if not SYNTHETIC_CONFIG.is_file():
        raise FileNotFoundError(
            f"{SYNTHETIC_CONFIG} not found: the demo's settings live in the repository's "
            "configs/ folder; install skdlib from a checkout (pip install -e .)"
        )
    values = {**json.loads(SYNTHETIC_CONFIG.read_text()), **dict(overrides or {})}
    if out is not None:
        values["out"] = str(out)
    results = run_table1(load_config(values), progress=progress)
    return results, render_table1(results)


# --------------------------------------------------------------------------------------------
# Command line (registered by skdlib.cli)
# --------------------------------------------------------------------------------------------


def add_commands(sub) -> None:
    """Register ``distill``, ``embed-teacher`` and ``table1`` on an argparse subparsers object."""
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", default="cifar100", choices=list(DATASETS))
    common.add_argument("--data-root", default="data")
    common.add_argument("--per-class", type=int, default=None, help="synthetic train images")
    common.add_argument("--device", default="auto")
    common.add_argument("--pipeline", default="auto", choices=["auto", "device", "torchvision"])
    common.add_argument("--workers", type=int, default=0)
    common.add_argument("--out", required=True, help="run folder (resumes if it has a checkpoint)")
    common.add_argument("--no-progress", action="store_true")

    d = sub.add_parser(
        "distill",
        parents=[common],
        help="train a CIFAR-100 model: a teacher (--method none) or a student (kd, skd, ...)",
    )
    d.add_argument("--student", required=True, choices=list(MODEL_NAMES))
    d.add_argument("--method", default="none", choices=list(METHODS))
    d.add_argument("--teacher", help="teacher model file (kd, sp, rkd, at, pkt, skd+kd)")
    d.add_argument("--teacher-name", help="teacher architecture (RepDistiller checkpoints)")
    d.add_argument("--embedding", help="teacher embedding file (skd, skd+kd)")
    d.add_argument("--epochs", type=int, default=240)
    d.add_argument("--batch-size", type=int, default=64)
    d.add_argument("--lr", type=float, default=0.05)
    d.add_argument("--beta", type=float, default=None, help="default: the method's")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(run=_cli_distill)

    e = sub.add_parser(
        "embed-teacher", parents=[common], help="embed a trained teacher's stage outputs (Eq. 1)"
    )
    e.add_argument("--teacher", required=True, help="teacher model file")
    e.add_argument("--teacher-name", help="teacher architecture (RepDistiller checkpoints)")
    e.add_argument("--epochs", type=int, default=100)
    e.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    e.add_argument("--lr", type=float, default=None, help="default: 0.1 sgd, 0.01 adam")
    e.add_argument("--dim", type=int, default=16)
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(run=_cli_embed_teacher)

    t = sub.add_parser("table1", help="run a Table-1 config and render the table")
    t.add_argument("--config", required=True, help="JSON config, e.g. configs/table1_paper.json")
    t.add_argument("--out", help="override the config's output folder")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(run=_cli_table1)


def _cli_splits(args, test: bool = True):
    train = load_split(args.data, True, args.data_root, args.per_class)
    return (train, load_split(args.data, False, args.data_root)) if test else (train, None)


def _cli_distill(args) -> None:
    train, test = _cli_splits(args)
    device = resolve_device(args.device)
    cfg = DistillConfig(
        method=args.method,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        beta=args.beta,
        seed=args.seed,
    )
    trainer = train_model(
        args.student,
        make_loader(train, cfg.batch_size, True, device, args.pipeline, workers=args.workers),
        make_loader(test, 256, False, device, args.pipeline, workers=args.workers),
        cfg,
        args.out,
        teacher=args.teacher,
        teacher_name=args.teacher_name,
        embedding=args.embedding,
        num_classes=len(train.classes),
        device=device,
        progress=not args.no_progress,
    )
    s = trainer.summary
    print(
        f"{args.method} {args.student}: last-epoch top-1 {s.last_top1:.2f}, best {s.best_top1:.2f}"
        f" (epoch {s.best_epoch}); metrics in {args.out}/metrics.json",
        flush=True,
    )


def _cli_embed_teacher(args) -> None:
    train, _ = _cli_splits(args, test=False)
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 0.01)
    cfg = EmbeddingConfig(
        dim=args.dim, epochs=args.epochs, lr=lr, optimizer=args.optimizer, seed=args.seed
    )
    emb = embed_teacher(
        args.teacher,
        train,
        cfg,
        args.out,
        teacher_name=args.teacher_name,
        device=args.device,
        pipeline=args.pipeline,
        progress=not args.no_progress,
    )
    print(f"embedded {emb.meta['arch']} {emb.meta['channels']} -> {args.out}/embedding.pt")


def _cli_table1(args) -> None:
    cfg = load_config(args.config)
    if args.out:
        cfg.out = args.out
    results = run_table1(cfg, progress=not args.no_progress)
    print(render_table1(results), flush=True)
    print(f"\nresults: {Path(cfg.out) / 'results.json'}", flush=True)
