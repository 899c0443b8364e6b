"""skdlib.viz.explorer: the neuron explorer, driven by setting widget values as a user would."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from skdlib.embedding import NeuronEmbedding
from skdlib.viz import NeuronExplorer, units_near, units_seeing


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
    concepts = {"big": [(f"concept{u % 3}", 0.01 * u) for u in range(9)]}
    ex = NeuronExplorer(emb, images, maps, concepts=concepts, k=2)
    yield ex, emb
    plt.close("all")


def captions(html: str) -> list[str]:
    return re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", html)


def test_initial_view_is_last_layer_unit_zero(explorer):
    ex, emb = explorer
    assert ex.state["layer"] == "big" and ex.state["unit"] == 0
    assert ex.state["neighbours"] == emb.nearest("big", 0, k=2)
    assert ex.renders == 1 and "big · neuron 0" in ex.view.value


def test_changing_the_unit_updates_neighbours_concept_and_panels(explorer):
    ex, emb = explorer
    ex.unit.value = 7
    assert ex.renders == 2
    assert ex.state["unit"] == 7
    nearest = emb.nearest("big", 7, k=2)
    assert ex.state["neighbours"] == nearest
    assert ex.state["concept"] == ("concept1", pytest.approx(0.07))
    assert "neuron 7" in ex.view.value and "concept1 (IoU 0.070)" in ex.view.value
    first_row = captions(ex.view.value)[: 1 + len(nearest)]
    assert first_row[0].startswith("neuron 7<br>concept1 · IoU 0.07")
    for caption, (u, cos) in zip(first_row[1:], nearest, strict=True):
        assert caption.startswith(f"neuron {u} · cos {cos:.2f}")


def test_numbers_carry_their_names(explorer):
    ex, _ = explorer
    header = ex.view.value.split("</div>")[0]
    assert "(cos " in header and "(IoU " in header
    assert not re.search(r"\b\d+ \(\d\.\d\d\)", header)  # no bare "481 (0.95)"
    assert "a + b" in ex.partner.description


def test_changing_k_and_partner_updates_queries(explorer):
    ex, emb = explorer
    ex.k.value = 4
    assert [u for u, _ in ex.state["neighbours"]] == [u for u, _ in emb.nearest("big", 0, k=4)]
    ex.partner.value = 5
    c, cos = emb.additive("big", 0, 5)[0]
    assert ex.state["additive"] == {"a": 0, "b": 5, "c": c, "cosine": cos}
    assert f"0 + 5 → {c}" in ex.view.value


def test_changing_layer_clamps_every_bound_before_one_redraw(explorer):
    """The freeze of a real browser session: neuron and partner above the new layer's width."""
    ex, emb = explorer
    ex.unit.value, ex.partner.value = 8, 6
    before = ex.renders
    ex.layer.value = "small"
    assert ex.renders == before + 1  # one redraw, after all bounds were adjusted
    assert (ex.unit.max, ex.unit.value) == (4, 4) and (ex.partner.max, ex.partner.value) == (4, 4)
    assert ex.state["error"] is None and "small · neuron 4" in ex.view.value
    assert ex.state["neighbours"] == emb.nearest("small", 4, k=2)
    assert ex.state["concept"] is None and "best concept: —" in ex.view.value
    ex.unit.value = 999  # clamped to the new bound, not the old one
    assert ex.unit.value == 4
    ex.unit.value = 1  # and later changes keep working
    assert ex.state["unit"] == 1 and ex.state["additive"]["b"] == 4
    ex.layer.value = "big"  # growing: bounds grow back, values stay
    assert ex.unit.max == 8 and ex.state["unit"] == 1 and ex.state["layer"] == "big"


def test_a_layer_change_inside_hold_fits_the_bounds_too(explorer):
    ex, emb = explorer
    ex.unit.value, ex.partner.value = 8, 6
    before = ex.renders
    with ex.hold():
        ex.layer.value = "small"
        assert (ex.unit.max, ex.unit.value, ex.partner.value) == (4, 4, 4)
        ex.partner.value = 2
    assert ex.renders == before + 1 and ex.state["error"] is None
    assert ex.state["additive"]["b"] == 2 and ex.state["neighbours"] == emb.nearest("small", 4, k=2)
    with ex.hold():  # growing, then a value only the new layer allows
        ex.layer.value = "big"
        ex.unit.value = 7
    assert ex.unit.value == 7 and ex.state["unit"] == 7 and ex.state["layer"] == "big"


def test_partner_equal_to_unit_is_said_not_replaced(explorer):
    ex, _ = explorer
    ex.partner.value = 0
    assert ex.state["additive"] is None
    assert "partner b equals neuron a (0)" in ex.view.value
    assert "additive:" not in "".join(captions(ex.view.value))


def test_a_drawing_error_is_shown_in_the_view(explorer, monkeypatch):
    ex, _ = explorer

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ex.emb, "nearest", broken)
    ex.unit.value = 3
    assert ex.state["error"] == "RuntimeError: boom"
    assert "could not draw this view" in ex.view.value and "boom" in ex.view.value


def test_concept_search_lists_units_that_see_it_and_units_near_it(explorer):
    ex, emb = explorer
    assert ex.concept.options[:1] == ("concept0",)
    ex.concept.value = "concept1"
    seeing = units_seeing(ex.concepts, "big", "concept1")
    near = units_near(emb, ex.concepts, "big", "concept1", k=6)
    assert [u for u, _ in seeing] == [7, 4, 1]
    assert ex.state["search"]["seeing"] == seeing and ex.state["search"]["near"] == near
    shown = captions(ex.view.value)
    assert [f"neuron {u} · IoU {iou:.2f}" for u, iou in seeing] == [
        c for c in shown if re.fullmatch(r"neuron \d+ · IoU \d\.\d\d", c)
    ]
    for u, cos in near:
        assert any(c.startswith(f"neuron {u} · cos {cos:.2f}") for c in shown)
    assert "neurons near &#x27;concept1&#x27; in semantic space" in ex.view.value
    assert "concept 'concept1': best concept of 3 neurons of big, top 7 (IoU 0.07)" in (
        ex.describe()
    )


def test_concept_search_in_a_layer_without_that_concept_says_where_it_is(explorer):
    ex, _ = explorer
    ex.concept.value = "concept2"
    ex.layer.value = "small"
    assert ex.state["search"]["seeing"] == [] and ex.state["search"]["elsewhere"] == {"big": 3}
    assert "no neuron of small has 'concept2' as its best concept (it has in big: 3)" in (
        ex.describe()
    )
    assert "no neuron of small has &#x27;concept2&#x27;" in ex.view.value  # escaped in HTML
    ex.concept.value = "no such thing"
    assert "no concept named 'no such thing'" in ex.describe()
    ex.clear.click()  # the button ends the search (the box cannot be emptied into the kernel)
    assert ex.concept.value == "" and ex.state["search"] is None
    assert "concept" not in ex.describe().splitlines()[-1]


def test_display_carries_a_static_view_and_draws_no_pyplot_figure(explorer):
    ex, _ = explorer
    plt.close("all")
    ex.unit.value = 2
    bundle = ex._repr_mimebundle_()
    assert bundle["text/html"] == ex.html() and "data:image/jpeg;base64," in bundle["text/html"]
    assert bundle["text/plain"] == "NeuronExplorer(big · neuron 2)"
    fig = ex.figure()
    assert plt.get_fignums() == []  # nothing for the inline backend to show again
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("neuron 2")


def test_k_beyond_the_slider_is_clamped():
    emb = NeuronEmbedding({"l": torch.randn(12, 3)})
    ex = NeuronExplorer(emb, np.zeros((2, 8, 8, 3), np.uint8), {"l": torch.rand(2, 12, 2, 2)}, k=20)
    assert ex.k.value == 8 and len(ex.state["neighbours"]) == 8


def test_concepts_for_another_model_are_a_clear_error():
    emb = NeuronEmbedding({"l": torch.randn(5, 4)})
    with pytest.raises(
        ValueError, match="layer 'l': concepts are given for 3 units, the embedding"
    ):
        NeuronExplorer(
            emb,
            np.zeros((2, 8, 8, 3), np.uint8),
            {"l": torch.rand(2, 5, 2, 2)},
            concepts={"l": [("red", 0.1)] * 3},
        )


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
    assert "circle (object) (IoU 0.250)" in ex.view.value
    assert set(ex.concept.options) == {"red (color)", "circle (object)", "sky (scene)"}
