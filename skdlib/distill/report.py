"""The paper's Table 1 from a job's results: the Markdown table beside the published numbers,
and a bar chart.

Rows follow the paper's order (teacher, student alone, KD, PKT, AT, SP, RKD, SKD), then any other
method of the job in registry order; a row's label is its method's ``label``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt

from .methods import get_method

__all__ = ["PUBLISHED", "PAPER_ROWS", "pair_label", "render_table1", "plot_results"]

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


#: Row order of the paper's table; ``"teacher"`` and ``"none"`` (the student alone) first.
PAPER_ROWS: tuple[str, ...] = ("teacher", "none", "kd", "pkt", "at", "sp", "rkd", "skd")


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


def _row_label(row: str) -> str:
    return "Teacher" if row == "teacher" else get_method(row).label


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
        results: as returned by :func:`~skdlib.distill.run_table1` (or read from
            ``results.json``).

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
    chosen = cfg.get("methods", [])
    methods = [m for m in PAPER_ROWS if m == "teacher" or m in chosen]
    methods += [m for m in chosen if m not in methods]
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
        lines.append(f"| {_row_label(row)} |" + "".join(f" {c} |" for c in cells))
    return "\n".join(lines)


def plot_results(results: Mapping[str, Any], metric: str = "last_top1") -> plt.Figure:
    """Bar chart of top-1 per method (and the teacher) for every pair of a results dict.

    Returns:
        The matplotlib figure; bars are the mean over trials, labelled with their value.
    """
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
                bars.setdefault(_row_label(r["method"]), []).append(r[metric])
        names = list(bars)
        means = [sum(v) / len(v) for v in bars.values()]
        ax.bar(names, means, color=["0.6"] + ["C0"] * (len(names) - 1))
        for i, m in enumerate(means):
            ax.text(i, m, f"{m:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_title(pair_label(teacher, student), fontsize=9)
        ax.set_ylabel(f"top-1 % ({metric.replace('_', ' ')})")
    return fig
