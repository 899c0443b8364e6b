"""skdlib.data.multisource: scenes with real Broden's label statistics — which source annotates
which categories, dozens of objects with parts inside them, every pixel coloured, Zipf-like
frequencies, labels of two categories."""

import numpy as np
import pytest

from skdlib.data.multisource import (
    BRODEN_COLORS,
    CATEGORY_SIZES,
    SOURCES,
    VOCABULARY,
    choose_source,
    render_multisource_scene,
)


def _scene(source, i, size=224):
    return render_multisource_scene(np.random.default_rng([7, i]), source, size=size)


def _combinations(scene) -> int:
    layers = [layer for found in scene.pixel_labels.values() for layer in found]
    return len(np.unique(np.stack(layers).reshape(len(layers), -1).T, axis=0))


def test_the_vocabulary_numbers_every_category_and_shares_twenty_parts_with_objects():
    assert [c.number for c in VOCABULARY] == list(range(1, len(VOCABULARY) + 1))
    per_category = {cat: sum(cat in c.categories for c in VOCABULARY) for cat in CATEGORY_SIZES}
    assert per_category == CATEGORY_SIZES and len(VOCABULARY) == 1070
    shared = [c for c in VOCABULARY if len(c.categories) == 2]
    assert len(shared) == 20 and all(c.categories == ("object", "part") for c in shared)
    assert [c.name for c in VOCABULARY[:11]] == list(BRODEN_COLORS)


@pytest.mark.parametrize("source", list(SOURCES))
def test_each_source_annotates_its_own_categories_and_every_pixel_has_a_colour(source):
    scene = _scene(source, 0, size=96)
    cats = SOURCES[source][1]
    labelled = set(scene.pixel_labels) | set(scene.image_labels)
    assert labelled <= set(cats) and "color" in labelled
    colour = scene.pixel_labels["color"][0]
    assert colour.shape == (48, 48) and colour.min() >= 1 and colour.max() <= 11
    numbers = {c.number: c for c in VOCABULARY}
    for cat, layers in scene.pixel_labels.items():
        for layer in layers:  # every label number belongs to the category of its layer
            assert all(cat in numbers[n].categories for n in np.unique(layer[layer > 0]))
    for cat, found in scene.image_labels.items():
        assert found and all(cat in numbers[n].categories for n in found)


def test_ade_scenes_have_dozens_of_objects_two_part_layers_inside_them_and_many_combinations():
    scenes = [_scene("ade", i) for i in range(6)]
    for s in scenes:
        objects, (parts, subparts) = s.pixel_labels["object"][0], s.pixel_labels["part"]
        assert len(np.unique(objects[objects > 0])) >= 10  # dozens of segments, some occluded
        assert ((parts > 0) <= (objects > 0)).all()  # parts lie inside objects
        assert ((subparts > 0) <= (parts > 0)).all()  # parts of parts inside parts
        assert len(s.image_labels["scene"]) == 1
    combos = [_combinations(s) for s in scenes]
    assert 100 <= np.mean(combos) <= 300, combos  # real Broden: ~150 in such an image
    assert _combinations(_scene("dtd", 0)) < 20  # a texture image: colour alone


def test_frequencies_are_zipf_like_and_the_sources_follow_their_shares():
    rng = np.random.default_rng(0)
    drawn = [choose_source(rng) for _ in range(4000)]
    for source, (share, _) in SOURCES.items():
        assert abs(drawn.count(source) / 4000 - share) < 0.03
    counts = np.zeros(len(VOCABULARY) + 1)
    for i in range(40):
        for n in np.unique(_scene("pascal", i, size=64).pixel_labels["object"][0]):
            counts[n] += 1
    objects = counts[12:512]  # object numbers 12..511, in rank order
    top, tail = objects[:10].sum(), objects[250:].sum()
    assert top > 2 * tail  # a few common classes, a long rare tail


def test_the_same_state_gives_the_same_scene_and_bad_sources_are_named():
    a, b = _scene("pascal", 3, 64), _scene("pascal", 3, 64)
    assert np.array_equal(a.image, b.image)
    assert all(
        np.array_equal(x, y)
        for x, y in zip(a.pixel_labels["object"], b.pixel_labels["object"], strict=True)
    )
    with pytest.raises(ValueError, match="unknown source 'coco'; expected one of ade"):
        render_multisource_scene(np.random.default_rng(0), "coco")
