"""skdlib.data.planted: the planted model outputs the true concept masks of each generated image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from skdlib.data import (
    PIXEL_CATEGORIES,
    image_digest,
    make_synthetic_broden,
    planted_concept_model,
    synthetic_broden_scene,
)
from skdlib.dissect import BrodenDataset, BrodenImages

N, SIZE, SEED = 16, 48, 3


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return make_synthetic_broden(
        tmp_path_factory.mktemp("sb") / "b", N, size=SIZE, seed=SEED, progress=False
    )


def test_planted_model_outputs_the_concept_masks(root):
    ds = BrodenDataset(root)
    model = planted_concept_model(root, concepts=["red", "circle", "circle rim", "striped"])
    x = torch.stack([BrodenImages(ds)[i] for i in range(N)])
    maps = model(x)
    assert maps.shape == (N, 4, 24, 24)
    for i in range(N):
        scene, _ = synthetic_broden_scene(i, SIZE, SEED)
        layers = [a for cat in PIXEL_CATEGORIES for a in scene.pixel_labels[cat]]
        for k, number in enumerate((1, 11, 21)):
            expected = np.any([a == number for a in layers], axis=0)
            np.testing.assert_array_equal(maps[i, k].numpy(), expected.astype(np.float32))
        striped = 41 in scene.image_labels["texture"]  # the truth, annotated or not
        assert torch.all(maps[i, 3] == float(striped))
    assert not model(torch.zeros(2, 3, SIZE, SIZE)).any()  # unknown images: no concept
    mixed = planted_concept_model(root, concepts=["red", "circle"], mix=torch.tensor([[2.0, 0.5]]))
    np.testing.assert_allclose(mixed(x)[:, 0].numpy(), (2 * maps[:, 0] + 0.5 * maps[:, 1]).numpy())
    assert image_digest(np.zeros((2, 2, 3), np.uint8)) != image_digest(
        np.zeros((2, 3, 2), np.uint8)
    )
    with pytest.raises(FileNotFoundError, match="not written by make_synthetic_broden"):
        planted_concept_model(root / "images")
