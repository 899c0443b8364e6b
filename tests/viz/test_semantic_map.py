"""skdlib.viz.semantic_map: the projection equals scikit-learn on the normalised vectors; rare
labels become "other".
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch.nn.functional as F

from skdlib.viz import (
    plot_semantic_map,
    semantic_map,
)


def test_semantic_map_pca_matches_sklearn_on_normalised_vectors(toy):
    from sklearn.decomposition import PCA

    emb, _, _ = toy
    coords = semantic_map(emb, "l", method="pca")
    ref = PCA(2, random_state=0).fit_transform(F.normalize(emb.vectors["l"].double(), dim=1))
    np.testing.assert_allclose(np.abs(coords), np.abs(ref), atol=1e-8)
    tsne = semantic_map(emb, "l", method="tsne")
    assert tsne.shape == (6, 2) and np.isfinite(tsne).all()
    with pytest.raises(ValueError, match="tsne"):
        semantic_map(emb, "l", method="umap")


def test_plot_semantic_map_groups_rare_labels_as_other(toy):
    coords = np.random.default_rng(1).normal(size=(6, 2))
    fig = plot_semantic_map(coords, labels=["a", "a", "a", "b", "b", "c"], max_legend=2)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["other", "a", "b"]
    plt.close(fig)


def test_the_legend_covers_no_point():
    """The legend's box, once drawn, lies outside the axes (no scatter point can be under it)."""
    coords = np.random.default_rng(2).normal(size=(40, 2))
    labels = [f"concept{i % 12}" for i in range(40)]
    fig = plot_semantic_map(coords, labels=labels)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend_box = ax.get_legend().get_window_extent(renderer)
    axes_box = ax.get_window_extent(renderer)
    assert legend_box.x0 >= axes_box.x1  # entirely to the right of the plotting area
    points = ax.transData.transform(coords)
    inside = (
        (points[:, 0] >= legend_box.x0)
        & (points[:, 0] <= legend_box.x1)
        & (points[:, 1] >= legend_box.y0)
        & (points[:, 1] <= legend_box.y1)
    )
    assert not inside.any()
    plt.close(fig)


def test_by_category_panels_colour_only_their_category():
    import matplotlib.pyplot as plt
    import numpy as np

    from skdlib.viz import plot_semantic_map_by_category

    xy = np.arange(20, dtype=float).reshape(10, 2)
    concepts = ["red"] * 4 + ["blue"] * 2 + ["sky"] * 3 + ["circle"]
    categories = ["color"] * 6 + ["scene"] * 3 + ["object"]
    fig = plot_semantic_map_by_category(xy, concepts, categories, per_panel=1)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["color · 6 neurons", "scene · 3 neurons", "object · 1 neurons"]
    color = fig.axes[0]
    labels = [t.get_text() for t in color.get_legend().get_texts()]
    assert labels == ["other color (2)", "red (4)"]  # per_panel=1: blue falls into "other"
    grey, other, red = (c.get_offsets() for c in color.collections)
    assert len(grey) == 4 and len(other) == 2 and len(red) == 4
    assert np.array_equal(np.asarray(red), xy[:4])
    plt.close(fig)
    with pytest.raises(ValueError, match="got 10 points, 9 concepts and 10 categories"):
        plot_semantic_map_by_category(xy, concepts[:9], categories)
