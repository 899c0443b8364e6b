"""Table 1 as a bar chart: top-1 per method for each teacher/student pair of a results dict."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ..distill.report import pair_label, table_cells, table_pairs

__all__ = ["plot_results"]


def plot_results(results: Mapping[str, Any], metric: str = "last_top1") -> plt.Figure:
    """Bar chart of top-1 per method (and the teacher) for every pair of a results dict.

    Bars are the mean over trials with a ± sample-std error bar; every trial is a black dot; each
    bar is labelled with its mean, std and training seconds per epoch (the cost beside the
    accuracy).

    Args:
        results: as returned by :func:`skdlib.distill.run_table1` (or its ``results.json``).
        metric: ``"last_top1"`` (CRD's and the paper's choice) or ``"best_top1"``.

    Returns:
        The matplotlib figure, one panel per pair.

    Example:
        >>> runs = [{"role": "student", "teacher": None, "student": "resnet20", "method": "none",
        ...          "trial": t, "last_top1": v} for t, v in enumerate([30.0, 32.0])]
        >>> cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none"]}
        >>> fig = plot_results({"config": cfg, "runs": runs})
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['Student']
    """
    pairs = table_pairs(results)
    fig, axes = plt.subplots(
        1,
        max(1, len(pairs)),
        figsize=(5.0 * max(1, len(pairs)), 3.8),
        squeeze=False,
        layout="constrained",
    )
    for ax, pair in zip(axes[0], pairs, strict=False):
        cells = table_cells(results, pair, metric)
        names = [f"teacher\n{pair[0]}" if c["row"] == "teacher" else c["label"] for c in cells]
        dots = [c["values"] for c in cells]
        means = [statistics.fmean(v) for v in dots]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in dots]
        rates = [c["seconds_per_epoch"] for c in cells]
        x = np.arange(len(names))
        ax.bar(x, means, yerr=stds, capsize=4, color=["0.6"] + ["C0"] * (len(names) - 1))
        for i, values in enumerate(dots):
            ax.plot([i] * len(values), values, "k.", markersize=4)
        for i, (m, sd, rate) in enumerate(zip(means, stds, rates, strict=True)):
            label = f"{m:.1f}" + (f" ± {sd:.1f}" if sd else "")
            if rate is not None:
                label += f"\n{rate:.1f} s/epoch"
            ax.text(i, m + sd, label, ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, names)
        ax.set_ylim(0, max(m + sd for m, sd in zip(means, stds, strict=True)) * 1.25 + 1)
        n = max((len(v) for v in dots[1:]), default=1)
        ax.set_title(f"{pair_label(*pair)} · students: mean ± std of {n} seeds", fontsize=9)
        ax.set_ylabel(f"top-1 % ({metric.replace('_', ' ')})")
    return fig
