"""skdlib.viz.curves: the curves plot exactly the recorded history."""

import matplotlib.pyplot as plt

from skdlib.viz import (
    plot_kl_curves,
    plot_loss_curve,
)


def test_loss_curve_and_kl_curves_plot_the_history():
    fig = plot_loss_curve({"epoch": [1, 2], "loss": [2.0, 1.5]})
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.5]
    plt.close(fig)
    history = {"step": [0, 5], "learned": [0.5, 0.2], "random": [0.5, 0.5], "upper": [0.5, 0.1]}
    history["layers"] = {"l": {"learned": [0.4, 0.3], "random": [0.6, 0.6], "upper": [0.4, 0.0]}}
    for layer, src in ((None, history), ("l", history["layers"]["l"])):
        fig = plot_kl_curves(history, layer=layer)
        lines = fig.axes[0].get_lines()
        assert [list(line.get_ydata()) for line in lines] == [
            src["learned"],
            src["random"],
            src["upper"],
        ]
        assert all(list(line.get_xdata()) == [0, 5] for line in lines)
        assert (layer or "") in fig.axes[0].get_title()
        fig.canvas.draw()  # the drawn legend lies right of the axes, over no curve
        legend = fig.axes[0].get_legend().get_window_extent()
        assert legend.x0 >= fig.axes[0].get_window_extent().x1
        plt.close(fig)
