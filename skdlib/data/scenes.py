"""Whole scenes with Broden-style labels, and single objects for the 32x32 stand-in.

:func:`render_scene` draws a background (one of six scene layouts with one of six textures) and
one to three objects (:mod:`skdlib.data.shapes`), and derives every label from what is visible:
a colour layer, an object layer, one part layer per object (rims and spots), and whole-image
texture and scene labels. :func:`render_object` draws one "<colour> <shape>" on a faint
background, the image of one class of :class:`skdlib.data.SyntheticCIFAR100`. Everything is
vectorised numpy; nothing is downloaded.

Example:
    >>> s = render_scene(np.random.default_rng(0), size=224)
    >>> s.image.shape, s.pixel_labels["object"][0].shape
    ((224, 224, 3), (112, 112))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .concepts import (
    COLOR_NAMES,
    COLORS,
    CONCEPTS,
    SCENES,
    SHAPES,
    TEXTURES,
    class_id,
    concept_number,
)
from .shapes import REGION_FILL, paint_object

__all__ = ["ConceptScene", "render_scene", "render_object"]


def _column(a: tuple[float, ...], b: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    """(3, size, 1) vertical colour gradient from ``a`` (t=0) to ``b`` (t=1)."""
    a_, b_ = np.asarray(a, np.float32)[:, None, None], np.asarray(b, np.float32)[:, None, None]
    return (a_ + (b_ - a_) * np.clip(t, 0, 1)[None, :, None]).astype(np.float32)


def _scene_background(rng: np.random.Generator, scene: str, size: int) -> np.ndarray:
    """Channel-first (3, size, size) float32 background of one scene layout, randomly jittered."""
    y = ((np.arange(size, dtype=np.float32) + 0.5) / size)[:, None]  # (size, 1)
    x = ((np.arange(size, dtype=np.float32) + 0.5) / size)[None, :]  # (1, size)
    yc = y[:, 0]
    horizon = rng.uniform(0.3, 0.5)
    wave_amp, wave_f, wave_ph = rng.uniform(0.01, 0.05), rng.uniform(0.5, 2.0), rng.uniform(0, 6.3)
    bright = np.float32(rng.uniform(0.92, 1.08))
    below = (yc - horizon) / (1 - horizon)
    if scene == "sky":  # blue vertical gradient, lighter towards the bottom
        top = _column((120, 160, 205), (205, 220, 232), yc)
        bottom, mask = top, None
    elif scene == "meadow":  # pale sky above a green field, gently rolling horizon
        top = _column((190, 208, 222), (215, 225, 230), yc / horizon)
        bottom = _column((110, 145, 90), (70, 105, 60), below)
        mask = y < horizon + wave_amp * np.sin(2 * np.pi * wave_f * x + wave_ph)
    elif scene == "desert":  # pale yellow haze above sand dunes
        top = _column((225, 215, 190), (238, 228, 200), yc / horizon)
        bottom = _column((210, 185, 135), (175, 145, 95), below)
        mask = y < horizon + 2 * wave_amp * np.sin(2 * np.pi * wave_f * x + wave_ph)
    elif scene == "ocean":  # light sky above dark blue-green water, straight horizon
        top = _column((180, 200, 215), (205, 215, 222), yc / horizon)
        bottom = _column((55, 100, 125), (25, 60, 85), below)
        mask = np.broadcast_to(y < horizon, (size, size))
    elif scene == "night":  # dark navy gradient
        top = _column((12, 16, 40), (48, 52, 82), yc)
        bottom, mask = top, None
    elif scene == "indoor":  # warm wall over a darker floor, with a light skirting line
        floor = horizon + 0.25
        top = _column((195, 180, 160), (175, 160, 140), yc / floor)
        bottom = _column((130, 105, 85), (105, 82, 65), (yc - floor) / (1 - floor))
        top[:, np.abs(yc - floor) < 0.012] = 235.0
        mask = np.broadcast_to(y < floor, (size, size))
    else:  # pragma: no cover - guarded by the callers
        raise ValueError(f"unknown scene {scene!r}")
    if mask is None:
        bg = np.broadcast_to(top, (3, size, size)) * bright
    else:
        bg = np.where(mask, top, bottom) * bright
    return bg.astype(np.float32, copy=False)


def _texture_pattern(rng: np.random.Generator, texture: str, size: int) -> np.ndarray:
    """(size, size) float32 pattern in {0, 1}: 1 where texture marks are drawn."""
    period = max(5.0, size * rng.uniform(0.06, 0.10))
    yy = (np.arange(size, dtype=np.float32) + 0.5)[:, None]
    xx = (np.arange(size, dtype=np.float32) + 0.5)[None, :]
    ph1, ph2 = rng.uniform(0, 1, size=2)
    angle = rng.uniform(0, np.pi)
    if rng.random() < 0.5:  # orientation of wavy lines
        xx, yy = yy, xx

    def frac(a: np.ndarray) -> np.ndarray:
        return a - np.floor(a)

    line = max(0.2 * period, 1.0) / period  # line width as a fraction of the period
    if texture == "striped":
        p = frac((xx * np.cos(angle) + yy * np.sin(angle)) / period + ph1) < 0.5
    elif texture == "dotted":
        fx, fy = frac(xx / period + ph1) - 0.5, frac(yy / period + ph2) - 0.5
        p = fx * fx + fy * fy < 0.28**2
    elif texture == "checkered":
        cell = 1.2 * period
        cx = np.floor(xx / cell + ph1).astype(np.int64)
        cy = np.floor(yy / cell + ph2).astype(np.int64)
        p = ((cx + cy) & 1) == 1
    elif texture == "grid":
        p = (frac(xx / period + ph1) < line) | (frac(yy / period + ph2) < line)
    elif texture == "wavy":
        amp, wavelength = 0.35 * period, 2.5 * period
        p = frac((yy + amp * np.sin(2 * np.pi * xx / wavelength + 6.3 * ph2)) / period + ph1) < 0.4
    elif texture == "speckled":
        cell = max(1, round(size / 112))
        n = -(-size // cell)
        p = np.repeat(np.repeat(rng.random((n, n)) < 0.2, cell, axis=0), cell, axis=1)
        p = p[:size, :size]
    else:  # pragma: no cover - guarded by the callers
        raise ValueError(f"unknown texture {texture!r}")
    return np.broadcast_to(p, (size, size)).astype(np.float32)


def _background(
    rng: np.random.Generator, size: int, contrast: float
) -> tuple[np.ndarray, int, int]:
    """Random scene + texture background: (float32 (3,size,size), scene index, texture index)."""
    scene_i = int(rng.integers(len(SCENES)))
    texture_i = int(rng.integers(len(TEXTURES)))
    bg = _scene_background(rng, SCENES[scene_i], size)
    p = _texture_pattern(rng, TEXTURES[texture_i], size)
    # marks: half-way to black on light backgrounds, half-way to white on dark ones
    q = np.float32(contrast) * p
    dark = (0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]) <= 110.0
    bg *= 1.0 - 0.5 * q
    bg += 127.5 * q * dark
    return bg, scene_i, texture_i


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """Channel-first float image -> (H, W, 3) uint8."""
    return np.ascontiguousarray(np.clip(np.rint(img), 0, 255).astype(np.uint8).transpose(1, 2, 0))


# --------------------------------------------------------------------------------------------
# Scenes with Broden-style labels
# --------------------------------------------------------------------------------------------


@dataclass
class ConceptScene:
    """One rendered scene and its labels.

    Attributes
    ----------
    image:
        (size, size, 3) uint8 RGB.
    pixel_labels:
        category -> list of int32 (seg, seg) layers of unified concept numbers, 0 = unlabelled.
        ``"color"`` and ``"object"`` have one layer each; ``"part"`` has one layer per object
        (in drawing order; a fully occluded object gives an all-zero layer).
    image_labels:
        ``{"texture": [number], "scene": [number]}``.
    objects:
        ``(shape, colour)`` of each object, in drawing order (later ones occlude earlier ones).
    areas:
        visible full-resolution pixel count of each object (same order as ``objects``).
    """

    image: np.ndarray
    pixel_labels: dict[str, list[np.ndarray]]
    image_labels: dict[str, list[int]]
    objects: list[tuple[str, str]]
    areas: list[int] = field(default_factory=list)

    def largest_object(self) -> int:
        """Index (into ``objects``) of the object with the largest visible area."""
        return int(np.argmax(self.areas))

    def concept_vector(self) -> np.ndarray:
        """Multi-hot ``(len(CONCEPTS),)`` float32: 1 for every concept visible in this scene.

        Index ``number - 1`` stands for concept ``number``; pixel concepts count when at least one
        pixel of any layer carries them, whole-image concepts always.
        """
        present = np.zeros(len(CONCEPTS), np.float32)
        for layers in self.pixel_labels.values():
            for layer in layers:
                numbers = np.unique(layer)
                present[numbers[numbers > 0] - 1] = 1.0
        for numbers in self.image_labels.values():
            present[np.asarray(numbers, dtype=np.int64) - 1] = 1.0
        return present

    def target(self) -> int:
        """Class id (``shape*10 + colour``) of the largest visible object."""
        shape, color = self.objects[self.largest_object()]
        return class_id(shape, color)


_COLOR_NUM = np.array([concept_number(c) for c in COLOR_NAMES], np.int32)
_SHAPE_NUM = np.array([concept_number(s) for s in SHAPES], np.int32)
_RIM_NUM = np.array([concept_number(f"{s} rim") for s in SHAPES], np.int32)
_SPOT_NUM = np.array([concept_number(f"{s} spot") for s in SHAPES], np.int32)


def _subsample_index(size: int, seg_size: int) -> np.ndarray:
    """Nearest full-resolution index of each of ``seg_size`` pixel centres.

    ``floor((j + 0.5) * size / seg_size)``: torch's ``mode="nearest-exact"``; for
    ``size // 2`` (or any integer ratio) also PIL's ``Image.NEAREST``.
    """
    idx = np.floor((np.arange(seg_size) + 0.5) * (size / seg_size)).astype(np.int64)
    return np.minimum(idx, size - 1)


def render_scene(
    rng: np.random.Generator,
    size: int = 224,
    seg_size: int | None = None,
    n_objects: tuple[int, int] = (1, 3),
) -> ConceptScene:
    """Render a random scene: scene + texture background, then ``n_objects`` objects.

    The background (scene, texture) is drawn from ``rng`` first, so for the same rng state it
    does not depend on ``n_objects``. Then ``k ~ U{n_objects[0]..n_objects[1]}`` (inclusive)
    objects with random shape, colour, radius (12–30% of ``size``), centre, rotation (±15°) and
    shading are painted in order; later objects occlude earlier ones and every label reflects
    what is visible. Labels are rendered at full resolution and subsampled to ``seg_size``
    (default ``size // 2``, as in Broden) by nearest neighbour at pixel centres
    (``index = floor((j + 0.5) * size / seg_size)``).

    Parameters
    ----------
    rng: source of randomness; the result is a deterministic function of its state.
    size: image side in pixels.
    seg_size: label-map side in pixels (default ``size // 2``).
    n_objects: inclusive range of the number of objects.

    Returns
    -------
    ConceptScene with ``image`` (size, size, 3) uint8 and label layers (seg_size, seg_size) int32.

    Example
    -------
    >>> s = render_scene(np.random.default_rng(1), size=64, seg_size=64)
    >>> sorted(s.pixel_labels), sorted(s.image_labels)
    (['color', 'object', 'part'], ['scene', 'texture'])
    >>> len(s.pixel_labels["part"]) == len(s.objects)
    True
    """
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    seg = size // 2 if seg_size is None else int(seg_size)
    if not 1 <= seg <= size:
        raise ValueError(f"seg_size must be in [1, size={size}], got {seg_size}")
    lo, hi = n_objects
    if not 0 <= lo <= hi:
        raise ValueError(
            f"n_objects must be an inclusive range (lo, hi), 0 <= lo <= hi: {n_objects}"
        )

    img, scene_i, texture_i = _background(rng, size, contrast=1.0)
    n = int(rng.integers(lo, hi + 1))
    owner = np.full((size, size), -1, np.int32)
    region = np.zeros((size, size), np.uint8)
    shape_idx = np.zeros(n, np.int64)
    color_idx = np.zeros(n, np.int64)
    for k in range(n):
        shape_idx[k] = rng.integers(len(SHAPES))
        color_idx[k] = rng.integers(len(COLORS))
        radius = rng.uniform(0.12, 0.30) * size
        margin = 0.8 * radius
        cx, cy = rng.uniform(margin, size - margin, size=2)
        theta = np.deg2rad(rng.uniform(-15.0, 15.0))
        light = rng.uniform(0.0, 2 * np.pi)
        paint_object(
            img,
            owner,
            region,
            k,
            SHAPES[shape_idx[k]],
            COLORS[COLOR_NAMES[color_idx[k]]],
            float(cx),
            float(cy),
            float(radius),
            float(theta),
            float(light),
        )

    areas = np.bincount(owner[owner >= 0], minlength=n)[:n]
    # Labels are pointwise functions of (owner, region): subsample those, then map.
    idx = _subsample_index(size, seg)
    own = owner[np.ix_(idx, idx)]
    reg = region[np.ix_(idx, idx)]
    lut_shape = np.concatenate([[0], _SHAPE_NUM[shape_idx]]).astype(np.int32)
    lut_color = np.concatenate([[0], _COLOR_NUM[color_idx]]).astype(np.int32)
    object_layer = lut_shape[own + 1]
    color_layer = np.where(reg == REGION_FILL, lut_color[own + 1], 0).astype(np.int32)
    part_layers = []
    for k in range(n):
        lut_part = np.array([0, 0, _RIM_NUM[shape_idx[k]], _SPOT_NUM[shape_idx[k]]], np.int32)
        part_layers.append(np.where(own == k, lut_part[reg], 0).astype(np.int32))

    return ConceptScene(
        image=_to_uint8(img),
        pixel_labels={"color": [color_layer], "object": [object_layer], "part": part_layers},
        image_labels={
            "texture": [concept_number(TEXTURES[texture_i])],
            "scene": [concept_number(SCENES[scene_i])],
        },
        objects=[(SHAPES[s], COLOR_NAMES[c]) for s, c in zip(shape_idx, color_idx, strict=True)],
        areas=[int(a) for a in areas],
    )


def render_object(rng: np.random.Generator, shape: str, color: str, size: int = 32) -> np.ndarray:
    """Render one ``color`` ``shape`` object (with rim and spot) on a random background.

    The background is a random scene with a random texture at reduced contrast (30–60%); the
    object has radius 25–45% of ``size``, centre jitter ±10% of ``size``, rotation ±15°.

    Returns a (size, size, 3) uint8 RGB array.

    >>> render_object(np.random.default_rng(0), "star", "blue").shape
    (32, 32, 3)
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    if color not in COLORS:
        raise ValueError(f"unknown colour {color!r}; expected one of {tuple(COLORS)}")
    img, _, _ = _background(rng, size, contrast=float(rng.uniform(0.3, 0.6)))
    radius = rng.uniform(0.25, 0.45) * size
    cx, cy = size / 2 + rng.uniform(-0.1, 0.1, size=2) * size
    theta = np.deg2rad(rng.uniform(-15.0, 15.0))
    light = rng.uniform(0.0, 2 * np.pi)
    paint_object(
        img, None, None, 0, shape, COLORS[color], float(cx), float(cy), float(radius),
        float(theta), float(light),
    )  # fmt: skip
    return _to_uint8(img)
