"""skdlib.viz.explorer: the neuron explorer, driven by setting widget values as a user would."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from skdlib.embedding import NeuronEmbedding
from skdlib.viz import NeuronExplorer


@pytest.fixture
def explorer():
    g = torch.Generator().manual_seed(0)
    emb = NeuronEmbedding(
        {"small": torch.randn(5, 4, generator=g), "big": torch.randn(9, 4, generator=g)}
    )
    images = np.random.default_rng(0).integers(0, 255, (4, 16, 16, 3), dtype=np.uint8)
    maps = {
        "small": torch.rand(4, 5, 4, 4, generator=g),
        "big": torch.rand(4, 9, 2, 2, generator=g),
    }
    concepts = {"big": [(f"concept{u}", 0.01 * u) for u in range(9)]}
    ex = NeuronExplorer(emb, images, maps, concepts=concepts, k=2)
    yield ex, emb
    plt.close("all")


def test_initial_view_is_last_layer_unit_zero(explorer):
    ex, emb = explorer
    assert ex.state["layer"] == "big" and ex.state["unit"] == 0
    assert ex.state["neighbours"] == emb.nearest("big", 0, k=2)
    assert ex.renders == 1 and ex.figure is not None


def test_changing_the_unit_updates_neighbours_concept_and_text(explorer):
    ex, emb = explorer
    ex.unit.value = 7
    assert ex.renders == 2
    assert ex.state["unit"] == 7
    assert ex.state["neighbours"] == emb.nearest("big", 7, k=2)
    assert ex.state["concept"] == ("concept7", pytest.approx(0.07))
    assert "neuron 7" in ex.info.value and "concept7 (IoU 0.070)" in ex.info.value
    titles = [ax.get_title() for ax in ex.figure.findobj(lambda a: hasattr(a, "get_title"))]
    assert any(t.startswith("unit 7") for t in titles)


def test_changing_k_and_partner_updates_queries(explorer):
    ex, emb = explorer
    ex.k.value = 4
    assert [u for u, _ in ex.state["neighbours"]] == [u for u, _ in emb.nearest("big", 0, k=4)]
    ex.partner.value = 5
    c, cos = emb.additive("big", 0, 5)[0]
    assert ex.state["additive"] == {"a": 0, "b": 5, "c": c, "cosine": cos}
    assert f"0 + 5 → {c}" in ex.info.value


def test_changing_layer_clamps_units_and_drops_missing_concepts(explorer):
    ex, emb = explorer
    ex.unit.value = 8
    ex.layer.value = "small"
    assert ex.unit.max == 4 and ex.unit.value == 4
    assert ex.state["layer"] == "small" and ex.state["unit"] == 4
    assert ex.state["neighbours"] == emb.nearest("small", 4, k=2)
    assert ex.state["concept"] is None and "best concept: —" in ex.info.value


def test_partner_equal_to_unit_is_replaced(explorer):
    ex, _ = explorer
    ex.partner.value = 0
    assert ex.state["additive"]["b"] == 1


def test_mismatched_maps_are_a_clear_error():
    emb = NeuronEmbedding({"l": torch.randn(5, 4)})
    images = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="layer 'l': maps have 3 channels, the embedding 5"):
        NeuronExplorer(emb, images, {"l": torch.rand(2, 3, 2, 2)})
    with pytest.raises(ValueError, match="no activations for any embedded layer"):
        NeuronExplorer(emb, images, {"x": torch.rand(2, 5, 2, 2)})


def test_dissection_results_are_accepted_as_concepts():
    class FakeDissection:
        layers = ["l"]

        def best_concepts(self, layer):
            return [("red", "color", 0.5), ("circle", "object", 0.25), ("sky", "scene", 0.0)]

    emb = NeuronEmbedding({"l": torch.randn(3, 3)})
    ex = NeuronExplorer(
        emb,
        np.zeros((2, 8, 8, 3), np.uint8),
        {"l": torch.rand(2, 3, 2, 2)},
        concepts=FakeDissection(),
        k=1,
    )
    assert ex.state["concept"] == ("red (color)", 0.5)
    ex.unit.value = 1
    assert "circle (object) (IoU 0.250)" in ex.info.value
    plt.close("all")
