"""skdlib.viz.table1_chart: the bar chart draws each row's mean, every trial, and the cost."""

import statistics

from skdlib.viz import plot_results


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
    runs[2].update(seconds=12.0, epochs=3)
    runs[3].update(seconds=18.0, epochs=3)
    cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none", "skd"]}
    fig = plot_results({"config": cfg, "runs": runs})
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["teacher\nresnet56", "Student", "SKD"]
    assert heights == [60.0, 50.0, 53.0]
    texts = [t.get_text() for t in ax.texts]
    assert texts[2] == f"53.0 ± {statistics.stdev([52.0, 54.0]):.1f}\n5.0 s/epoch"
    dots = sorted(
        float(y) for line in ax.lines if line.get_marker() == "." for y in line.get_ydata()
    )
    assert dots == [50.0, 52.0, 54.0, 60.0]  # every trial drawn
    plt.close(fig)
