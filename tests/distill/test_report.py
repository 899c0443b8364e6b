"""skdlib.distill.report: the table renders our means and stds beside the published numbers; the
bar chart draws the means.
"""

import statistics

import pytest

from skdlib.distill import (
    PUBLISHED,
    compare_to_plain,
    method_summary,
    render_table1,
    seconds_per_epoch,
    table_cells,
    table_pairs,
)
from skdlib.models import PAPER_PAIRS


def test_render_keeps_ours_seconds_and_published_in_separate_columns():
    runs = [
        {
            "role": "teacher",
            "student": "vgg13",
            "last_top1": 74.0,
            "best_top1": 75.0,
            "seconds": 40.0,
            "epochs": 10,
        }
    ]
    runs += [
        {"role": "student", "teacher": "vgg13", "student": "vgg8", "method": "skd", "trial": t,
         "last_top1": v, "best_top1": v + 1, "seconds": sec, "epochs": 4}
        for t, (v, sec) in enumerate([(70.0, 8.0), (71.0, 12.0), (72.5, 10.0)])
    ]  # fmt: skip
    runs.append({"role": "student", "teacher": None, "student": "vgg8", "method": "none",
                 "trial": 0, "last_top1": 69.5, "best_top1": 70.0})  # fmt: skip
    cfg = {"pairs": [["vgg13", "vgg8"], ["resnet32", "resnet20"]], "methods": ["none", "skd"]}
    lines = render_table1({"name": "T", "config": cfg, "runs": runs}).splitlines()
    assert lines[2] == (
        "| | vgg13 → vgg8: ours | s/epoch | paper (published) |"
        " resnet32 → resnet20: ours | s/epoch | paper (published) |"
    )
    std = statistics.stdev([70.0, 71.0, 72.5])
    assert lines[4] == "| Teacher | 74.00 (n=1) | 4.0 | 74.64 | — | — | — |"
    assert lines[5] == "| Student | 69.50 (n=1) | — | 70.36 | — | — | — |"
    assert lines[6] == "| *Static (no teacher forward)* |" + " |" * 6
    assert lines[7] == f"| SKD | 71.17 ± {std:.2f} (n=3) | 2.5 | 71.09 | — | — | — |"
    best = render_table1({"config": cfg, "runs": runs}, metric="best_top1").splitlines()
    assert best[7].startswith("| SKD | 72.17 ± ")
    with pytest.raises(ValueError, match="metric must be"):
        render_table1({"config": cfg, "runs": runs}, metric="top5")


def _trials(method, teacher, values):
    return [
        {"role": "student", "teacher": teacher, "student": "resnet20", "method": method,
         "trial": t, "last_top1": v}
        for t, v in enumerate(values)
    ]  # fmt: skip


def test_compare_to_plain_uses_two_standard_errors():
    plain, kd, skd = [30.0, 31.0, 32.0], [20.0, 21.0, 19.0], [31.0, 32.5, 31.5]
    runs = _trials("none", None, plain) + _trials("kd", "resnet56", kd)
    runs += _trials("skd", "resnet56", skd)
    cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none", "kd", "skd"]}
    lines = compare_to_plain({"config": cfg, "runs": runs})
    se_kd = (statistics.variance(kd) / 3 + statistics.variance(plain) / 3) ** 0.5
    se_skd = (statistics.variance(skd) / 3 + statistics.variance(plain) / 3) ** 0.5
    assert lines[0] == (
        f"KD: 20.00 vs 31.00 alone (-11.00 points, 3 vs 3 trials): worse beyond noise "
        f"(2 s.e. = {2 * se_kd:.2f})."
    )
    assert abs(31.67 - 31.0) <= 2 * se_skd  # the hand computation: within noise
    assert (
        lines[1].startswith("SKD: 31.67 vs 31.00 alone (+0.67 points")
        and "within noise" in lines[1]
    )
    single = compare_to_plain({"config": cfg, "runs": _trials("none", None, [30.0])
                               + _trials("kd", "resnet56", [35.0])})  # fmt: skip
    assert single[0].endswith(
        "one trial each, so no estimate of the noise; do not read it as an effect."
    )
    # a single teacher run against three students: the students' variance stands in for both
    teacher = [{"role": "teacher", "student": "resnet56", "last_top1": 40.0}]
    mixed = compare_to_plain({"config": cfg, "runs": runs + teacher})
    se = (statistics.variance(plain) * (1 / 1 + 1 / 3)) ** 0.5
    assert mixed[0] == (
        f"Teacher: 40.00 vs 31.00 alone (+9.00 points, 1 vs 3 trials): better beyond noise "
        f"(2 s.e. = {2 * se:.2f})."
    )


def test_seconds_per_epoch_skips_runs_without_timing():
    assert (
        seconds_per_epoch([{"seconds": 10.0, "epochs": 2}, {"seconds": None, "epochs": 2}]) == 5.0
    )
    assert seconds_per_epoch([{"last_top1": 1.0}]) is None


def test_published_numbers_cover_the_six_pairs():
    assert set(PUBLISHED) == set(PAPER_PAIRS)
    assert PUBLISHED[("resnet32x4", "resnet8x4")]["skd"] == 72.91
    assert PUBLISHED[("wrn_40_2", "wrn_16_2")]["kd"] == 74.92
    assert all({"teacher", "none", "kd", "skd"} <= set(v) for v in PUBLISHED.values())


def test_method_summary_matches_statistics():
    plain, kd = [30.0, 31.0, 32.0], [20.0, 21.0, 19.0]
    runs = _trials("none", None, plain) + _trials("kd", "resnet56", kd)
    for r, sec in zip(runs, [3.0, 3.0, 6.0, 9.0, 9.0, 12.0], strict=True):
        r.update(seconds=sec, epochs=3)
    cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none", "kd"]}
    got = method_summary({"config": cfg, "runs": runs})
    assert set(got) == {"none", "kd"}  # no teacher run: no teacher row
    assert got["kd"] == {
        "mean": statistics.fmean(kd),
        "std": statistics.stdev(kd),
        "n": 3,
        "seconds_per_epoch": (3.0 + 3.0 + 4.0) / 3,
    }
    assert got["none"]["seconds_per_epoch"] == (1.0 + 1.0 + 2.0) / 3


def test_table_cells_are_the_rows_with_their_trials_in_table_order():
    runs = [
        {"role": "teacher", "teacher": None, "student": "resnet56", "method": "none",
         "trial": 0, "last_top1": 60.0, "seconds": 20.0, "epochs": 2},
        {"role": "student", "teacher": "resnet56", "student": "resnet20", "method": "skd",
         "trial": 0, "last_top1": 52.0},
        {"role": "student", "teacher": "resnet56", "student": "resnet20", "method": "skd",
         "trial": 1, "last_top1": 54.0},
    ]  # fmt: skip
    cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none", "skd"]}
    cells = table_cells({"config": cfg, "runs": runs}, ("resnet56", "resnet20"))
    assert [(c["row"], c["label"], c["values"]) for c in cells] == [
        ("teacher", "Teacher", [60.0]),
        ("skd", "SKD", [52.0, 54.0]),
    ]  # "none" has no run: left out
    assert cells[0]["seconds_per_epoch"] == 10.0 and cells[1]["seconds_per_epoch"] is None
    assert table_pairs({"config": cfg}) == [("resnet56", "resnet20")]
