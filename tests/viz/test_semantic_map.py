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
