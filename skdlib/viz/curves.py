"""Training curves: the embedding loss per epoch, and the KL curves of the paper's Figure 4."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt

__all__ = ["plot_loss_curve", "plot_kl_curves"]


def plot_loss_curve(history: dict, title: str = "embedding loss (Eq. 1)") -> plt.Figure:
    """Loss per epoch from ``NeuronEmbedding.meta["history"]``.

    Example:
        >>> fig = plot_loss_curve({"epoch": [1, 2], "loss": [5.2, 5.1]})
        >>> fig.axes[0].get_xlabel()
        'epoch'
    """
    fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    ax.plot(history["epoch"], history["loss"], marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy, mean over layers")
    ax.set_title(title)
    return fig


def plot_kl_curves(history: Mapping[str, Any], layer: str | None = None) -> plt.Figure:
    """The paper's Figure 4 from a :class:`~skdlib.dissect.KLMetricCallback` history: the KL
    metric of the learned vectors, of random vectors and of the upper bound, per training step.

    Args:
        history: ``KLMetricCallback.history``.
        layer: one layer's curves instead of the mean over layers.

    Returns:
        A figure with three labelled lines: learned, random, upper bound; the legend stands
        to the right of the axes.
    """
    fig, ax = plt.subplots(figsize=(7.2, 3.5), layout="constrained")
    src = history if layer is None else history["layers"][layer]
    steps = history["step"]
    ax.plot(steps, src["learned"], label="learned (unsupervised, Eq. 1)")
    ax.plot(steps, src["random"], "--", label="random vectors")
    ax.plot(steps, src["upper"], ":", label="upper bound (optimised on KL)")
    ax.set_xlabel("training step")
    ax.set_ylabel("KL(h(D_T) || h(D_S))")
    ax.set_title("KL to dissection targets" + (f" ({layer})" if layer else ""))
    # beside the axes: inside, it would cover a curve wherever it stood
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
    return fig
