"""The vocabulary of the synthetic concept images: 52 concepts in five Broden categories.

One small vocabulary serves every offline stand-in (the generated Broden, the 32x32 CIFAR-100
stand-in, the demo images), so that the concepts a network learns on one are the concepts
dissection looks for on another.

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

Concepts have unified numbers 1..52 in this category order (0 = unlabelled), as Broden's
``label.csv``; the 100 classes of the CIFAR stand-in are the "<colour> <shape>" pairs.

Example:
    >>> len(CONCEPTS), concept_number("red"), concept_number("night")
    (52, 1, 51)
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

__all__ = [
    "CATEGORIES",
    "CLASS_NAMES",
    "COLORS",
    "COLOR_NAMES",
    "CONCEPTS",
    "IMAGE_CATEGORIES",
    "PARTS",
    "PIXEL_CATEGORIES",
    "SCENES",
    "SHAPES",
    "TEXTURES",
    "Concept",
    "class_id",
    "concept_number",
]

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

#: The colour names in order (index = colour index of a class id).
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)

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
