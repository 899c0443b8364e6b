"""skdlib.distill.report: the table renders our means and stds beside the published numbers; the
bar chart draws the means.
"""

import statistics

import pytest

from skdlib.distill import (
    PAPER_PAIRS,
    PUBLISHED,
    plot_results,
    render_table1,
)


def test_render_means_stds_and_published_columns():
    runs = [{"role": "teacher", "student": "vgg13", "last_top1": 74.0, "best_top1": 75.0}]
    runs += [
        {"role": "student", "teacher": "vgg13", "student": "vgg8", "method": "skd", "trial": t,
         "last_top1": v, "best_top1": v + 1}
        for t, v in enumerate([70.0, 71.0, 72.5])
    ]  # fmt: skip
    runs.append({"role": "student", "teacher": None, "student": "vgg8", "method": "none",
                 "trial": 0, "last_top1": 69.5, "best_top1": 70.0})  # fmt: skip
    cfg = {"pairs": [["vgg13", "vgg8"], ["resnet32", "resnet20"]], "methods": ["none", "skd"]}
    lines = render_table1({"name": "T", "config": cfg, "runs": runs}).splitlines()
    assert lines[2] == "| | vgg13 → vgg8 | resnet32 → resnet20 |"
    std = statistics.stdev([70.0, 71.0, 72.5])
    assert lines[4] == "| Teacher | 74.00 (74.64) | — (—) |"
    assert lines[5] == "| Student | 69.50 (70.36) | — (—) |"
    assert lines[6] == f"| SKD | 71.17 ± {std:.2f} (71.09) | — (—) |"
    best = render_table1({"config": cfg, "runs": runs}, metric="best_top1").splitlines()
    assert best[6].startswith("| SKD | 72.17 ± ")
    with pytest.raises(ValueError, match="metric must be"):
        render_table1({"config": cfg, "runs": runs}, metric="top5")


def test_published_numbers_cover_the_six_pairs():
    assert set(PUBLISHED) == set(PAPER_PAIRS)
    assert PUBLISHED[("resnet32x4", "resnet8x4")]["skd"] == 72.91
    assert PUBLISHED[("wrn_40_2", "wrn_16_2")]["kd"] == 74.92
    assert all({"teacher", "none", "kd", "skd"} <= set(v) for v in PUBLISHED.values())


def test_plot_results_draws_the_mean_of_each_method():
    import matplotlib.pyplot as plt

    runs = [
        {
            "role": "teacher",
            "teacher": None,
            "student": "resnet56",
            "method": "none",
            "trial": 0,
            "last_top1": 60.0,
        },
        {
            "role": "student",
            "teacher": None,
            "student": "resnet20",
            "method": "none",
            "trial": 0,
            "last_top1": 50.0,
        },
        {
            "role": "student",
            "teacher": "resnet56",
            "student": "resnet20",
            "method": "skd",
            "trial": 0,
            "last_top1": 52.0,
        },
        {
            "role": "student",
            "teacher": "resnet56",
            "student": "resnet20",
            "method": "skd",
            "trial": 1,
            "last_top1": 54.0,
        },
    ]
    fig = plot_results({"config": {"pairs": [["resnet56", "resnet20"]]}, "runs": runs})
    heights = [p.get_height() for p in fig.axes[0].patches]
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["teacher\nresnet56", "Student", "SKD"]
    assert heights == [60.0, 50.0, 53.0]
    plt.close(fig)
