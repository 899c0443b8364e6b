"""skdlib.dissect.tally: mask pixels equal dense upsampling; counts equal brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.dissection import bilinear_ref

from skdlib.dissect import (
    IoUTally,
    categories_present,
    label_area,
    mask_pixels,
)


def test_bilinear_reference_agrees_with_known_values():
    a = np.array([[0.0, 4.0]])
    # 2 -> 4 columns: centres at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (i1 clamped)
    np.testing.assert_allclose(bilinear_ref(a, 1, 4), [[0.0, 1.0, 3.0, 4.0]])
    np.testing.assert_allclose(bilinear_ref(np.eye(3), 3, 3), np.eye(3))


@pytest.mark.parametrize(
    ("h", "w", "sh", "sw"), [(7, 7, 112, 112), (5, 3, 17, 40), (9, 9, 9, 9), (12, 10, 5, 7)]
)
def test_mask_pixels_equal_dense_upsampling(h, w, sh, sw):
    """Every pixel of F.interpolate(...) > T exactly once (upsampling, non-integer ratios,
    identity and downsampling), except where a value is within float rounding of T."""
    g = torch.Generator().manual_seed(h * 100 + sw)
    acts = torch.randn(3, 6, h, w, generator=g)
    acts[:, 0] = torch.relu(acts[:, 0])  # ties at zero, threshold zero
    thresholds = torch.quantile(acts.transpose(0, 1).reshape(6, -1), 0.9, dim=1)
    thresholds[0] = 0.0
    dense_up = torch.nn.functional.interpolate(acts, (sh, sw), mode="bilinear", align_corners=False)
    dense = dense_up > thresholds.view(1, 6, 1, 1)
    sparse = torch.zeros_like(dense)
    count = 0
    for b, u, y, x in mask_pixels(acts, thresholds, (sh, sw), chunk_elements=64):
        sparse[b, u, y, x] = True
        count += b.numel()
    assert count == int(sparse.sum())  # no pixel twice
    differ = dense != sparse
    near = (dense_up - thresholds.view(1, 6, 1, 1)).abs() <= 1e-6
    assert not (differ & ~near).any()
    assert int(differ.sum()) <= 2 and int(dense.sum()) > 20


def test_label_area_and_categories_present():
    pixel = torch.tensor(
        [[[[0, 3], [3, 1]], [[2, 0], [0, 0]]], [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]]
    )
    whole = torch.tensor([[4, 0], [5, 4]])
    lut = torch.tensor([-1, 0, 0, 1, 2, 2])
    assert label_area(pixel, whole, 6).tolist() == [0, 1, 1, 2, 8, 4]
    assert categories_present(pixel, whole, lut).tolist() == [
        [True, True, True],
        [False, False, True],
    ]


@pytest.mark.parametrize("mode", ["annotated", "overlap"])
def test_tally_equals_brute_force_loops(mode):
    g = torch.Generator().manual_seed(0)
    b, u, h, w, sh, sw, depth = 4, 5, 3, 4, 7, 9, 2
    lut = torch.tensor([-1, 0, 0, 1, 1, 2, 2])
    acts = torch.randn(b, u, h, w, generator=g)
    pixel = torch.randint(0, 5, (b, depth, sh, sw), generator=g)
    pixel[1] = 0  # an image without pixel labels
    whole = torch.tensor([[5, 0], [6, 5], [0, 0], [6, 0]])
    thresholds = torch.quantile(acts.transpose(0, 1).reshape(u, -1), 0.7, dim=1)
    tally = IoUTally(thresholds, lut, 3, mode, chunk_elements=sh * sw * 2)
    tally.update(acts[:2], pixel[:2], whole[:2])
    tally.update(acts[2:], pixel[2:], whole[2:])
    inter = np.zeros((u, 7))
    area = np.zeros((u, 3))
    for i in range(b):
        cats = {int(lut[v]) for v in pixel[i].unique().tolist() + whole[i].tolist() if v > 0}
        for k in range(u):
            mask = bilinear_ref(acts[i, k].numpy(), sh, sw) > float(thresholds[k])
            hit = set()
            for d in range(depth):
                layer = pixel[i, d].numpy()
                for lab in range(1, 7):
                    inter[k, lab] += (mask & (layer == lab)).sum()
                    if (mask & (layer == lab)).any():
                        hit.add(int(lut[lab]))
            for lab in whole[i].tolist():
                if lab:
                    inter[k, lab] += mask.sum()
                    if mask.any():
                        hit.add(int(lut[lab]))
            for c in range(3):
                area[k, c] += mask.sum() * (c in (cats if mode == "annotated" else hit))
    np.testing.assert_array_equal(tally.intersection.numpy(), inter)
    np.testing.assert_array_equal(tally.activation_area.numpy(), area)
