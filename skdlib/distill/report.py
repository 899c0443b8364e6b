"""The paper's Table 1 from a job's results: the Markdown table beside the published numbers,
the per-method summaries, and the cells a chart draws (:func:`skdlib.viz.plot_results`).

Rows follow the paper's layout: the teacher and the student alone, then the methods grouped as
the paper groups them — logit-based (KD, PKT, CRD, DKD), feature-based (FitNet, AT, VID, AB,
FT, NST), relation-based (FSP, SP, CC, RKD), static (SKD, SKD+KD), each group under a header
row (:data:`~skdlib.distill.methods.GROUPS`), in registry order within a group — then methods
without a group; a row's label is its method's ``label``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from .methods import GROUPS, METHODS, get_method

__all__ = [
    "PUBLISHED",
    "PAPER_ROWS",
    "pair_label",
    "render_table1",
    "seconds_per_epoch",
    "init_seconds_per_epoch",
    "method_summary",
    "compare_to_plain",
    "table_cells",
    "table_pairs",
]

#: Published top-1 (%) for the six pairs of the paper's Table 1; ``"teacher"`` and ``"none"`` (the
#: student trained alone) are the first two rows. ``"skd"`` is the paper's own figure; every
#: other baseline is CRD's (Tian et al. 2020, Table 1; RepDistiller's README), which the paper
#: reprints; ``"dkd"`` is its authors' (mdistiller's README), which has no resnet110 → resnet20;
#: ``"skd+kd"`` has no published number.
PUBLISHED: dict[tuple[str, str], dict[str, float]] = {
    ("wrn_40_2", "wrn_16_2"): {
        "teacher": 75.61, "none": 73.26, "kd": 74.92, "pkt": 74.54, "crd": 75.48, "dkd": 76.23,
        "fitnet": 73.58, "at": 74.08, "vid": 74.11, "ab": 72.50, "ft": 73.25, "nst": 73.68,
        "fsp": 72.91, "sp": 73.83, "cc": 73.56, "rkd": 73.35, "skd": 73.79,
    },
    ("resnet56", "resnet20"): {
        "teacher": 72.34, "none": 69.06, "kd": 70.66, "pkt": 70.34, "crd": 71.16, "dkd": 71.97,
        "fitnet": 69.21, "at": 70.55, "vid": 70.38, "ab": 69.47, "ft": 69.84, "nst": 69.60,
        "fsp": 69.95, "sp": 69.67, "cc": 69.63, "rkd": 69.61, "skd": 70.23,
    },
    ("resnet110", "resnet20"): {
        "teacher": 74.31, "none": 69.06, "kd": 70.67, "pkt": 70.25, "crd": 71.46,
        "fitnet": 68.99, "at": 70.22, "vid": 70.16, "ab": 69.53, "ft": 70.22, "nst": 69.53,
        "fsp": 70.11, "sp": 70.04, "cc": 69.48, "rkd": 69.25, "skd": 70.27,
    },
    ("resnet110", "resnet32"): {
        "teacher": 74.31, "none": 71.14, "kd": 73.08, "pkt": 72.61, "crd": 73.48, "dkd": 74.11,
        "fitnet": 71.06, "at": 72.31, "vid": 72.61, "ab": 70.98, "ft": 72.37, "nst": 71.96,
        "fsp": 71.89, "sp": 72.69, "cc": 71.48, "rkd": 71.82, "skd": 71.86,
    },
    ("resnet32x4", "resnet8x4"): {
        "teacher": 79.42, "none": 72.50, "kd": 73.33, "pkt": 73.64, "crd": 75.51, "dkd": 76.32,
        "fitnet": 73.50, "at": 73.44, "vid": 73.09, "ab": 73.17, "ft": 72.86, "nst": 73.30,
        "fsp": 72.62, "sp": 72.94, "cc": 72.97, "rkd": 71.90, "skd": 72.91,
    },
    ("vgg13", "vgg8"): {
        "teacher": 74.64, "none": 70.36, "kd": 72.98, "pkt": 72.88, "crd": 73.94, "dkd": 74.68,
        "fitnet": 71.02, "at": 71.43, "vid": 71.23, "ab": 70.94, "ft": 70.58, "nst": 71.53,
        "fsp": 70.23, "sp": 72.68, "cc": 70.71, "rkd": 71.48, "skd": 71.09,
    },
}  # fmt: skip


#: The paper's Table 1 rows, in its order: the teacher, the student alone, then its thirteen
#: comparison methods by group and SKD (DKD and SKD+KD, not in the paper, join their groups).
PAPER_ROWS: tuple[str, ...] = (
    "teacher", "none", "kd", "pkt", "crd", "fitnet", "at", "vid", "ab", "ft", "nst", "fsp", "sp",
    "cc", "rkd", "skd",
)  # fmt: skip


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


def _mean_std(values: Sequence[float]) -> str:
    if not values:
        return "—"
    text = f"{statistics.fmean(values):.2f}"
    if len(values) > 1:
        text += f" ± {statistics.stdev(values):.2f}"
    return text


def _select(runs: Sequence[Mapping[str, Any]], pair: tuple[str, str], row: str) -> list[dict]:
    """The runs of one table cell: the teacher, the student alone, or a method on the pair."""
    teacher, student = pair
    out = []
    for r in runs:
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
            out.append(dict(r))
    return out


def _finite(runs: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    values = [r.get(key) for r in runs]
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def seconds_per_epoch(runs: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean training seconds per epoch over ``runs`` (rows with ``seconds`` and ``epochs``).

    Example:
        >>> seconds_per_epoch([{"seconds": 30.0, "epochs": 3}, {"seconds": 36.0, "epochs": 3}])
        11.0
    """
    rates = [
        float(r["seconds"]) / r["epochs"] for r in runs if r.get("seconds") and r.get("epochs")
    ]
    return statistics.fmean(rates) if rates else None


def _group(row: str) -> str | None:
    return None if row in ("teacher", "none") or row not in METHODS else METHODS[row].group


def _table_rows(results: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    cfg = results.get("config", {})
    pairs = [tuple(p) for p in cfg.get("pairs", [])]
    chosen = cfg.get("methods", [])
    methods = ["teacher"] + (["none"] if "none" in chosen else [])
    registry = [m for m in METHODS if m in chosen and m != "none"]
    for group in GROUPS:
        methods += [m for m in registry if _group(m) == group]
    methods += [m for m in chosen if m not in methods]
    return pairs, methods


def init_seconds_per_epoch(runs: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean seconds per epoch of the initialisation stages of ``runs`` (rows with
    ``init_seconds`` and ``init_epochs``; ``None`` when none had one).

    Example:
        >>> init_seconds_per_epoch([{"init_seconds": 6.0, "init_epochs": 2}, {"seconds": 1.0}])
        3.0
    """
    rates = [
        float(r["init_seconds"]) / r["init_epochs"]
        for r in runs
        if r.get("init_seconds") and r.get("init_epochs")
    ]
    return statistics.fmean(rates) if rates else None


def render_table1(results: Mapping[str, Any], metric: str = "last_top1") -> str:
    """The Table-1 layout as Markdown: methods as rows, grouped under a header row per group;
    per pair, our top-1, our seconds per epoch, and the published top-1 — in separate columns,
    never mixed in one cell.

    "ours" is the mean (± sample std over trials when there are several; ``n`` trials) of
    ``metric`` (``"last_top1"``, CRD's and the paper's choice, or ``"best_top1"``); "s/epoch" is
    :func:`seconds_per_epoch` of the same runs (their main stage; a method's initialisation
    stage adds "(init ...)", its own seconds per init epoch); "paper" is :data:`PUBLISHED` (—
    where there is none, e.g. a pair outside the paper, whose setting is not ours anyway).

    Args:
        results: as returned by :func:`~skdlib.distill.run_table1` (or read from
            ``results.json``).

    Example:
        >>> runs = [{"role": "student", "teacher": "resnet56", "student": "resnet20",
        ...          "method": "skd", "trial": t, "last_top1": v, "seconds": 20.0, "epochs": 4}
        ...         for t, v in enumerate([70, 71])]
        >>> cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["skd"]}
        >>> print(render_table1({"config": cfg, "runs": runs}).splitlines()[-1])
        | SKD | 70.50 ± 0.71 (n=2) | 5.0 | 70.23 |
    """
    if metric not in ("last_top1", "best_top1"):
        raise ValueError(f"metric must be 'last_top1' or 'best_top1', got {metric!r}")
    pairs, methods = _table_rows(results)
    runs = results.get("runs", [])
    header = "| |" + "".join(
        f" {pair_label(*p)}: ours | s/epoch | paper (published) |" for p in pairs
    )
    lines = [
        f"{results.get('name', 'Table 1')}: top-1 (%) on the test set, {metric.replace('_', ' ')}"
        " — ours: mean ± std over trials; s/epoch: our training seconds per epoch; paper: the"
        " published number for its own setting",
        "",
        header,
        "|---|" + "---|---|---|" * len(pairs),
    ]
    group = None
    for row in methods:
        if _group(row) != group and _group(row) is not None:
            group = _group(row)
            lines.append(f"| *{GROUPS[group]}* |" + " |" * (3 * len(pairs)))
        cells = []
        for p in pairs:
            chosen = _select(runs, p, row)
            values = _finite(chosen, metric)
            ours = _mean_std(values) + (f" (n={len(values)})" if values else "")
            rate, init = seconds_per_epoch(chosen), init_seconds_per_epoch(chosen)
            published = PUBLISHED.get(p, {}).get(row)
            seconds = ("—" if rate is None else f"{rate:.1f}") + (
                "" if init is None else f" (init {init:.1f})"
            )
            cells += [ours, seconds, "—" if published is None else f"{published:.2f}"]
        lines.append(f"| {_row_label(row)} |" + "".join(f" {c} |" for c in cells))
    return "\n".join(lines)


def method_summary(
    results: Mapping[str, Any], metric: str = "last_top1", pair: tuple[str, str] | None = None
) -> dict[str, dict[str, float | int | None]]:
    """Per row of the table (``"teacher"``, ``"none"``, each method) for one pair (default: the
    first): ``mean``, ``std`` (sample std; 0 for one trial), ``n`` trials and
    ``seconds_per_epoch``. Rows without runs are left out.

    Example:
        >>> runs = [{"role": "student", "teacher": None, "student": "resnet20", "method": "none",
        ...          "trial": t, "last_top1": v, "seconds": 9.0, "epochs": 3}
        ...         for t, v in enumerate([30.0, 32.0])]
        >>> cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none"]}
        >>> method_summary({"config": cfg, "runs": runs})["none"]
        {'mean': 31.0, 'std': 1.4142135623730951, 'n': 2, 'seconds_per_epoch': 3.0}
    """
    pairs, methods = _table_rows(results)
    if not pairs:
        return {}
    pair = tuple(pair) if pair is not None else pairs[0]
    out: dict[str, dict[str, float | int | None]] = {}
    for row in methods:
        chosen = _select(results.get("runs", []), pair, row)
        values = _finite(chosen, metric)
        if values:
            out[row] = {
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "n": len(values),
                "seconds_per_epoch": seconds_per_epoch(chosen),
            }
    return out


def compare_to_plain(
    results: Mapping[str, Any], metric: str = "last_top1", pair: tuple[str, str] | None = None
) -> list[str]:
    """Each method against the student trained alone, in plain words.

    A difference counts as real only when it exceeds twice its standard error
    (``sqrt(s_a²/n_a + s_b²/n_b)`` from the trials' sample stds); otherwise it is "within
    noise". When one side has a single run (the teacher, usually), the other side's variance
    stands in for both: ``s·sqrt(1/n_a + 1/n_b)``. With one run on each side there is no noise
    estimate, and the sentence says so.

    Returns:
        One sentence per method (and one for the teacher), for ``pair`` (default: the first).

    Example:
        >>> runs = [{"role": "student", "teacher": None, "student": "resnet20", "method": "none",
        ...          "trial": t, "last_top1": v} for t, v in enumerate([30.0, 31.0, 29.0])]
        >>> runs += [{"role": "student", "teacher": "resnet56", "student": "resnet20",
        ...           "method": "kd", "trial": t, "last_top1": v}
        ...          for t, v in enumerate([30.5, 29.5, 31.0])]
        >>> cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none", "kd"]}
        >>> print(compare_to_plain({"config": cfg, "runs": runs})[0])
        KD: 30.33 vs 30.00 alone (+0.33 points, 3 vs 3 trials): within noise (2 s.e. = 1.45).
    """
    rows = method_summary(results, metric, pair)
    if "none" not in rows:
        return [] if not rows else ["No run of the student alone: nothing to compare with."]
    base = rows["none"]
    lines = []
    for row, got in rows.items():
        if row == "none":
            continue
        diff = got["mean"] - base["mean"]
        head = (
            f"{_row_label(row)}: {got['mean']:.2f} vs {base['mean']:.2f} alone "
            f"({diff:+.2f} points, {got['n']} vs {base['n']} trials)"
        )
        if got["n"] < 2 and base["n"] < 2:
            lines.append(
                head + ": one trial each, so no estimate of the noise; do not read it as an effect."
            )
            continue
        if got["n"] >= 2 and base["n"] >= 2:
            se = math.sqrt(got["std"] ** 2 / got["n"] + base["std"] ** 2 / base["n"])
        else:  # one side has one run (e.g. the teacher): borrow the other side's variance
            spread = (got if got["n"] >= 2 else base)["std"] ** 2
            se = math.sqrt(spread * (1 / got["n"] + 1 / base["n"]))
        if abs(diff) <= 2 * se:
            verdict = f"within noise (2 s.e. = {2 * se:.2f})"
        else:
            verdict = ("better" if diff > 0 else "worse") + f" beyond noise (2 s.e. = {2 * se:.2f})"
        lines.append(f"{head}: {verdict}.")
    return lines


def table_cells(
    results: Mapping[str, Any], pair: tuple[str, str], metric: str = "last_top1"
) -> list[dict[str, Any]]:
    """The rows of one pair's column, in table order, each with the trials' values: what a chart
    of the table draws (:func:`skdlib.viz.plot_results`). Rows without runs are left out.

    Returns:
        ``[{"row", "label", "values", "seconds_per_epoch"}, ...]``; ``row`` is ``"teacher"``,
        ``"none"`` or a method, ``label`` its row label.

    Example:
        >>> runs = [{"role": "student", "teacher": None, "student": "resnet20", "method": "none",
        ...          "trial": 0, "last_top1": 30.0, "seconds": 9.0, "epochs": 3}]
        >>> cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none"]}
        >>> table_cells({"config": cfg, "runs": runs}, ("resnet56", "resnet20"))
        [{'row': 'none', 'label': 'Student', 'values': [30.0], 'seconds_per_epoch': 3.0}]
    """
    _, rows = _table_rows(results)
    cells = []
    for row in rows:
        chosen = _select(results.get("runs", []), tuple(pair), row)
        values = _finite(chosen, metric)
        if values:
            cells.append(
                {
                    "row": row,
                    "label": _row_label(row),
                    "values": values,
                    "seconds_per_epoch": seconds_per_epoch(chosen),
                }
            )
    return cells


def table_pairs(results: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(teacher, student)`` pairs of a results dict, in its config's order.

    Example:
        >>> table_pairs({"config": {"pairs": [["resnet56", "resnet20"]]}})
        [('resnet56', 'resnet20')]
    """
    return _table_rows(results)[0]
