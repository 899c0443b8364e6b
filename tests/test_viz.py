"""skdlib.viz: activations, masks and the paper's figures, checked against hand computations."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skdlib.embedding import NeuronEmbedding
from skdlib.viz import (
    additive_agreement,
    collect_activations,
    light_mask,
    mask_iou,
    most_active_units,
    neighbour_agreement,
    plot_additive,
    plot_loss_curve,
    plot_neighbours,
    plot_semantic_map,
    save_figure,
    semantic_map,
    to_display,
    top_images,
    unit_masks,
)


def test_collect_activations_matches_direct_forward_and_restores_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).train()
    x = torch.randn(5, 3, 6, 6)
    loader = [(x[:2], 0), (x[2:], 0)]
    acts = collect_activations(net, ["2"], loader, device="cpu")
    assert net.training  # mode restored
    with torch.no_grad():
        expected = net.eval()(x)
    torch.testing.assert_close(acts["2"], expected)
    again = collect_activations(net, ["2"], x, batch_size=3, device="cpu")
    torch.testing.assert_close(again["2"], expected)


def test_to_display_inverts_imagenet_normalisation():
    pix = torch.randint(0, 256, (2, 4, 4, 3), dtype=torch.uint8)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    normalised = (pix.permute(0, 3, 1, 2).float() / 255 - mean) / std
    assert np.array_equal(to_display(normalised), pix.numpy())


def test_light_mask_keeps_firing_region_bright_and_dims_the_rest():
    image = np.full((8, 8, 3), 200, np.uint8)
    amap = torch.zeros(2, 2)
    amap[0, 0] = 1.0
    out = light_mask(image, amap, low=0.0, high=1.0, floor=0.25)
    up = F.interpolate(amap[None, None], size=(8, 8), mode="bilinear", align_corners=False)[0, 0]
    expected = 200 / 255 * (0.25 + 0.75 * up.clamp(0, 1).numpy())
    np.testing.assert_allclose(out[..., 0], expected, rtol=1e-6)
    assert out[0, 0, 0] == pytest.approx(200 / 255) and out[7, 7, 0] == pytest.approx(50 / 255)


def test_top_images_orders_by_peak_activation():
    maps = torch.zeros(4, 2, 3, 3)
    maps[1, 0, 2, 2], maps[3, 0, 0, 1], maps[0, 0, 1, 1] = 5.0, 9.0, 1.0
    assert top_images(maps, 0, 3) == [3, 1, 0]


@pytest.fixture
def toy():
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(6, 4, generator=g)
    emb = NeuronEmbedding({"l": vectors})
    images = np.random.default_rng(0).integers(0, 255, (5, 16, 16, 3), dtype=np.uint8)
    maps = torch.rand(5, 6, 4, 4, generator=g)
    return emb, images, maps


def titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_plot_neighbours_shows_each_unit_with_its_nearest(toy, tmp_path):
    emb, images, maps = toy
    fig = plot_neighbours(emb, "l", [0, 3], images, maps, k=2, n_images=2, concept_names={0: "red"})
    assert len(fig.axes) == 2 * 2 * 3
    shown = titles(fig)
    for unit in (0, 3):
        expected = [f"unit {unit}"] + [
            f"unit {u}  cos {c:.2f}" for u, c in emb.nearest("l", unit, k=2)
        ]
        for label in expected:
            assert any(t.startswith(label) for t in shown), (label, shown)
    assert "unit 0\nred" in shown
    path = save_figure(fig, tmp_path / "figs" / "nb.png")
    assert path.stat().st_size > 1000
    plt.close(fig)


def test_plot_additive_shows_a_b_and_the_nearest_c(toy):
    emb, images, maps = toy
    fig = plot_additive(emb, "l", 1, 2, images, maps, n_images=2)
    c, cos = emb.additive("l", 1, 2)[0]
    assert titles(fig) == ["a = unit 1", "b = unit 2", f"c = unit {c} (cos {cos:.2f} to a+b)"]
    assert len(fig.axes) == 2 * 3
    plt.close(fig)


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


def test_unit_masks_and_mask_iou_by_hand():
    maps = torch.zeros(2, 3, 2, 2)
    maps[0, 0, 0, 0] = maps[0, 1, 0, 0] = maps[1, 1, 1, 1] = 1.0  # unit 0 ⊂ unit 1
    maps[1, 2, 0, 1] = 1.0
    masks = unit_masks(maps, quantile=0.5)
    assert masks[:, 0].sum() == 1 and masks[:, 1].sum() == 2 and masks[:, 2].sum() == 1
    iou = mask_iou(masks[:, [0, 0, 1]], masks[:, [1, 2, 1]])
    assert iou.tolist() == [0.5, 0.0, 1.0]
    assert mask_iou(
        torch.zeros(1, 1, 2, 2, dtype=torch.bool), torch.zeros(1, 1, 2, 2, dtype=torch.bool)
    ).tolist() == [0.0]


def test_agreement_is_high_when_vectors_follow_the_maps():
    """Units in copy pairs: an embedding that pairs them scores 1 for neighbours, random less."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(6, 4, 5, 5, generator=g)
    maps = torch.cat([base, base * 2], dim=1)  # unit u and u + 4 fire identically
    vectors = torch.randn(4, 8, generator=g)
    emb = NeuronEmbedding({"l": torch.cat([vectors, vectors + 0.01], dim=0)})
    agree = neighbour_agreement(emb, "l", maps)
    assert agree["nearest"] == pytest.approx(1.0)
    assert agree["random"] < 0.6
    add = additive_agreement(emb, "l", maps, [(0, 1), (2, 3)])
    assert 0 <= add["random"] <= 1 and 0 <= add["additive"] <= 1


def test_most_active_units_and_loss_curve():
    maps = torch.zeros(2, 4, 1, 1)
    maps[1, 3], maps[0, 1] = 3.0, 2.0
    assert most_active_units(maps, 2) == [3, 1]
    fig = plot_loss_curve({"epoch": [1, 2], "loss": [2.0, 1.5]})
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.5]
    plt.close(fig)
