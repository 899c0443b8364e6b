"""skdlib.viz.category_chart: one bar per concept, its height the units whose best concept it is
above the rule, grouped in NetDissect's category order with its palette; an empty layer says so."""

from __future__ import annotations

import warnings
from collections import Counter

import matplotlib.colors as mcolors
import pytest
import torch

from skdlib.dissect import DissectionResult
from skdlib.viz.category_chart import (
    CATEGORY_COLOURS,
    CATEGORY_ORDER,
    concept_bars,
    plot_category_bars,
)

NAMES = ["red", "dog", "sky", "wheel", "wood", "striped", "blue", "cat", "odd"]
CATS = ["color", "object", "scene", "part", "material", "texture", "color", "object", "other"]


def result_with(iou: torch.Tensor) -> DissectionResult:
    n = len(NAMES)
    return DissectionResult(
        layers=["l"], iou={"l": iou.double()}, intersection={}, activation_area={},
        label_area=torch.zeros(n), thresholds={}, concept_numbers=list(range(1, n + 1)),
        concept_names=NAMES, concept_categories=CATS,
        categories=["color", "object", "part", "material", "scene", "texture", "other"],
    )  # fmt: skip


def random_result(seed: int) -> DissectionResult:
    g = torch.Generator().manual_seed(seed)
    return result_with(torch.rand(60, len(NAMES), generator=g) * 0.05)


def test_bars_count_the_units_of_each_best_concept_above_the_rule_in_chart_order():
    r = random_result(0)
    best = r.iou["l"].max(1)
    counts = Counter(NAMES[c] for c, s in zip(best.indices.tolist(), best.values.tolist(),
                                              strict=True) if s > 0.04)  # fmt: skip
    bars = concept_bars(r, "l")
    assert {b.concept: b.units for b in bars} == dict(counts)
    assert sum(b.units for b in bars) == r.interpretable("l")
    rank = [*CATEGORY_ORDER, "other"]
    keys = [(rank.index(b.category), -b.units, -b.iou) for b in bars]
    assert keys == sorted(keys)  # object, scene, part, material, texture, color, then others
    for b in bars:
        col = NAMES.index(b.concept)
        assert b.iou == max(s for c, s in zip(best.indices.tolist(), best.values.tolist(),
                                              strict=True) if c == col)  # fmt: skip


def test_the_chart_draws_those_bars_in_the_palette():
    r = random_result(1)
    bars = concept_bars(r, "l")
    fig = plot_category_bars(r, "l")
    ax = fig.axes[0]
    drawn = [p for p in ax.patches if p.get_width() < 1]  # bars; the category bands are wider
    assert [round(p.get_height()) for p in drawn] == [b.units for b in bars]
    for p, b in zip(drawn, bars, strict=True):
        colour = CATEGORY_COLOURS.get(b.category, ("#777777",))[0]
        assert mcolors.to_hex(p.get_facecolor()) == colour.lower()
    assert [t.get_text() for t in ax.get_xticklabels()] == [b.concept for b in bars]
    assert f"{sum(b.units for b in bars)} of 60 units interpretable" in ax.get_title(loc="left")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]  # a caption per category
    groups = list(dict.fromkeys(b.category for b in bars))
    assert len(legend) == len(groups) >= 4
    for cat, text in zip(groups, legend, strict=True):
        n = sum(b.category == cat for b in bars)
        units = sum(b.units for b in bars if b.category == cat)
        assert text == f"{n} {cat}{'' if n == 1 else 's'} · {units} units"


@pytest.mark.parametrize("width", [1, 2, 6, 9])
def test_the_layout_fits_every_mix_of_categories_without_a_warning(width, tmp_path):
    """A narrow chart with many categories used to collapse its axes under the legend."""
    iou = torch.zeros(width, len(NAMES))
    for u in range(width):  # one unit per concept: up to all seven categories, few bars
        iou[u, u] = 0.5
    fig = plot_category_bars(result_with(iou), "l")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(tmp_path / "chart.png", bbox_inches="tight")


def test_a_layer_without_interpretable_units_gets_an_empty_chart_that_says_so(tmp_path):
    r = result_with(torch.full((5, len(NAMES)), 0.01))
    assert concept_bars(r, "l") == []
    fig = plot_category_bars(r, "l")
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "no unit of l has IoU > 0.04 with any concept"
    ]
    fig.savefig(tmp_path / "empty.png")  # draws
