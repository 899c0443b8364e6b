"""skdlib.data.shapes: every painted pixel is the colour its region label says (fill, rim, spot)."""

from __future__ import annotations

import numpy as np
import pytest

from skdlib.data import (
    COLOR_NAMES,
    COLORS,
    SCENES,
    TEXTURES,
    concept_number,
    render_scene,
)
from skdlib.data import shapes as syn

PALETTE = np.array([COLORS[c] for c in COLOR_NAMES], dtype=np.float64)


def _check_scene_consistency(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    s = render_scene(rng, size=size, seg_size=size)
    img = s.image.astype(np.float64)
    color = s.pixel_labels["color"]
    obj = s.pixel_labels["object"]
    parts = s.pixel_labels["part"]
    assert len(color) == 1 and len(obj) == 1 and len(parts) == len(s.objects)
    color, obj = color[0], obj[0]
    assert s.image_labels["texture"][0] in {concept_number(t) for t in TEXTURES}
    assert s.image_labels["scene"][0] in {concept_number(t) for t in SCENES}

    # colour layer: fill pixels have (shaded) fill colour, nearest palette entry = the label
    color_nums = {concept_number(c): i for i, c in enumerate(COLOR_NAMES)}
    labelled = color > 0
    assert set(np.unique(color[labelled]).tolist()) <= set(color_nums)
    idx = np.vectorize(color_nums.get)(color[labelled]) if labelled.any() else np.zeros(0, int)
    ref = PALETTE[idx]
    pix = img[labelled]
    assert (np.abs(pix - ref) <= 0.1 * ref + 1.0).all()
    nearest = np.linalg.norm(pix[:, None] - PALETTE[None], axis=-1).argmin(1)
    assert (nearest == idx).all()

    # partition: every silhouette pixel is exactly one of fill / rim / spot
    part_any = np.zeros_like(obj, dtype=bool)
    for layer in parts:
        assert not (part_any & (layer > 0)).any(), "part layers overlap"
        part_any |= layer > 0
    assert not (labelled & part_any).any()
    assert np.array_equal(obj > 0, labelled | part_any)
    # the object layer carries shape numbers consistent with the listed objects
    shape_nums = {concept_number(sh) for sh, _ in s.objects}
    assert set(np.unique(obj[obj > 0]).tolist()) <= shape_nums
    assert sum(s.areas) == int((obj > 0).sum())

    for k, (shape, cname) in enumerate(s.objects):
        layer = parts[k]
        rim, spot = (
            layer == concept_number(f"{shape} rim"),
            layer == concept_number(f"{shape} spot"),
        )
        assert np.array_equal(layer > 0, rim | spot), "part layer holds another object's parts"
        assert (obj[layer > 0] == concept_number(shape)).all()
        col = np.array(COLORS[cname], dtype=np.float64)
        # rim: fill colour x 0.45 x shading, clearly darker than the fill
        if rim.any():
            assert (np.abs(img[rim] - syn.RIM_FACTOR * col) <= 0.05 * col + 1.0).all()
            assert img[rim].sum(1).max() < 0.6 * col.sum()
        # spot: pure white
        assert (img[spot] == 255).all()
        # a single-shape object's visible area is what the object layer shows
        if sum(sh == shape for sh, _ in s.objects) == 1:
            assert s.areas[k] == int((obj == concept_number(shape)).sum())

    # background: where no object is labelled the image is the bare background
    bare = render_scene(np.random.default_rng(seed), size=size, seg_size=size, n_objects=(0, 0))
    assert bare.objects == [] and not bare.pixel_labels["object"][0].any()
    assert bare.image_labels == s.image_labels
    assert np.array_equal(s.image[obj == 0], bare.image[obj == 0])


@pytest.mark.parametrize("seed", range(12))
def test_labels_match_pixels_128(seed: int) -> None:
    _check_scene_consistency(seed, 128)


@pytest.mark.parametrize("seed", [100, 101])
def test_labels_match_pixels_224(seed: int) -> None:
    _check_scene_consistency(seed, 224)


def test_rim_and_spot_exist_at_224() -> None:
    """Every object drawn in full at 224 px has a rim at least 2 px wide and a white spot."""
    for seed in range(20):
        s = render_scene(np.random.default_rng(seed), size=224, seg_size=224, n_objects=(1, 1))
        (shape, _), layer = s.objects[0], s.pixel_labels["part"][0]
        rim = layer == concept_number(f"{shape} rim")
        assert (layer == concept_number(f"{shape} spot")).sum() >= 9
        # along any row through the rim, the rim run next to the outside is >= 2 px wide
        rows = np.nonzero(rim.any(1))[0]
        row = rim[rows[len(rows) // 2]]
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], row, [0]]))))[::2]
        assert runs.max() >= 2
