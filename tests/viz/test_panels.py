"""skdlib.viz.panels: a panel's JPEG is the light mask; panels are cached; sections wrap."""

import base64
import io

import numpy as np
from PIL import Image

from skdlib.viz import light_mask, unit_range
from skdlib.viz.panels import PANEL_PX, MaskPanels, section


def decode(uri: str) -> np.ndarray:
    head, data = uri.split(",", 1)
    assert head == "data:image/jpeg;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def test_panel_is_the_light_mask_of_that_unit_on_that_image(toy):
    _, _, maps = toy
    # smooth pictures (JPEG is meant for those; random noise is its worst case)
    y, x = np.mgrid[0:32, 0:32]
    images = np.stack(
        [np.stack([8 * x, 8 * y, 4 * (x + y) + 40 * i], -1) for i in range(5)]
    ).astype(np.uint8)
    panels = MaskPanels(images, {"l": maps})
    got = decode(panels.panel("l", 3, 2, "x").uri).astype(float)
    low, high = unit_range(maps, 3)
    want = light_mask(images[2], maps[2, 3], low, high) * 255
    assert got.shape == want.shape
    assert np.abs(got - want).mean() < 4  # JPEG at quality 88
    other = light_mask(images[1], maps[1, 3], low, high) * 255
    assert np.abs(got - other).mean() > 3 * np.abs(got - want).mean()


def test_top_image_is_the_image_of_the_largest_activation(toy):
    _, images, maps = toy
    panels = MaskPanels(images, {"l": maps})
    for unit in range(maps.shape[1]):
        best = max(range(len(maps)), key=lambda i: float(maps[i, unit].max()))
        assert panels.top_image("l", unit) == best


def test_panels_are_cached(toy, monkeypatch):
    _, images, maps = toy
    panels = MaskPanels(images, {"l": maps})
    calls = []
    original = panels.array
    monkeypatch.setattr(panels, "array", lambda *a: calls.append(a) or original(*a))
    first = panels.uri("l", 1, 0)
    assert panels.uri("l", 1, 0) is first and len(calls) == 1
    panels.uri("l", 1, 1)
    assert len(calls) == 2


def test_section_wraps_and_escapes(toy):
    _, images, maps = toy
    panels = MaskPanels(images, {"l": maps})
    html = section("a <b>", [panels.panel("l", 0, 0, "cos 0.5 & more")], note="n<1")
    assert "flex-wrap:wrap" in html and f"width:{PANEL_PX}px" in html
    assert "a &lt;b&gt;" in html and "cos 0.5 &amp; more" in html and "n&lt;1" in html
    assert "a <b>" not in html and "& more" not in html
