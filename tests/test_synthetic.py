"""Tests for skdlib.synthetic: vocabulary, rendering, labels, datasets, learnability."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

from skdlib import synthetic as syn
from skdlib.synthetic import (
    CATEGORIES,
    CLASS_NAMES,
    COLORS,
    CONCEPTS,
    IMAGE_CATEGORIES,
    PIXEL_CATEGORIES,
    SCENES,
    SHAPES,
    TEXTURES,
    ConceptScene,
    SyntheticCIFAR100,
    SyntheticConceptImages,
    class_id,
    concept_number,
    render_object,
    render_scene,
)

COLOR_NAMES = list(COLORS)
PALETTE = np.array([COLORS[c] for c in COLOR_NAMES], dtype=np.float64)


def _same_scene(a: ConceptScene, b: ConceptScene) -> bool:
    if not np.array_equal(a.image, b.image) or a.objects != b.objects:
        return False
    if a.image_labels != b.image_labels or a.areas != b.areas:
        return False
    for cat in PIXEL_CATEGORIES:
        la, lb = a.pixel_labels[cat], b.pixel_labels[cat]
        if len(la) != len(lb) or not all(np.array_equal(x, y) for x, y in zip(la, lb, strict=True)):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------


def test_concept_numbering_and_categories() -> None:
    numbers = [c.number for c in CONCEPTS]
    assert numbers == list(range(1, len(CONCEPTS) + 1))
    names = [c.name for c in CONCEPTS]
    assert len(set(names)) == len(names)
    counts = Counter(c.category for c in CONCEPTS)
    assert counts == {"color": 10, "object": 10, "part": 20, "texture": 6, "scene": 6}
    # category order: color, object, part, texture, scene
    order = [CATEGORIES.index(c.category) for c in CONCEPTS]
    assert order == sorted(order)
    assert set(PIXEL_CATEGORIES) | set(IMAGE_CATEGORIES) == set(CATEGORIES)
    assert not set(PIXEL_CATEGORIES) & set(IMAGE_CATEGORIES)
    for c in CONCEPTS:
        assert concept_number(c.name) == c.number
    parts = {c.name for c in CONCEPTS if c.category == "part"}
    assert parts == {f"{s} {p}" for s in SHAPES for p in ("rim", "spot")}
    assert [c.name for c in CONCEPTS if c.category == "texture"] == list(TEXTURES)
    assert [c.name for c in CONCEPTS if c.category == "scene"] == list(SCENES)


def test_concept_number_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown concept 'redd'.*'red'"):
        concept_number("redd")


def test_palette_distinct_and_no_white_black() -> None:
    d = np.linalg.norm(PALETTE[:, None] - PALETTE[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 60, "fill colours too close to each other"
    assert np.linalg.norm(PALETTE - 255, axis=1).min() > 100  # far from the white spot
    assert np.linalg.norm(PALETTE, axis=1).min() > 100  # far from black
    assert len(SHAPES) == len(set(SHAPES)) == 10


def test_class_names_and_ids() -> None:
    assert len(CLASS_NAMES) == 100 == len(set(CLASS_NAMES))
    for si, s in enumerate(SHAPES):
        for ci, c in enumerate(COLOR_NAMES):
            assert class_id(s, c) == si * 10 + ci
            assert CLASS_NAMES[si * 10 + ci] == f"{c} {s}"
    with pytest.raises(ValueError):
        class_id("blob", "red")


# ---------------------------------------------------------------------------------------------
# Rendering: determinism
# ---------------------------------------------------------------------------------------------


def test_render_scene_deterministic() -> None:
    a = render_scene(np.random.default_rng(7), size=128)
    b = render_scene(np.random.default_rng(7), size=128)
    c = render_scene(np.random.default_rng(8), size=128)
    assert _same_scene(a, b)
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


# ---------------------------------------------------------------------------------------------
# Labels agree with pixels (full resolution)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Subsampling
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------


def test_concept_images_dataset() -> None:
    ds = SyntheticConceptImages(6, size=64, seed=3)
    assert len(ds) == 6
    x, y = ds[2]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    s = ds.scene(2)
    # item independent of n and of access order, equal to the documented seeding
    ref = render_scene(np.random.default_rng([3, 2]), size=64)
    assert _same_scene(s, ref)
    assert _same_scene(SyntheticConceptImages(100, size=64, seed=3).scene(2), s)
    # normalised with ImageNet statistics
    mean = torch.tensor(syn.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(syn.IMAGENET_STD).view(3, 1, 1)
    expect = (torch.from_numpy(s.image).permute(2, 0, 1).float() / 255 - mean) / std
    assert torch.allclose(x, expect, atol=1e-5)
    # target: class of the largest visible object
    k = int(np.argmax(s.areas))
    assert y == class_id(*s.objects[k])
    assert s.areas[k] == max(s.areas) > 0
    # with a transform
    ds_t = SyntheticConceptImages(6, size=64, seed=3, transform=transforms.ToTensor())
    xt, yt = ds_t[2]
    assert yt == y and torch.allclose(xt, torch.from_numpy(s.image).permute(2, 0, 1) / 255)
    with pytest.raises(IndexError):
        ds[6]
    assert len(list(ds)) == 6


@pytest.fixture(scope="module")
def cifar_small() -> tuple[SyntheticCIFAR100, SyntheticCIFAR100]:
    return SyntheticCIFAR100(n_per_class=12, train=True), SyntheticCIFAR100(5, train=False)


def test_cifar_shapes_and_balance(cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100]) -> None:
    train, test = cifar_small
    assert train.data.shape == (1200, 32, 32, 3) and train.data.dtype == np.uint8
    assert test.data.shape == (500, 32, 32, 3)
    assert len(train) == len(train.targets) == 1200
    assert all(isinstance(t, int) for t in train.targets)
    assert Counter(train.targets) == {c: 12 for c in range(100)}
    assert Counter(test.targets) == {c: 5 for c in range(100)}
    assert train.classes == list(CLASS_NAMES)
    img, target = train[5]
    assert isinstance(img, Image.Image) and img.size == (32, 32) and img.mode == "RGB"
    assert target == train.targets[5]
    assert np.array_equal(np.asarray(img), train.data[5])


def test_cifar_train_test_disjoint(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    train, test = cifar_small
    tr = {x.tobytes() for x in train.data}
    te = {x.tobytes() for x in test.data}
    assert len(tr) == len(train.data) and len(te) == len(test.data)  # no duplicates either
    assert not tr & te


def test_cifar_deterministic_and_prefix(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    _, test = cifar_small
    small = SyntheticCIFAR100(3, train=False)
    assert np.array_equal(small.data, test.data[:300])
    assert small.targets == test.targets[:300]
    other = SyntheticCIFAR100(3, train=False, seed=1)
    assert not np.array_equal(small.data, other.data)


def test_cifar_with_torchvision_transform() -> None:
    tf = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
        ]
    )
    ds = SyntheticCIFAR100(1, transform=tf, target_transform=lambda t: t + 1000)
    x, y = ds[7]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y == 1007
    loader = torch.utils.data.DataLoader(ds, batch_size=50)
    xb, yb = next(iter(loader))
    assert xb.shape == (50, 3, 32, 32) and yb.shape == (50,)


# ---------------------------------------------------------------------------------------------
# Learnability
# ---------------------------------------------------------------------------------------------


def _pooled(data: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) uint8 -> (N, 192) features: 4x4 average pooling."""
    n = len(data)
    return data.astype(np.float32).reshape(n, 8, 4, 8, 4, 3).mean((2, 4)).reshape(n, -1) / 255


def test_colours_separable_by_nearest_class_mean(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    train, test = cifar_small
    xtr, xte = _pooled(train.data), _pooled(test.data)
    ytr, yte = np.array(train.targets) % 10, np.array(test.targets) % 10
    means = np.stack([xtr[ytr == c].mean(0) for c in range(10)])
    pred = ((xte[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    acc = (pred == yte).mean()
    assert acc > 0.45, f"colour NCM accuracy {acc:.2f} (chance 0.10)"


def test_shapes_separable_by_logistic_regression(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    train, test = cifar_small
    torch.manual_seed(0)
    xtr, xte = torch.from_numpy(_pooled(train.data)), torch.from_numpy(_pooled(test.data))
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-3
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    ytr = torch.tensor(train.targets) // 10
    yte = torch.tensor(test.targets) // 10
    w = torch.zeros(xtr.shape[1], 10, requires_grad=True)
    b = torch.zeros(10, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=100)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(xtr @ w + b, ytr) + 1e-3 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    acc = ((xte @ w + b).argmax(1) == yte).float().mean().item()
    assert acc > 0.3, f"shape accuracy {acc:.2f} (chance 0.10)"


def test_concept_targets_list_exactly_the_concepts_in_the_scene() -> None:
    ds = SyntheticConceptImages(5, size=64, seed=2, targets="concepts")
    for i in range(5):
        _, target = ds[i]
        s = ds.scene(i)
        expected = set()
        for layers in s.pixel_labels.values():
            for layer in layers:
                expected.update(int(v) for v in np.unique(layer) if v > 0)
        for nums in s.image_labels.values():
            expected.update(nums)
        assert target.dtype == torch.float32 and target.shape == (len(CONCEPTS),)
        assert {c.number for c in CONCEPTS if target[c.number - 1] == 1} == expected
        assert target.sum() == len(expected)
    with pytest.raises(ValueError, match="targets"):
        SyntheticConceptImages(1, targets="labels")
