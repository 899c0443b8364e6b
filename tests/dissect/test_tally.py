"""skdlib.dissect.tally: counts equal brute-force loops over images, units, layers and labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.dissection import bilinear_ref

from skdlib.dissect import IoUTally, categories_present, label_area, label_sets
from skdlib.dissect import masks as masks_module


def test_label_area_and_categories_present():
    pixel = torch.tensor(
        [[[[0, 3], [3, 1]], [[2, 0], [0, 0]]], [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]]
    )
    whole = torch.tensor([[4, 0], [5, 4]])
    lut = torch.tensor([-1, 0, 0, 1, 2, 2])
    sets = label_sets(pixel)
    for given in (None, sets):
        assert label_area(pixel, whole, 6, given).tolist() == [0, 1, 1, 2, 8, 4]
        assert categories_present(pixel, whole, lut, given).tolist() == [
            [True, True, True],
            [False, False, True],
        ]


def test_label_area_and_categories_present_from_sets_equal_the_pixel_versions():
    g = torch.Generator().manual_seed(3)
    pixel = torch.randint(0, 9, (5, 3, 6, 7), generator=g, dtype=torch.int32)
    pixel[2] = 0
    whole = torch.randint(0, 11, (5, 2), generator=g)
    lut = torch.tensor([-1, 0, 0, 1, 1, 2, 2, 3, -1, 3, 0])
    sets = label_sets(pixel)
    assert torch.equal(label_area(pixel, whole, 11, sets), label_area(pixel, whole, 11))
    assert torch.equal(
        categories_present(pixel, whole, lut, sets), categories_present(pixel, whole, lut)
    )


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


def _random_batch(seed, b=6, u=9, h=5, w=4, sh=23, sw=17, depth=3, labels=12):
    g = torch.Generator().manual_seed(seed)
    acts = torch.randn(b, u, h, w, generator=g)
    # label layers made of regions (runs), as segmentations are, plus unlabelled pixels
    coarse = torch.randint(0, labels, (b, depth, 4, 3), generator=g, dtype=torch.int32)
    pixel = torch.nn.functional.interpolate(coarse.float(), (sh, sw), mode="nearest").int()
    pixel[:, 1, : sh // 3] = 0
    whole = torch.randint(0, labels, (b, 2), generator=g)
    thresholds = torch.quantile(acts.transpose(0, 1).reshape(u, -1), 0.8, dim=1)
    return acts, pixel, whole, thresholds


@pytest.mark.parametrize("mode", ["annotated", "overlap"])
def test_tally_does_not_depend_on_chunks_spans_threads_or_layout(mode, monkeypatch):
    """Small evaluation chunks, count bins split over several spans of images, torch's own
    threads and non-contiguous activations all give the same counts."""
    acts, pixel, whole, thresholds = _random_batch(1)
    lut = torch.arange(12) % 4 - 1
    reference = IoUTally(thresholds, lut, 3, mode)
    reference.update(acts, pixel, whole)
    assert int(reference.intersection.sum()) > 100
    monkeypatch.setattr(masks_module, "_MAX_BINS", 40)  # a span per image or two
    for kwargs in ({"chunk_elements": 50}, {"threads": None}):
        other = IoUTally(thresholds, lut, 3, mode, **kwargs)
        strided = acts.permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2)
        other.update(strided[:4], pixel[:4], whole[:4])
        other.update(strided[4:], pixel[4:], whole[4:])
        assert torch.equal(other.intersection, reference.intersection)
        assert torch.equal(other.activation_area, reference.activation_area)


def test_tally_restores_the_callers_threads():
    before = torch.get_num_threads()
    acts, pixel, whole, thresholds = _random_batch(2)
    tally = IoUTally(thresholds, torch.arange(12) % 4 - 1, 3)
    tally.update(acts, pixel, whole)
    assert torch.get_num_threads() == before
