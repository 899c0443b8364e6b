"""skdlib.viz.agreement: masks and IoU by hand; agreement is high exactly when vectors follow the
maps.
"""

import pytest
import torch

from skdlib.embedding import NeuronEmbedding
from skdlib.viz import (
    additive_agreement,
    mask_iou,
    neighbour_agreement,
    unit_masks,
)


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
