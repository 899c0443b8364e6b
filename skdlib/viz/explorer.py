"""The neuron explorer: pick a layer and a neuron, see its nearest neurons, concept and relations.

Built from ipywidgets, so it runs in JupyterLab and Colab, and headless (papermill, nbval, tests):
every control change re-renders synchronously, and the current view is also kept as plain data in
:attr:`NeuronExplorer.state` and as a matplotlib figure in :attr:`NeuronExplorer.figure`::

    explorer = NeuronExplorer(emb, display_images, acts, concepts=best_concepts)
    explorer.widget            # show it in a notebook cell
    explorer.unit.value = 17   # or drive it from code
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython import get_ipython
from IPython.display import display

from ..embedding import NeuronEmbedding
from .figures import plot_additive, plot_neighbours

__all__ = ["NeuronExplorer"]

#: ``{layer: [(concept name, IoU) for each unit]}``, e.g. from a dissection's best concepts.
ConceptTable = Mapping[str, Sequence[tuple[str, float]]]


class NeuronExplorer:
    """Interactive view of one neuron: its k nearest neurons, best concept, and an additive query.

    Args:
        emb: trained :class:`~skdlib.embedding.NeuronEmbedding`.
        images: ``(N, H, W, 3)`` uint8 display images.
        maps: ``{layer: (N, C, h, w)}`` activations on those images (see
            :func:`skdlib.viz.collect_activations`); layers missing here are not offered.
        concepts: optional ``{layer: [(concept, IoU) per unit]}``, or a
            :class:`~skdlib.dissect.DissectionResult` (its best concept per unit, with the
            category), shown for the layers that have them.
        k: initial number of neighbours.

    Attributes:
        layer, unit, k, partner: the controls (Dropdown, BoundedIntText, IntSlider,
            BoundedIntText); ``partner`` is b in the additive query ``unit + b → c``.
        state: dict describing the current view (layer, unit, neighbours, concept, additive).
        figure: the matplotlib figure last drawn (neighbours on top of the additive view).
        widget: the ipywidgets box to display.
    """

    def __init__(
        self,
        emb: NeuronEmbedding,
        images: np.ndarray,
        maps: Mapping[str, torch.Tensor],
        concepts: ConceptTable | None = None,
        k: int = 3,
    ) -> None:
        layers = [layer for layer in emb.layers if layer in maps and len(emb.vectors[layer]) > 2]
        if not layers:
            raise ValueError(
                f"no activations for any embedded layer of 3 or more neurons: embedding has "
                f"{emb.layers}, maps has {list(maps)}"
            )
        for layer in layers:
            if maps[layer].shape[1] != emb.vectors[layer].shape[0]:
                raise ValueError(
                    f"layer {layer!r}: maps have {maps[layer].shape[1]} channels, the embedding "
                    f"{emb.vectors[layer].shape[0]}"
                )
        self.emb, self.images, self.maps = emb, images, maps
        if hasattr(concepts, "best_concepts"):  # a DissectionResult
            concepts = {
                layer: [
                    (f"{name} ({cat})", iou) for name, cat, iou in concepts.best_concepts(layer)
                ]
                for layer in concepts.layers
            }
        self.concepts = concepts or {}
        self.renders = 0
        self.figure: plt.Figure | None = None
        self.state: dict = {}

        self.layer = w.Dropdown(options=layers, value=layers[-1], description="layer")
        self.unit = w.BoundedIntText(value=0, min=0, max=self._width() - 1, description="neuron")
        self.k = w.IntSlider(value=k, min=1, max=8, description="neighbours")
        self.partner = w.BoundedIntText(value=1, min=0, max=self._width() - 1, description="+ b")
        self.info = w.HTML()
        self.output = w.Output()
        for control in (self.layer, self.unit, self.k, self.partner):
            control.observe(self._on_change, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.layer, self.unit]),
                w.HBox([self.k, self.partner]),
                self.info,
                self.output,
            ]
        )
        self.render()

    def _width(self) -> int:
        return int(self.emb.vectors[self.layer.value].shape[0])

    def _concept(self, layer: str, unit: int) -> tuple[str, float] | None:
        table = self.concepts.get(layer)
        return tuple(table[unit]) if table is not None else None

    def _on_change(self, change) -> None:
        if change["owner"] is self.layer:
            top = self._width() - 1
            # shrink/grow bounds before values so the traitlets never hold an invalid value
            for control in (self.unit, self.partner):
                control.value = min(control.value, top)
                control.max = top
        self.render()

    def render(self) -> None:
        """Recompute :attr:`state`, redraw :attr:`figure` and refresh the widget output."""
        layer, unit, k = self.layer.value, self.unit.value, self.k.value
        b = self.partner.value if self.partner.value != unit else (unit + 1) % self._width()
        neighbours = self.emb.nearest(layer, unit, k=k)
        additive = self.emb.additive(layer, unit, b, k=1)[0]
        names = {}
        if layer in self.concepts:
            names = {u: f"{c} ({iou:.2f})" for u, (c, iou) in enumerate(self.concepts[layer])}
        self.state = {
            "layer": layer,
            "unit": unit,
            "neighbours": neighbours,
            "concept": self._concept(layer, unit),
            "additive": {"a": unit, "b": b, "c": additive[0], "cosine": additive[1]},
        }
        if self.figure is not None:
            plt.close(self.figure)
        maps = self.maps[layer]
        self.figure = plt.figure(figsize=(2.0 * (1 + k), 5.0), layout="constrained")
        top, bottom = self.figure.subfigures(2, 1)
        plot_neighbours(
            self.emb, layer, [unit], self.images, maps, k=k, concept_names=names, fig=top
        )
        plot_additive(
            self.emb, layer, unit, b, self.images, maps, n_images=1, concept_names=names, fig=bottom
        )
        concept = self.state["concept"]
        rows = [
            f"<b>{html.escape(layer)} · neuron {unit}</b>",
            "best concept: "
            + (f"{html.escape(concept[0])} (IoU {concept[1]:.3f})" if concept else "—"),
            "nearest: " + ", ".join(f"{u} ({c:.2f})" for u, c in neighbours),
            f"additive: {unit} + {b} → {additive[0]} (cos {additive[1]:.2f})",
        ]
        self.info.value = "<br>".join(rows)
        self.output.clear_output(wait=True)
        if get_ipython() is not None:  # a kernel (JupyterLab, Colab, papermill, nbval)
            with self.output:
                display(self.figure)
        self.renders += 1
