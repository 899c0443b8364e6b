"""skdlib.data.concepts: the vocabulary of 52 concepts and the 100 colour-shape classes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from skdlib.data import (
    CATEGORIES,
    CLASS_NAMES,
    COLOR_NAMES,
    COLORS,
    CONCEPTS,
    IMAGE_CATEGORIES,
    PIXEL_CATEGORIES,
    SCENES,
    SHAPES,
    TEXTURES,
    class_id,
    concept_number,
)

PALETTE = np.array([COLORS[c] for c in COLOR_NAMES], dtype=np.float64)


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
