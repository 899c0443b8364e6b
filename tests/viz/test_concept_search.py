"""skdlib.viz.concept_search: the units that see a concept, and those near its direction, against
explicit float64 loops."""

import math

import pytest
import torch

from skdlib.embedding import NeuronEmbedding
from skdlib.viz import concept_direction, concept_options, concept_table, units_near, units_seeing

TABLE = {
    "l": [("red", 0.10), ("sky", 0.30), ("red", 0.25), ("dog", 0.05), ("red", 0.25), ("sky", 0.0)],
    "m": [("dog", 0.2), ("dog", 0.1)],
}


def test_options_are_every_best_concept_most_frequent_first():
    assert concept_options(TABLE) == ["dog", "red", "sky"]  # dog 3, red 3 (name breaks ties), sky 2


def test_units_seeing_ranks_by_iou_then_unit():
    assert units_seeing(TABLE, "l", "red") == [(2, 0.25), (4, 0.25), (0, 0.10)]
    assert units_seeing(TABLE, "l", "cat") == [] and units_seeing(TABLE, "x", "red") == []


def test_direction_is_the_mean_of_unit_normalised_vectors():
    g = torch.Generator().manual_seed(3)
    vectors = torch.randn(6, 5, generator=g) * torch.tensor([[1.0], [7.0], [0.1], [2], [3], [4]])
    got = concept_direction(vectors, [0, 2, 4])
    want = [0.0] * 5
    for u in (0, 2, 4):
        row = vectors[u].double().tolist()
        norm = math.sqrt(sum(x * x for x in row))
        want = [acc + x / norm / 3 for acc, x in zip(want, row, strict=True)]
    assert got.tolist() == pytest.approx(want, abs=1e-12)
    with pytest.raises(ValueError, match="at least one unit"):
        concept_direction(vectors, [])


def test_units_near_are_the_cosine_nearest_to_the_direction():
    g = torch.Generator().manual_seed(4)
    vectors = torch.randn(6, 5, generator=g)
    emb = NeuronEmbedding({"l": vectors})
    got = units_near(emb, TABLE, "l", "red", k=4)
    direction = concept_direction(vectors, [2, 4, 0])
    cosines = []
    for u in range(6):
        v = vectors[u].double()
        cosines.append(float(v @ direction / (v.norm() * direction.norm())))
    want = sorted(range(6), key=lambda u: -cosines[u])[:4]
    assert [u for u, _ in got] == want
    assert [c for _, c in got] == pytest.approx([cosines[u] for u in want], abs=1e-9)
    assert units_near(emb, TABLE, "l", "cat") == []


def test_table_from_a_dissection_labels_name_and_category():
    class FakeDissection:
        layers = ["l"]

        def best_concepts(self, layer):
            return [("red", "color", 0.5), ("circle", "object", 0.25)]

    assert concept_table(FakeDissection()) == {
        "l": [("red (color)", 0.5), ("circle (object)", 0.25)]
    }
