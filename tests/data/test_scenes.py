"""skdlib.data.scenes: deterministic scenes, object counts, label subsampling, concept coverage."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from skdlib.data import (
    CONCEPTS,
    PIXEL_CATEGORIES,
    render_object,
    render_scene,
)


def test_render_scene_deterministic() -> None:
    a = render_scene(np.random.default_rng(7), size=128)
    b = render_scene(np.random.default_rng(7), size=128)
    c = render_scene(np.random.default_rng(8), size=128)
    np.testing.assert_equal(asdict(a), asdict(b))
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (128, 128, 3) and a.image.dtype == np.uint8
    for cat in PIXEL_CATEGORIES:
        for layer in a.pixel_labels[cat]:
            assert layer.shape == (64, 64) and layer.dtype == np.int32


def test_render_object_deterministic() -> None:
    a = render_object(np.random.default_rng(3), "star", "blue")
    b = render_object(np.random.default_rng(3), "star", "blue")
    c = render_object(np.random.default_rng(4), "star", "blue")
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError):
        render_object(np.random.default_rng(0), "blob", "blue")
    with pytest.raises(ValueError):
        render_object(np.random.default_rng(0), "star", "white")


def test_object_count_range_inclusive() -> None:
    counts = {len(render_scene(np.random.default_rng(i), size=32).objects) for i in range(60)}
    assert counts == {1, 2, 3}
    assert {len(render_scene(np.random.default_rng(i), 32, n_objects=(2, 2)).objects)
            for i in range(5)} == {2}  # fmt: skip


@pytest.mark.parametrize(("size", "seg"), [(224, 112), (128, 64), (96, 40)])
def test_seg_subsampling_is_nearest_at_pixel_centres(size: int, seg: int) -> None:
    for seed in range(3):
        full = render_scene(np.random.default_rng(seed), size=size, seg_size=size)
        half = render_scene(np.random.default_rng(seed), size=size, seg_size=seg)
        assert np.array_equal(full.image, half.image)
        for cat in PIXEL_CATEGORIES:
            assert len(full.pixel_labels[cat]) == len(half.pixel_labels[cat])
            for f, h in zip(full.pixel_labels[cat], half.pixel_labels[cat], strict=True):
                if size % seg == 0:  # PIL's NEAREST samples at pixel centres too (its
                    # fixed-point rounding differs from floor only at exact non-integer ties)
                    ref = np.asarray(Image.fromarray(f).resize((seg, seg), Image.NEAREST))
                    assert np.array_equal(h, ref)
                t = torch.from_numpy(f)[None, None].double()
                ref_t = F.interpolate(t, size=(seg, seg), mode="nearest-exact")[0, 0].int()
                assert np.array_equal(h, ref_t.numpy())


def test_default_seg_size_is_half() -> None:
    s = render_scene(np.random.default_rng(0), size=224)
    assert s.pixel_labels["object"][0].shape == (112, 112)


def test_every_concept_appears_in_300_scenes() -> None:
    seen: set[int] = set()
    for i in range(300):
        s = render_scene(np.random.default_rng([1, i]), size=96)
        for layers in s.pixel_labels.values():
            for layer in layers:
                seen.update(np.unique(layer).tolist())
        for nums in s.image_labels.values():
            seen.update(nums)
    seen.discard(0)
    missing = {c.name for c in CONCEPTS if c.number not in seen}
    assert not missing, f"never appeared: {sorted(missing)}"
