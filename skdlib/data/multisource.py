"""Scenes with the label statistics of the real Broden: four sources, a thousand concepts.

The real ``broden1_224`` joins four data sets, each annotating its own subset of the six
categories, so most images lack most categories; an ADE20K image carries dozens of object
segments with two layers of parts inside them, and every pixel of every image has a colour
label. The simple generated Broden (:mod:`skdlib.data.scenes`: 52 concepts, 1–3 objects, about
6 label combinations per image) has none of that, and both the dissection tally's speed and its
area rules depend on exactly these statistics. :func:`render_multisource_scene` draws, from the
same shapes and backgrounds, a scene of one source:

============== ======= ==================================================== ==================
source          share   categories it annotates                              objects
============== ======= ==================================================== ==================
``ade``         35 %    color, object, part (two layers: parts, and parts    20–50
                        of parts), scene
``pascal``      16 %    color, object, part (one layer; 1 in 5 images        5–15
                        without part annotation)
``opensurfaces`` 40 %   color, material (3–10 surface regions)               —
``dtd``          9 %    color, texture (1–3 whole-image labels)              —
============== ======= ==================================================== ==================

The vocabulary (:data:`VOCABULARY`, 1,070 numbers) has Broden's 11 colour names, 500 objects,
200 parts — of which 20 are also objects, as Broden's "wheel" or "door", so a label can belong to
two categories —, 32 materials, 47 textures and 300 scenes. Object, part, material, scene and
texture classes are drawn with Zipf-like frequencies (probability ∝ 1 / rank), so a few are
common and most are rare, as in Broden. Colour labels name the nearest of the 11 colours of each
pixel of the finished image (Broden's colour layer does the same with van de Weijer's names).

Example:
    >>> s = render_multisource_scene(np.random.default_rng(0), "ade", size=112)
    >>> sorted(s.pixel_labels), len(s.pixel_labels["part"]), sorted(s.image_labels)
    (['color', 'object', 'part'], 2, ['scene'])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .concepts import SHAPES
from .scenes import ConceptScene, _background, _subsample_index, _to_uint8
from .shapes import REGION_RIM, REGION_SPOT, paint_object

__all__ = [
    "BRODEN_COLORS",
    "CATEGORY_SIZES",
    "MultiSourceConcept",
    "SOURCES",
    "VOCABULARY",
    "choose_source",
    "render_multisource_scene",
]

#: Broden's colour names (van de Weijer's eleven) with a prototype RGB each.
BRODEN_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "blue": (40, 70, 210),
    "brown": (125, 80, 40),
    "grey": (128, 128, 128),
    "green": (50, 160, 60),
    "orange": (240, 140, 30),
    "pink": (240, 150, 190),
    "purple": (125, 50, 170),
    "red": (210, 35, 35),
    "white": (240, 240, 240),
    "yellow": (235, 220, 40),
}

#: Concepts per category; 20 of the parts are objects too (the last 20 objects).
CATEGORY_SIZES: dict[str, int] = {
    "color": 11,
    "object": 500,
    "part": 200,
    "material": 32,
    "texture": 47,
    "scene": 300,
}
SHARED_PARTS = 20
#: Standard deviation of the pixel noise added to every finished image (0..255 scale).
NOISE = 22.0

#: ``{source: (share of the images, categories it annotates)}``.
SOURCES: dict[str, tuple[float, tuple[str, ...]]] = {
    "ade": (0.35, ("color", "object", "part", "scene")),
    "pascal": (0.16, ("color", "object", "part")),
    "opensurfaces": (0.40, ("color", "material")),
    "dtd": (0.09, ("color", "texture")),
}


class MultiSourceConcept(NamedTuple):
    """One label number: its name and every category it occurs in (the first is its own)."""

    number: int
    name: str
    categories: tuple[str, ...]


def _vocabulary() -> tuple[tuple[MultiSourceConcept, ...], dict[str, np.ndarray]]:
    concepts: list[MultiSourceConcept] = []
    numbers: dict[str, list[int]] = {c: [] for c in CATEGORY_SIZES}
    for name in BRODEN_COLORS:
        concepts.append(MultiSourceConcept(len(concepts) + 1, name, ("color",)))
    for cat, prefix, width in (("object", "object", 3), ("part", "part", 3)):
        count = CATEGORY_SIZES[cat] - (SHARED_PARTS if cat == "part" else 0)
        for i in range(count):
            cats = ("object", "part") if cat == "object" and i >= count - SHARED_PARTS else (cat,)
            concepts.append(
                MultiSourceConcept(len(concepts) + 1, f"{prefix}-{i + 1:0{width}d}", cats)
            )
    for cat, width in (("material", 2), ("texture", 2), ("scene", 3)):
        for i in range(CATEGORY_SIZES[cat]):
            concepts.append(
                MultiSourceConcept(len(concepts) + 1, f"{cat}-{i + 1:0{width}d}", (cat,))
            )
    for c in concepts:
        for cat in c.categories:
            numbers[cat].append(c.number)
    # a part's own parts first, then the objects that also serve as parts (the rare end)
    numbers["part"].sort(key=lambda n: (len(concepts[n - 1].categories), n))
    return tuple(concepts), {c: np.array(v, np.int32) for c, v in numbers.items()}


#: Every label number of the multi-source Broden, in order (numbers 1..1070).
VOCABULARY, _NUMBERS = _vocabulary()
_COLOR_RGB = np.array(list(BRODEN_COLORS.values()), np.float32)


def _zipf(rng: np.random.Generator, n: int, size: int | None = None, exponent: float = 1.0):
    """Ranks ``0..n-1`` drawn with probability ∝ ``1 / (rank + 1) ** exponent``."""
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return rng.choice(n, size=size, p=weights / weights.sum())


def choose_source(rng: np.random.Generator) -> str:
    """A source drawn with the shares of :data:`SOURCES`."""
    names = list(SOURCES)
    shares = np.array([SOURCES[n][0] for n in names])
    return names[int(rng.choice(len(names), p=shares / shares.sum()))]


def _colour_layer(image: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The nearest Broden colour of every label pixel, as label numbers 1..11 (never 0)."""
    pixels = image[np.ix_(idx, idx)].astype(np.float32)  # (seg, seg, 3)
    dist = ((pixels[:, :, None, :] - _COLOR_RGB[None, None]) ** 2).sum(-1)
    return (dist.argmin(-1) + 1).astype(np.int32)


def _paint_objects(rng, img, n, size, radius_range, shape_of, rgb_of, owner, region):
    """Paint ``n`` objects; returns the class (rank) of each, in drawing order."""
    classes = np.zeros(n, np.int64)
    for k in range(n):
        cls = int(shape_of(k))
        classes[k] = cls
        radius = rng.uniform(*radius_range) * size
        cx, cy = rng.uniform(0.0, size, size=2)
        paint_object(
            img, owner, region, k, SHAPES[cls % len(SHAPES)], rgb_of(cls), float(cx), float(cy),
            float(radius), float(np.deg2rad(rng.uniform(-40.0, 40.0))),
            float(rng.uniform(0.0, 2 * np.pi)),
        )  # fmt: skip
    return classes


def _class_rgb(rng: np.random.Generator, cls: int) -> tuple[int, int, int]:
    """An object class's colour: a class hue, varied per instance (so colours mix in a class)."""
    base = _COLOR_RGB[cls % len(_COLOR_RGB)]
    jitter = rng.uniform(-35.0, 35.0, size=3)
    return tuple(int(v) for v in np.clip(base + jitter, 0, 255))


def render_multisource_scene(
    rng: np.random.Generator, source: str, size: int = 224, seg_size: int | None = None
) -> ConceptScene:
    """A scene of ``source`` with its labels (see the module docstring).

    Args:
        rng: the randomness; the scene is a deterministic function of its state.
        source: a key of :data:`SOURCES`.
        size: image side; labels are ``seg_size`` (default ``size // 2``, as Broden's).

    Returns:
        A :class:`~skdlib.data.ConceptScene` whose ``pixel_labels`` hold only the source's
        pixel categories (``"part"``: one layer per part level) and ``image_labels`` its
        whole-image ones, as label numbers of :data:`VOCABULARY`; ``objects`` lists
        ``(object name, "")`` per painted object.

    Example:
        >>> s = render_multisource_scene(np.random.default_rng(1), "dtd", size=64)
        >>> sorted(s.pixel_labels), len(s.image_labels["texture"]) >= 1
        (['color'], True)
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    seg = size // 2 if seg_size is None else int(seg_size)
    img, _, _ = _background(rng, size, contrast=1.0 if source != "dtd" else 1.6)
    owner = np.full((size, size), -1, np.int32)
    region = np.zeros((size, size), np.uint8)
    idx = _subsample_index(size, seg)
    pixel: dict[str, list[np.ndarray]] = {}
    whole: dict[str, list[int]] = {}
    objects: list[tuple[str, str]] = []
    if source in ("ade", "pascal"):
        n = int(rng.integers(20, 51)) if source == "ade" else int(rng.integers(5, 16))
        n_obj = CATEGORY_SIZES["object"]
        classes = _paint_objects(
            rng, img, n, size, (0.03, 0.14) if source == "ade" else (0.05, 0.22),
            lambda k: _zipf(rng, n_obj), lambda c: _class_rgb(rng, c), owner, region,
        )  # fmt: skip
        own = owner[np.ix_(idx, idx)]
        reg = region[np.ix_(idx, idx)]
        obj_num = np.concatenate([[0], _NUMBERS["object"][classes]]).astype(np.int32)
        pixel["object"] = [obj_num[own + 1]]
        parts = _NUMBERS["part"]
        # every object class has its rim part and its spot part; ADE adds a part of the spot
        rim = parts[(classes * 7) % len(parts)]
        spot = parts[(classes * 11 + 3) % len(parts)]
        sub = parts[(classes * 13 + 5) % len(parts)]
        k = np.clip(own, 0, None)
        level1 = np.where(reg == REGION_RIM, rim[k], np.where(reg == REGION_SPOT, spot[k], 0))
        level1 = np.where(own >= 0, level1, 0).astype(np.int32)
        if source == "ade":
            centre = (reg == REGION_SPOT) & (own >= 0) & (classes[k] % 3 == 0)
            pixel["part"] = [level1, np.where(centre, sub[k], 0).astype(np.int32)]
            whole["scene"] = [
                int(_NUMBERS["scene"][_zipf(rng, CATEGORY_SIZES["scene"], None, 0.8)])
            ]
        elif rng.random() >= 0.2:
            pixel["part"] = [level1]
        objects = [(VOCABULARY[int(_NUMBERS["object"][c]) - 1].name, "") for c in classes]
    elif source == "opensurfaces":
        n = int(rng.integers(3, 11))
        classes = _paint_objects(
            rng, img, n, size, (0.15, 0.45),
            lambda k: _zipf(rng, CATEGORY_SIZES["material"]),
            lambda c: _class_rgb(rng, c + 3), owner, region,
        )  # fmt: skip
        own = owner[np.ix_(idx, idx)]
        mat = np.concatenate([[0], _NUMBERS["material"][classes]]).astype(np.int32)
        pixel["material"] = [mat[own + 1]]
    else:  # dtd: whole-image textures, the dominant first
        count = int(rng.integers(1, 4))
        picks = _zipf(rng, CATEGORY_SIZES["texture"], size=count, exponent=0.7)
        whole["texture"] = [int(n) for n in dict.fromkeys(_NUMBERS["texture"][picks].tolist())]
    # sensor-like noise: an object's pixels fall to two or three colour names, as in photographs
    img += rng.normal(0.0, NOISE, size=img.shape).astype(np.float32)
    image = _to_uint8(img)
    pixel = {"color": [_colour_layer(image, idx)], **pixel}
    areas = np.bincount(owner[owner >= 0], minlength=len(objects))[: len(objects)]
    return ConceptScene(
        image=image,
        pixel_labels=pixel,
        image_labels=whole,
        objects=objects,
        areas=[int(a) for a in areas],
    )
