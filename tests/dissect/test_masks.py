"""skdlib.dissect.masks: mask pixels equal dense upsampling and a float64 reference, each once;
counts per (unit, label combination) equal explicit loops; no block is pruned that holds a pixel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.dissection import bilinear_ref

from skdlib.dissect import label_sets, mask_counts, mask_pixels
from skdlib.dissect import masks as masks_module
from skdlib.dissect.masks import true_indices


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


def _pixels(acts, thresholds, size, **kwargs):
    found = torch.zeros(acts.shape[:2] + size, dtype=torch.int64)
    for b, u, y, x in mask_pixels(acts, thresholds, size, **kwargs):
        found.index_put_((b, u, y, x), torch.ones_like(b), accumulate=True)
    return found


def test_mask_pixels_equal_a_float64_reference_at_dissection_quantiles():
    """Quantile 0.995 thresholds on maps of ResNet sizes: the same pixels as the float64
    bilinear reference (ties within 1e-5 of T excepted), none twice."""
    g = torch.Generator().manual_seed(7)
    for h, size in ((7, (112, 112)), (14, (112, 112)), (56, (112, 112)), (6, (31, 50))):
        acts = torch.relu(torch.randn(4, 5, h, h if size[0] == size[1] else h + 3, generator=g))
        flat = acts.transpose(0, 1).reshape(5, -1)
        thresholds = torch.quantile(flat, 0.995, dim=1)
        found = _pixels(acts, thresholds, size)
        assert int(found.max()) == 1
        for b in range(acts.shape[0]):
            for u in range(acts.shape[1]):
                up = bilinear_ref(acts[b, u].numpy(), *size)
                expected = up > float(thresholds[u])
                differ = expected != found[b, u].bool().numpy()
                assert not (differ & (np.abs(up - float(thresholds[u])) > 1e-5)).any()
        assert int(found.sum()) >= 5


def test_corner_pruning_never_drops_a_mask_pixel(monkeypatch):
    """Values crowded just around the threshold: pruned and unpruned evaluation agree exactly."""
    g = torch.Generator().manual_seed(11)
    acts = 1.0 + 1e-4 * torch.randn(3, 4, 7, 7, generator=g)
    thresholds = torch.full((4,), 1.0)
    pruned = _pixels(acts, thresholds, (112, 112))
    monkeypatch.setattr(masks_module, "_PRUNE_ABOVE", 10**9)
    assert torch.equal(_pixels(acts, thresholds, (112, 112)), pruned)
    assert 0 < int(pruned.sum()) < pruned.numel()


def test_mask_counts_equal_explicit_loops():
    g = torch.Generator().manual_seed(5)
    b, u, h, w, sh, sw = 3, 4, 5, 6, 20, 24
    acts = torch.randn(b, u, h, w, generator=g)
    coarse = torch.randint(0, 4, (b, 2, 5, 6), generator=g, dtype=torch.int32)
    pixel = torch.nn.functional.interpolate(coarse.float(), (sh, sw), mode="nearest").int()
    thresholds = torch.quantile(acts.transpose(0, 1).reshape(u, -1), 0.75, dim=1)
    sets = label_sets(pixel)
    counts: dict[tuple[int, tuple[int, ...], int], int] = {}
    for unit, s, n in mask_counts(acts, thresholds, sets, chunk_elements=100):
        for k, j, c in zip(unit.tolist(), s.tolist(), n.tolist(), strict=True):
            key = (int(sets.image[j]), tuple(sets.labels[j].tolist()), k)
            assert key not in counts
            counts[key] = c
    expected: dict[tuple[int, tuple[int, ...], int], int] = {}
    for i in range(b):
        for k in range(u):
            mask = bilinear_ref(acts[i, k].numpy(), sh, sw) > float(thresholds[k])
            for y, x in zip(*np.nonzero(mask), strict=True):
                key = (i, tuple(pixel[i, :, y, x].tolist()), k)
                expected[key] = expected.get(key, 0) + 1
    assert counts == expected and len(expected) > 20


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 64), (1000,)])
def test_true_indices_equal_nonzero(shape):
    g = torch.Generator().manual_seed(len(shape))
    mask = torch.rand(shape, generator=g) > 0.9
    assert torch.equal(true_indices(mask), mask.reshape(-1).nonzero().squeeze(1))
    assert true_indices(torch.zeros(shape, dtype=torch.bool)).numel() == 0
