"""skdlib.dissect.label_sets: every pixel's combination, numbered image by image, equals an
explicit dictionary of the label tuples of each image."""

from __future__ import annotations

import pytest
import torch

from skdlib.dissect import label_sets


@pytest.mark.parametrize(("depth", "noise"), [(3, 0.0), (4, 0.3), (1, 0.0), (0, 0.0)])
def test_label_sets_equal_a_dictionary_of_tuples(depth, noise):
    g = torch.Generator().manual_seed(depth)
    b, sh, sw = 4, 13, 11
    coarse = torch.randint(0, 40, (b, max(depth, 1), 3, 4), generator=g, dtype=torch.int32)
    pixel = torch.nn.functional.interpolate(coarse.float(), (sh, sw), mode="nearest").int()
    pixel = pixel[:, :depth].contiguous()
    speckle = torch.rand(pixel.shape, generator=g) < noise  # runs of length one
    pixel[speckle] = torch.randint(0, 700, (int(speckle.sum()),), generator=g, dtype=torch.int32)
    pixel[1] = 0
    sets = label_sets(pixel)
    assert sets.ids.shape == (b, sh, sw)
    numbering = {}
    for i in range(b):
        tuples = sorted({tuple(pixel[i, :, y, x].tolist()) for y in range(sh) for x in range(sw)})
        start = int(sets.offsets[i])
        assert int(sets.offsets[i + 1]) - start == len(tuples)
        numbering.update({(i, t): start + j for j, t in enumerate(tuples)})
    assert len(sets) == len(numbering)
    for i in range(b):
        for y in range(sh):
            for x in range(sw):
                s = int(sets.ids[i, y, x])
                assert s == numbering[(i, tuple(pixel[i, :, y, x].tolist()))]
                assert int(sets.image[s]) == i
                assert sets.labels[s].tolist() == pixel[i, :, y, x].tolist()


def test_label_sets_reject_a_wrong_shape():
    with pytest.raises(ValueError, match=r"\(batch, layers, height, width\)"):
        label_sets(torch.zeros(3, 4, 5, dtype=torch.int32))


def test_label_numbers_too_large_for_one_key_are_numbered_column_by_column():
    """The combinations are numbered with one mixed-radix key while it fits in int64; beyond,
    column by column: the same numbering either way."""
    g = torch.Generator().manual_seed(0)
    small = torch.randint(0, 4, (2, 3, 4, 5), generator=g)
    huge = small * (1 << 40) + 7  # each column spans ~2^42 values: three do not fit in 2^62
    a, b = label_sets(small), label_sets(huge)
    assert torch.equal(a.ids, b.ids) and torch.equal(a.offsets, b.offsets)
    assert torch.equal(b.labels, a.labels * (1 << 40) + 7)
    for img in range(2):
        for y in range(4):
            for x in range(5):
                assert torch.equal(b.labels[b.ids[img, y, x]], huge[img, :, y, x])
