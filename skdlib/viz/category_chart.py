"""NetDissect's bar chart of a layer: its interpretable units per concept, grouped by category.

One bar per concept that is the best concept of at least one interpretable unit (IoU above the
rule, :data:`~skdlib.dissect.rules.INTERPRETABLE_IOU`); its height is that number of units. Bars
are grouped by category in NetDissect's order (object, scene, part, material, texture, color;
others after, as the dissection lists them), sorted within a group by units then by the best
IoU, coloured by category with NetDissect's palette on a light band naming the group's count::

    fig = plot_category_bars(result, "layer4")
    save_figure(fig, "runs/dissect/report/layer4-categories.png")
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure

from ..dissect import DissectionResult
from ..dissect.rules import INTERPRETABLE_IOU

__all__ = [
    "CATEGORY_ORDER",
    "CATEGORY_COLOURS",
    "ConceptBar",
    "category_rank",
    "concept_bars",
    "plot_category_bars",
]

#: NetDissect's order of the categories in its bar chart and report.
CATEGORY_ORDER = ("object", "scene", "part", "material", "texture", "color")
#: ``{category: (bar colour, band colour)}``: NetDissect's palette.
CATEGORY_COLOURS = {
    "object": ("#4B4CBF", "#B6B6F2"),
    "scene": ("#55B05B", "#B6F2BA"),
    "part": ("#50BDAC", "#A5E5DB"),
    "material": ("#D4CF24", "#F2F1B6"),
    "texture": ("#F0883B", "#F2CFB6"),
    "color": ("#D92E2B", "#F2B6B6"),
}
_OTHER = ("#777777", "#DDDDDD")


@dataclass(frozen=True)
class ConceptBar:
    """One bar: ``units`` interpretable units have ``concept`` as best concept, best at ``iou``."""

    concept: str
    category: str
    units: int
    iou: float


def category_rank(categories: list[str]) -> dict[str, int]:
    """Position of each category in the chart: :data:`CATEGORY_ORDER`, then the rest as given."""
    known = [c for c in CATEGORY_ORDER if c in categories]
    return {c: i for i, c in enumerate(known + [c for c in categories if c not in known])}


def concept_bars(
    result: DissectionResult, layer: str, threshold: float = INTERPRETABLE_IOU
) -> list[ConceptBar]:
    """The bars of ``layer``, in chart order (see the module docstring).

    Example:
        >>> import torch
        >>> r = DissectionResult(["l"], {"l": torch.tensor([[0.3, 0.1], [0.2, 0.0], [0.0, 0.05]])},
        ...     {}, {}, torch.zeros(2), {}, [1, 2], ["red", "dog"], ["color", "object"],
        ...     ["color", "object"])
        >>> [(b.concept, b.units) for b in concept_bars(r, "l")]
        [('dog', 1), ('red', 2)]
    """
    column, score = result.best(layer)
    counts: dict[int, list[float]] = {}
    for c, s in zip(column.tolist(), score.tolist(), strict=True):
        if s > threshold:
            counts.setdefault(c, []).append(s)
    rank = category_rank(result.categories)
    bars = [
        ConceptBar(result.concept_names[c], result.concept_categories[c], len(s), max(s))
        for c, s in counts.items()
    ]
    return sorted(bars, key=lambda b: (rank[b.category], -b.units, -b.iou, b.concept))


def _plural(n: int, category: str) -> str:
    return f"{n} {category}" + ("" if n == 1 else "s")


def plot_category_bars(
    result: DissectionResult, layer: str, threshold: float = INTERPRETABLE_IOU
) -> Figure:
    """The bar chart of ``layer`` (a matplotlib ``Figure``, not registered with pyplot).

    A layer without interpretable units gets an empty chart that says so.
    """
    bars = concept_bars(result, layer, threshold)
    units = int(result.iou[layer].shape[0])
    groups = len({b.category for b in bars})  # the legend above needs ~1.7 in per category
    width = max(4.0, 1.4 + 0.2 * len(bars), 0.6 + 1.7 * groups)
    fig = Figure(figsize=(width, 2.9), dpi=100, layout="constrained")
    ax = fig.subplots()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    title = (
        f"{layer}: {sum(b.units for b in bars)} of {units} units interpretable "
        f"(IoU > {threshold:g}), {len(bars)} concepts"
    )
    ax.set_title(title, fontsize=9, loc="left", pad=18 if bars else 6)
    if not bars:
        ax.text(0.5, 0.5, f"no unit of {layer} has IoU > {threshold:g} with any concept",
                ha="center", va="center", transform=ax.transAxes, fontsize=9)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return fig
    top = max(b.units for b in bars)
    start, handles = 0, []
    for cat in dict.fromkeys(b.category for b in bars):  # the groups, in order
        group = [b for b in bars if b.category == cat]
        bar, band = CATEGORY_COLOURS.get(cat, _OTHER)
        stop = start + len(group)
        ax.axvspan(start - 0.5, stop - 0.5, color=band, zorder=0, lw=0)
        label = f"{_plural(len(group), cat)} · {sum(b.units for b in group)} units"
        handles.append(ax.bar(range(start, stop), [b.units for b in group], width=0.8,
                              color=bar, zorder=2, label=label))  # fmt: skip
        start = stop
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(handles),
              frameon=False, fontsize=7, handlelength=1.0, borderaxespad=0.1,
              columnspacing=1.2)  # fmt: skip
    ax.set_xlim(-0.5, len(bars) - 0.5)
    ax.set_ylim(0, top * 1.08)
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([b.concept.replace("_", " ") for b in bars], rotation=45, ha="right",
                       rotation_mode="anchor", fontsize=7)  # fmt: skip
    ax.set_yticks(sorted({1, (top + 1) // 2, top}))
    ax.set_ylabel("units", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    return fig
