"""Light masks as web pictures: captioned panels, cached, laid out in HTML that wraps.

The explorer draws a view as HTML rather than as a matplotlib figure: each panel (one neuron's
light mask on one image, see :func:`~skdlib.viz.light_mask`) is a small JPEG data URI, and a
section is a row of panels that wraps onto the next line when the notebook is narrow, so no panel
ever shrinks. Encoded panels are cached per (layer, unit, image), so moving back and forth between
neurons costs only what is new. The same HTML is the view in a live kernel and the static
snapshot saved in the notebook::

    panels = MaskPanels(display, maps)                       # (N, H, W, 3), {layer: (N, C, h, w)}
    html = section("layer4 · neuron 17", [panels.panel("layer4", 17, panels.top_image("layer4", 17),
                                                       "neuron 17")])
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .activations import top_images
from .figures import light_mask, unit_range

__all__ = ["Panel", "MaskPanels", "section", "jpeg_bytes", "PANEL_PX"]

#: Width of one panel on the page, in CSS pixels.
PANEL_PX = 152


def jpeg_bytes(pixels: np.ndarray, quality: int = 88) -> bytes:
    """``(H, W, 3)`` uint8 pixels as JPEG (no chroma subsampling: thin outlines keep their colour).

    The explorer's panels and the dissection report's strips are encoded here.

    Example:
        >>> jpeg_bytes(np.zeros((4, 6, 3), np.uint8))[:2]
        b'\\xff\\xd8'
    """
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, subsampling=0)
    return buffer.getvalue()


@dataclass(frozen=True)
class Panel:
    """One neuron on one image: ``uri`` is a JPEG data URI, ``caption`` lines go under it."""

    layer: str
    unit: int
    image: int
    uri: str
    caption: tuple[str, ...]


class MaskPanels:
    """Light-mask panels of every layer's units on a fixed set of images, with caches.

    Args:
        images: ``(N, H, W, 3)`` uint8 display images.
        maps: ``{layer: (N, C, h, w)}`` activations on those images.

    Example:
        >>> import numpy as np, torch
        >>> panels = MaskPanels(np.zeros((2, 8, 8, 3), np.uint8), {"l": torch.rand(2, 3, 2, 2)})
        >>> p = panels.panel("l", 1, 0, "unit 1")
        >>> p.uri.startswith("data:image/jpeg;base64,"), p.caption
        (True, ('unit 1',))
    """

    def __init__(self, images: np.ndarray, maps: Mapping[str, torch.Tensor]) -> None:
        self.images, self.maps = images, maps
        self._ranges: dict[tuple[str, int], tuple[float, float]] = {}
        self._uris: dict[tuple[str, int, int], str] = {}
        self._top: dict[tuple[str, int], int] = {}

    def top_image(self, layer: str, unit: int) -> int:
        """Index of the image where ``unit`` fires most (largest spatial maximum)."""
        key = (layer, unit)
        if key not in self._top:
            self._top[key] = top_images(self.maps[layer], unit, 1)[0]
        return self._top[key]

    def array(self, layer: str, unit: int, image: int) -> np.ndarray:
        """``(H, W, 3)`` float light mask of ``unit`` on ``image``, scaled per unit."""
        key = (layer, unit)
        if key not in self._ranges:
            self._ranges[key] = unit_range(self.maps[layer], unit)
        low, high = self._ranges[key]
        return light_mask(self.images[image], self.maps[layer][image, unit], low, high)

    def uri(self, layer: str, unit: int, image: int) -> str:
        """The light mask as a JPEG data URI (cached)."""
        key = (layer, unit, image)
        if key not in self._uris:
            pixels = (self.array(layer, unit, image) * 255).round().astype(np.uint8)
            data = base64.b64encode(jpeg_bytes(pixels)).decode("ascii")
            self._uris[key] = "data:image/jpeg;base64," + data
        return self._uris[key]

    def panel(self, layer: str, unit: int, image: int, *caption: str) -> Panel:
        """A captioned :class:`Panel` of ``unit`` on ``image``."""
        return Panel(layer, unit, image, self.uri(layer, unit, image), tuple(caption))


def _figure_html(panel: Panel) -> str:
    lines = "<br>".join(html.escape(line) for line in panel.caption)
    return (
        f'<figure style="margin:0 6px 6px 0;width:{PANEL_PX}px">'
        f'<img src="{panel.uri}" alt="{html.escape(panel.layer)} unit {panel.unit}, '
        f'image {panel.image}" style="width:{PANEL_PX}px;height:auto;display:block">'
        f'<figcaption style="font-size:11px;line-height:1.25">{lines}</figcaption></figure>'
    )


def section(title: str, panels: Sequence[Panel], note: str = "") -> str:
    """HTML of one titled row of panels that wraps onto more lines when the page is narrow.

    ``note`` (plain text) stands under the title, e.g. what the numbers in the captions are.
    """
    body = "".join(_figure_html(p) for p in panels)
    note_html = f'<div style="font-size:12px;color:#555">{html.escape(note)}</div>' if note else ""
    return (
        f'<div class="skd-section" style="margin:8px 0">'
        f'<div style="font-weight:bold">{html.escape(title)}</div>{note_html}'
        f'<div style="display:flex;flex-wrap:wrap;margin-top:4px">{body}</div></div>'
    )
