"""A 2-D map of a layer's semantic vectors (scikit-learn t-SNE or PCA), coloured per neuron."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from ..embedding import NeuronEmbedding

__all__ = ["semantic_map", "plot_semantic_map"]


def semantic_map(
    emb: NeuronEmbedding, layer: str, method: str = "tsne", seed: int = 0
) -> np.ndarray:
    """2-D coordinates of a layer's semantic vectors (scikit-learn t-SNE or PCA).

    t-SNE uses the cosine metric (the geometry of the loss) and a perplexity suited to the number
    of neurons; PCA projects the unit-normalised vectors.

    Returns:
        ``(C, 2)`` array.

    Example:
        >>> import torch
        >>> emb = NeuronEmbedding({"l": torch.randn(10, 4)})
        >>> semantic_map(emb, "l", method="pca").shape
        (10, 2)
    """
    vectors = F.normalize(emb.vectors[layer].double(), dim=1).numpy()
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(vectors)
    if method != "tsne":
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
    return TSNE(
        n_components=2, metric="cosine", perplexity=perplexity, init="pca", random_state=seed
    ).fit_transform(vectors)


def plot_semantic_map(
    coords: np.ndarray,
    labels: Sequence[str] | None = None,
    title: str = "semantic map",
    max_legend: int = 12,
) -> plt.Figure:
    """Scatter of :func:`semantic_map` coordinates, coloured by a label per neuron.

    Args:
        coords: ``(C, 2)``.
        labels: one label per neuron (e.g. its best concept, or its concept category); the most
            frequent ``max_legend`` get their own colour and legend entry, the rest are grey. The
            legend stands to the right of the axes, so it covers no point.
    """
    fig, ax = plt.subplots(figsize=(8.0, 5.5), layout="constrained")
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=12)
    else:
        labels = list(labels)
        names, counts = np.unique(labels, return_counts=True)
        common = [n for _, n in sorted(zip(-counts, names, strict=True))][:max_legend]
        cmap = plt.get_cmap("tab20")
        rest = [i for i, lab in enumerate(labels) if lab not in common]
        if rest:
            ax.scatter(coords[rest, 0], coords[rest, 1], s=10, color="0.75", label="other")
        for j, name in enumerate(common):
            idx = [i for i, lab in enumerate(labels) if lab == name]
            ax.scatter(coords[idx, 0], coords[idx, 1], s=14, color=cmap(j % 20), label=name)
        # beside the axes, never over the points
        ax.legend(
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0,
            markerscale=1.5,
        )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
