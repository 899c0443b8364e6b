"""Procedural "concept images": an offline stand-in for Broden, CIFAR-100 and demo images.

Nothing here downloads anything. One small vocabulary of visual concepts is rendered with
vectorised numpy (no per-pixel Python loops) into

* whole scenes with Broden-style labels (:func:`render_scene`, :class:`SyntheticConceptImages`),
  from which a Broden-format folder can be written (see ``METHOD.md`` §5);
* single 32×32 objects in 100 classes "<colour> <shape>" (:func:`render_object`,
  :class:`SyntheticCIFAR100`, a duck-typed stand-in for ``torchvision.datasets.CIFAR100``).

Concept vocabulary (52 concepts, unified numbers 1..52 in this category order; 0 = unlabelled):

===========  =====  ==========================================================================
category     count  concepts
===========  =====  ==========================================================================
color        10     fill colour of an object (its fill area only, not rim or spot)
object       10     shape of an object (its whole visible silhouette)
part         20     ``"<shape> rim"`` (a darker band along the boundary) and ``"<shape> spot"``
                    (a small white disc inside the object)
texture      6      a pattern overlaid on the background (whole-image label)
scene        6      a background layout / gradient (whole-image label)
===========  =====  ==========================================================================

Objects are drawn flat-coloured with a mild linear shading (fill = colour × f, f in [0.9, 1]),
a rim of colour × 0.45 × f whose width is 15% of the object radius (at least 1 px), and a white
spot (radius 12% of the object radius, at least 1 px). The spot sits at the centre, except for
``ring`` and ``crescent`` whose centre is empty: there it sits in the middle of the filled band
(on the ring's band to the object's right, in the crescent's thickest part). Every shape gets a
spot. Objects get a small random rotation (±15°).

Example
-------
>>> import numpy as np
>>> s = render_scene(np.random.default_rng(0), size=224)
>>> s.image.shape, s.pixel_labels["object"][0].shape
((224, 224, 3), (112, 112))
>>> len(CONCEPTS), concept_number("red"), concept_number("night")
(52, 1, 51)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

__all__ = [
    "CATEGORIES",
    "CLASS_NAMES",
    "COLORS",
    "CONCEPTS",
    "IMAGE_CATEGORIES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PARTS",
    "PIXEL_CATEGORIES",
    "RIM_FACTOR",
    "SCENES",
    "SHAPES",
    "TEXTURES",
    "Concept",
    "ConceptScene",
    "SyntheticCIFAR100",
    "SyntheticConceptImages",
    "class_id",
    "concept_number",
    "render_object",
    "render_scene",
]

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

#: Fill colours (saturated, pairwise distinct, no white/black: white is the spot colour).
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 135, 20),
    "yellow": (240, 220, 30),
    "green": (40, 170, 50),
    "cyan": (30, 200, 210),
    "blue": (30, 70, 220),
    "purple": (120, 50, 180),
    "magenta": (225, 40, 180),
    "brown": (130, 75, 30),
    "gray": (128, 128, 128),
}

#: Object shapes (distinct silhouettes).
SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "diamond",
    "cross",
    "ring",
    "star",
    "hexagon",
    "bar",
    "crescent",
)

#: Part concepts, two per shape, in shape order: ``"<shape> rim"``, ``"<shape> spot"``.
PARTS: tuple[str, ...] = tuple(f"{s} {p}" for s in SHAPES for p in ("rim", "spot"))

#: Whole-image textures, drawn on the background only.
TEXTURES: tuple[str, ...] = ("striped", "dotted", "checkered", "grid", "wavy", "speckled")

#: Whole-image scenes: muted background layouts.
SCENES: tuple[str, ...] = ("sky", "meadow", "desert", "ocean", "night", "indoor")

CATEGORIES: tuple[str, ...] = ("color", "object", "part", "texture", "scene")
PIXEL_CATEGORIES: tuple[str, ...] = ("color", "object", "part")
IMAGE_CATEGORIES: tuple[str, ...] = ("texture", "scene")

#: Rim colour = fill colour × RIM_FACTOR (× the same shading factor as the fill).
RIM_FACTOR = 0.45
RIM_WIDTH = 0.15  # fraction of the object radius
SPOT_RADIUS = 0.12  # fraction of the object radius
SHADE_AMPLITUDE = 0.10  # fill = colour × f, f in [1 - SHADE_AMPLITUDE, 1]
SPOT_RGB = (255, 255, 255)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Concept(NamedTuple):
    """One concept: unified number (1..N, 0 is "unlabelled"), unique name, category."""

    number: int
    name: str
    category: str


def _build_concepts() -> tuple[Concept, ...]:
    names_by_cat = {
        "color": tuple(COLORS),
        "object": SHAPES,
        "part": PARTS,
        "texture": TEXTURES,
        "scene": SCENES,
    }
    out: list[Concept] = []
    for cat in CATEGORIES:
        for name in names_by_cat[cat]:
            out.append(Concept(len(out) + 1, name, cat))
    return tuple(out)


#: All concepts, numbered 1..N in category order color, object, part, texture, scene.
CONCEPTS: tuple[Concept, ...] = _build_concepts()
_NUMBER: dict[str, int] = {c.name: c.number for c in CONCEPTS}
assert len(_NUMBER) == len(CONCEPTS), "concept names must be unique"

#: 100 class names "<colour> <shape>"; class id = shape_index * 10 + colour_index.
CLASS_NAMES: tuple[str, ...] = tuple(f"{c} {s}" for s in SHAPES for c in COLORS)


def concept_number(name: str) -> int:
    """Unified concept number (1..N) of a concept name.

    >>> concept_number("red"), concept_number("circle rim")
    (1, 21)

    Raises ``ValueError`` naming close matches for an unknown name.
    """
    try:
        return _NUMBER[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_NUMBER), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown concept {name!r}{hint} (known: {len(_NUMBER)} names in CONCEPTS)"
        ) from None


def class_id(shape: str, color: str) -> int:
    """Class id (0..99) of a "<colour> <shape>" object: ``shape_index * 10 + colour_index``.

    >>> class_id("circle", "red"), CLASS_NAMES[class_id("star", "blue")]
    (0, 'blue star')
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    if color not in COLORS:
        raise ValueError(f"unknown colour {color!r}; expected one of {tuple(COLORS)}")
    return SHAPES.index(shape) * len(COLORS) + list(COLORS).index(color)


# --------------------------------------------------------------------------------------------
# Shapes as signed distance functions in unit coordinates (radius 1, v pointing up)
# --------------------------------------------------------------------------------------------
# Inside a shape the value is minus the distance to the boundary (exact for every shape except
# at the concave corners of the cross, where the rim is slightly wider); outside it is > 0.

SdfFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _regular(n: int, radius: float, start_deg: float) -> np.ndarray:
    ang = np.deg2rad(start_deg + 360.0 * np.arange(n) / n)
    return np.stack([radius * np.cos(ang), radius * np.sin(ang)], axis=1)


def _convex_sdf(vertices: np.ndarray) -> SdfFn:
    """SDF (exact inside) of a convex polygon with counter-clockwise vertices."""
    v = np.asarray(vertices, dtype=np.float64)
    e = np.roll(v, -1, axis=0) - v
    normals = np.stack([e[:, 1], -e[:, 0]], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    offsets = np.einsum("ij,ij->i", normals, v)
    nx, ny, h = (normals[:, 0].tolist(), normals[:, 1].tolist(), offsets.tolist())

    def sdf(u: np.ndarray, w: np.ndarray) -> np.ndarray:
        d = nx[0] * u + ny[0] * w - h[0]
        for a, b, c in zip(nx[1:], ny[1:], h[1:], strict=True):
            d = np.maximum(d, a * u + b * w - c)
        return d

    return sdf


def _polygon_sdf(vertices: np.ndarray) -> SdfFn:
    """Exact SDF of any simple polygon (distance to edges, sign by crossing number)."""
    v = np.asarray(vertices, dtype=np.float64).tolist()
    edges = [(v[i], v[i - 1]) for i in range(len(v))]

    def sdf(u: np.ndarray, w: np.ndarray) -> np.ndarray:
        d2 = np.full(u.shape, np.inf)
        sign = np.ones(u.shape)
        for (ax, ay), (bx, by) in edges:
            ex, ey = bx - ax, by - ay
            wx, wy = u - ax, w - ay
            t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
            d2 = np.minimum(d2, (wx - ex * t) ** 2 + (wy - ey * t) ** 2)
            c1, c2, c3 = w >= ay, w < by, ex * wy > ey * wx
            flip = (c1 & c2 & c3) | ~(c1 | c2 | c3)
            sign[flip] *= -1.0
        return sign * np.sqrt(d2)

    return sdf


def _circle(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.hypot(u, w) - 1.0


_RING_MID, _RING_HALF = 0.725, 0.275  # annulus 0.45..1.0


def _ring(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.abs(np.hypot(u, w) - _RING_MID) - _RING_HALF


_CRESCENT_OFFSET, _CRESCENT_CUT = 0.5, 0.8


def _crescent(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.maximum(np.hypot(u, w) - 1.0, _CRESCENT_CUT - np.hypot(u - _CRESCENT_OFFSET, w))


def _rect(hx: float, hy: float) -> np.ndarray:
    return np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])


_bar_h = _convex_sdf(_rect(0.95, 0.3))
_bar_v = _convex_sdf(_rect(0.3, 0.95))


def _cross(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.minimum(_bar_h(u, w), _bar_v(u, w))


def _star_vertices(outer: float = 1.05, inner: float = 0.45) -> np.ndarray:
    ang = np.deg2rad(90.0 + 36.0 * np.arange(10))
    rad = np.where(np.arange(10) % 2 == 0, outer, inner)
    return np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)


_SDF: dict[str, SdfFn] = {
    "circle": _circle,
    "square": _convex_sdf(_rect(0.8, 0.8)),
    "triangle": _convex_sdf(_regular(3, 1.1, 90.0)),
    "diamond": _convex_sdf(np.array([[0.0, -1.05], [0.72, 0.0], [0.0, 1.05], [-0.72, 0.0]])),
    "cross": _cross,
    "ring": _ring,
    "star": _polygon_sdf(_star_vertices()),
    "hexagon": _convex_sdf(_regular(6, 1.0, 0.0)),
    "bar": _convex_sdf(_rect(1.05, 0.32)),
    "crescent": _crescent,
}
_EXTENT = 1.1  # every shape lies within this radius (unit coordinates)

# Spot centre (unit coordinates): inside the filled band for ring and crescent, else the centre.
_SPOT_CENTRE: dict[str, tuple[float, float]] = {s: (0.0, 0.0) for s in SHAPES}
_SPOT_CENTRE["ring"] = (_RING_MID, 0.0)
_SPOT_CENTRE["crescent"] = (-(1.0 + (_CRESCENT_CUT - _CRESCENT_OFFSET)) / 2.0, 0.0)

_REGION_FILL, _REGION_RIM, _REGION_SPOT = 1, 2, 3


def _paint_object(
    img: np.ndarray,
    owner: np.ndarray | None,
    region: np.ndarray | None,
    k: int,
    shape: str,
    rgb: tuple[int, int, int],
    cx: float,
    cy: float,
    radius: float,
    theta: float,
    light: float,
) -> None:
    """Paint one object into ``img`` (float32, channel-first (3,S,S)) and owner/region, in place."""
    size_y, size_x = img.shape[1:]
    ext = _EXTENT * radius + 1.0
    x0, x1 = max(0, int(cx - ext)), min(size_x, int(math.ceil(cx + ext)) + 1)
    y0, y1 = max(0, int(cy - ext)), min(size_y, int(math.ceil(cy + ext)) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    dx = (np.arange(x0, x1, dtype=np.float32) + np.float32(0.5 - cx))[None, :]
    dy = (np.arange(y0, y1, dtype=np.float32) + np.float32(0.5 - cy))[:, None]
    c, s = math.cos(theta), math.sin(theta)
    # rotate by -theta; flip y so that unit coordinates point up
    u = (c * dx - s * dy) / radius
    w = (-s * dx - c * dy) / radius
    d = _SDF[shape](u, w)
    inside = d <= 0.0
    if not inside.any():
        return
    rim_w = max(RIM_WIDTH * radius, 1.0) / radius
    spot_r = max(SPOT_RADIUS * radius, 1.0) / radius
    sx, sy = _SPOT_CENTRE[shape]
    rim = inside & (d > -rim_w)
    spot = inside & ((u - sx) ** 2 + (w - sy) ** 2 <= spot_r * spot_r)
    shade = 1.0 - SHADE_AMPLITUDE * np.clip(
        0.5 + 0.45 * (u * math.cos(light) + w * math.sin(light)), 0.0, 1.0
    )
    shade = np.where(rim, RIM_FACTOR * shade, shade)
    pix = shade[None] * np.asarray(rgb, dtype=np.float32)[:, None, None]
    np.copyto(pix, np.asarray(SPOT_RGB, np.float32)[:, None, None], where=spot)
    np.copyto(img[:, y0:y1, x0:x1], pix, where=inside)
    if owner is not None and region is not None:
        owner[y0:y1, x0:x1][inside] = k
        reg = np.where(spot, _REGION_SPOT, np.where(rim, _REGION_RIM, _REGION_FILL))
        region[y0:y1, x0:x1][inside] = reg[inside].astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Backgrounds: scenes and textures
# --------------------------------------------------------------------------------------------


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


_COLOR_NAMES = tuple(COLORS)
_COLOR_NUM = np.array([concept_number(c) for c in _COLOR_NAMES], np.int32)
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
        _paint_object(
            img,
            owner,
            region,
            k,
            SHAPES[shape_idx[k]],
            COLORS[_COLOR_NAMES[color_idx[k]]],
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
    color_layer = np.where(reg == _REGION_FILL, lut_color[own + 1], 0).astype(np.int32)
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
        objects=[(SHAPES[s], _COLOR_NAMES[c]) for s, c in zip(shape_idx, color_idx, strict=True)],
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
    if shape not in _SDF:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    if color not in COLORS:
        raise ValueError(f"unknown colour {color!r}; expected one of {tuple(COLORS)}")
    img, _, _ = _background(rng, size, contrast=float(rng.uniform(0.3, 0.6)))
    radius = rng.uniform(0.25, 0.45) * size
    cx, cy = size / 2 + rng.uniform(-0.1, 0.1, size=2) * size
    theta = np.deg2rad(rng.uniform(-15.0, 15.0))
    light = rng.uniform(0.0, 2 * np.pi)
    _paint_object(
        img, None, None, 0, shape, COLORS[color], float(cx), float(cy), float(radius),
        float(theta), float(light),
    )  # fmt: skip
    return _to_uint8(img)


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


def _normalise(image: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (t - mean) / std


class SyntheticConceptImages(Dataset):
    """``n`` random concept scenes as an image-classification dataset (100 classes).

    Item ``i`` is rendered from ``np.random.default_rng([seed, i])``, so it does not depend on
    ``n`` or on access order. ``dataset[i]`` is ``(image, target)``: ``image`` is
    ``transform(PIL.Image)`` if a transform is given, else a float tensor (3, size, size)
    normalised with the ImageNet mean/std; ``target`` is, with ``targets="class"`` (default), the
    class id (``shape*10 + colour``, see :data:`CLASS_NAMES`) of the object with the largest
    visible area, or with ``targets="concepts"`` the multi-hot float tensor
    ``(len(CONCEPTS),)`` of every concept in the scene (:meth:`ConceptScene.concept_vector`), for
    training concept-selective units. ``scene(i)`` gives the full :class:`ConceptScene` (labels at
    ``size // 2``).

    >>> ds = SyntheticConceptImages(4, size=64)
    >>> x, y = ds[0]
    >>> tuple(x.shape), 0 <= y < 100
    ((3, 64, 64), True)
    """

    def __init__(
        self,
        n: int,
        size: int = 224,
        seed: int = 0,
        transform: Callable | None = None,
        targets: str = "class",
    ) -> None:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if targets not in ("class", "concepts"):
            raise ValueError(f"targets must be 'class' or 'concepts', got {targets!r}")
        self.targets = targets
        self.n = int(n)
        self.size = int(size)
        self.seed = int(seed)
        self.transform = transform
        self.classes = list(CLASS_NAMES)

    def __len__(self) -> int:
        return self.n

    def _index(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} items")
        return i

    def scene(self, i: int) -> ConceptScene:
        """The full :class:`ConceptScene` of item ``i``."""
        return render_scene(np.random.default_rng([self.seed, self._index(i)]), size=self.size)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        s = self.scene(i)
        target = s.target() if self.targets == "class" else torch.from_numpy(s.concept_vector())
        if self.transform is not None:
            return self.transform(Image.fromarray(s.image)), target
        return _normalise(s.image), target


class SyntheticCIFAR100(Dataset):
    """A 100-class 32×32 stand-in for ``torchvision.datasets.CIFAR100`` (same duck type).

    Class ``c`` is the object :data:`CLASS_NAMES` ``[c]`` (``shape = SHAPES[c // 10]``,
    ``colour = list(COLORS)[c % 10]``) rendered by :func:`render_object`. Images are generated
    eagerly: ``data`` is uint8 (N, 32, 32, 3), ``targets`` a list of N ints, ``classes`` the
    class names, N = 100 × ``n_per_class`` (balanced). Item order is interleaved
    (``index = j * 100 + c``), so every prefix of 100·m items is balanced. Class ``c`` draws its
    images in sequence from ``np.random.default_rng([seed, split, c])`` with split 0 for train and
    1 for test, so the two splits never share images and a larger ``n_per_class`` extends a smaller
    one. ``dataset[i]`` is ``(transform(PIL image) or PIL image, target_transform(target) or
    target)``.

    >>> ds = SyntheticCIFAR100(n_per_class=2, train=False)
    >>> ds.data.shape, len(ds.targets), ds.classes[:2]
    ((200, 32, 32, 3), 200, ['red circle', 'orange circle'])
    """

    def __init__(
        self,
        n_per_class: int = 500,
        train: bool = True,
        seed: int = 0,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        if n_per_class < 1:
            raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
        self.train = bool(train)
        self.seed = int(seed)
        self.transform = transform
        self.target_transform = target_transform
        self.classes = list(CLASS_NAMES)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        n_classes = len(CLASS_NAMES)
        data = np.empty((n_per_class, n_classes, 32, 32, 3), np.uint8)
        split = 0 if self.train else 1
        for c in range(n_classes):
            rng = np.random.default_rng([self.seed, split, c])
            shape, color = SHAPES[c // len(COLORS)], _COLOR_NAMES[c % len(COLORS)]
            for j in range(n_per_class):
                data[j, c] = render_object(rng, shape, color, size=32)
        self.data = data.reshape(-1, 32, 32, 3)
        self.targets: list[int] = list(range(n_classes)) * n_per_class

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        img: Any = Image.fromarray(self.data[i])
        target: Any = self.targets[i]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
