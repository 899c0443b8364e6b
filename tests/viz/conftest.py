"""A toy embedding with images and activation maps for the figure tests."""

import numpy as np
import pytest
import torch

from skdlib.embedding import NeuronEmbedding


@pytest.fixture
def toy():
    """6 random vectors, 5 random 16x16 images and 4x4 maps of the 6 units on them."""
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(6, 4, generator=g)
    emb = NeuronEmbedding({"l": vectors})
    images = np.random.default_rng(0).integers(0, 255, (5, 16, 16, 3), dtype=np.uint8)
    maps = torch.rand(5, 6, 4, 4, generator=g)
    return emb, images, maps
