"""A 2-D map of a layer's semantic vectors (scikit-learn t-SNE or PCA), coloured per neuron.

:func:`plot_semantic_map` colours every neuron at once; with dozens of concepts the colours mix
even when neighbours agree. :func:`plot_semantic_map_by_category` draws one panel per concept
category, the neurons of that category in colour over the rest in grey, so a reader can see
whether neurons of one concept gather.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from ..embedding import NeuronEmbedding

__all__ = ["semantic_map", "plot_semantic_map", "plot_semantic_map_by_category"]


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


def plot_semantic_map_by_category(
    coords: np.ndarray,
    concepts: Sequence[str],
    categories: Sequence[str],
    title: str = "semantic map",
    per_panel: int = 6,
) -> plt.Figure:
    """One panel per category: its neurons coloured by best concept, every other neuron grey.

    Args:
        coords: ``(C, 2)`` from :func:`semantic_map`.
        concepts: each neuron's best concept; categories: each neuron's concept category (both
            length ``C``, e.g. from :meth:`DissectionResult.best_concepts`).
        per_panel: the most frequent concepts of a category get a colour; the category's other
            neurons are drawn dark grey ("other <category>").

    Returns:
        A figure with one axes per category that some neuron has, in order of first appearance
        in ``categories`` sorted by neuron count.

    Example:
        >>> xy = np.random.default_rng(0).normal(size=(6, 2))
        >>> fig = plot_semantic_map_by_category(xy, ["red"] * 3 + ["sky"] * 3,
        ...                                     ["color"] * 3 + ["scene"] * 3)
        >>> [ax.get_title().split(" ·")[0] for ax in fig.axes]
        ['color', 'scene']
    """
    concepts, categories = list(concepts), list(categories)
    if not len(concepts) == len(categories) == len(coords):
        raise ValueError(
            f"got {len(coords)} points, {len(concepts)} concepts and {len(categories)} "
            "categories: give one concept and one category per neuron"
        )
    names, counts = np.unique(categories, return_counts=True)
    order = [n for _, n in sorted(zip(-counts, names, strict=True))]
    cols = min(3, len(order))
    rows = -(-len(order) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 4.4 * rows), layout="constrained", squeeze=False
    )
    cmap = plt.get_cmap("tab10")
    for ax, category in zip(axes.flat, order, strict=False):
        mine = [i for i, c in enumerate(categories) if c == category]
        rest = [i for i, c in enumerate(categories) if c != category]
        ax.scatter(coords[rest, 0], coords[rest, 1], s=6, color="0.85", linewidths=0)
        kinds, kind_counts = np.unique([concepts[i] for i in mine], return_counts=True)
        common = [n for _, n in sorted(zip(-kind_counts, kinds, strict=True))][:per_panel]
        others = [i for i in mine if concepts[i] not in common]
        if others:
            ax.scatter(
                coords[others, 0], coords[others, 1], s=10, color="0.45",
                label=f"other {category} ({len(others)})",
            )  # fmt: skip
        for j, name in enumerate(common):
            idx = [i for i in mine if concepts[i] == name]
            ax.scatter(
                coords[idx, 0],
                coords[idx, 1],
                s=16,
                color=cmap(j % 10),
                label=f"{name} ({len(idx)})",
            )
        ax.set_title(f"{category} · {len(mine)} neurons", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(
            fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2, frameon=False
        )
    for ax in axes.flat[len(order) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig
