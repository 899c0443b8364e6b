"""The neuron explorer: pick a layer and a neuron, or search by concept; see the neurons' masks.

Built from ipywidgets, so it runs in JupyterLab and Colab, and headless (papermill, nbval, tests).
The view is one HTML widget of captioned light-mask panels (:mod:`~skdlib.viz.panels`), redrawn
once per change; the current view is also kept as plain data in :attr:`NeuronExplorer.state`,
and :meth:`NeuronExplorer.figure` draws it as a matplotlib figure for saving::

    explorer = NeuronExplorer(emb, display_images, acts, concepts=dissection)
    explorer                          # show it in a notebook cell
    explorer.unit.value = 17          # or drive it from code
    explorer.concept.value = "dog (object)"

Displayed, the explorer also carries its view as static HTML, so a saved notebook shows it where
neither kernel nor widgets run (that copy is the view at display time; the widget state saved
with the notebook holds the last view).
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Mapping
from contextlib import contextmanager

import ipywidgets as w
import numpy as np
import torch
from matplotlib.figure import Figure

from ..embedding import NeuronEmbedding
from .concept_search import ConceptTable, concept_options, concept_table, units_near, units_seeing
from .panels import MaskPanels, Panel, section

__all__ = ["NeuronExplorer"]

_MAX_K = 8
_SEARCH_K = 6


class NeuronExplorer:
    """Interactive view of one neuron and of one concept.

    For the neuron ``a``: its ``k`` nearest neurons by semantic vector (all on ``a``'s top image,
    then each on its own), its best concept, and the additive query ``a + b → c``. For the
    concept: the units whose best concept it is, by IoU, and the units nearest to its direction
    in semantic space (:mod:`~skdlib.viz.concept_search`).

    Args:
        emb: trained :class:`~skdlib.embedding.NeuronEmbedding`.
        images: ``(N, H, W, 3)`` uint8 display images.
        maps: ``{layer: (N, C, h, w)}`` activations on those images (see
            :func:`skdlib.viz.collect_activations`); layers missing here are not offered.
        concepts: optional ``{layer: [(concept, IoU) per unit]}``, or a
            :class:`~skdlib.dissect.DissectionResult` (its best concept per unit, with the
            category), shown for the layers that have them and searchable.
        k: initial number of neighbours (1..8).

    Attributes:
        layer, unit, k, partner, concept: the controls (Dropdown, BoundedIntText, IntSlider,
            BoundedIntText, Combobox); ``partner`` is b in the additive query ``a + b → c``;
            ``clear`` (a Button) ends the concept search.
        state: dict describing the current view (layer, unit, neighbours, concept, additive,
            search, error).
        view: the HTML widget that shows the view.
        widget: the ipywidgets box (controls and view).
        renders: how many times the view was drawn (one per change).
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
            concepts = concept_table(concepts)
        for layer, rows in (concepts or {}).items():
            if layer in emb.vectors and len(rows) != len(emb.vectors[layer]):
                raise ValueError(
                    f"layer {layer!r}: concepts are given for {len(rows)} units, the embedding "
                    f"has {len(emb.vectors[layer])} (was the dissection made on another model?)"
                )
        self.concepts: ConceptTable = concepts or {}
        self.panels = MaskPanels(images, maps)
        self.renders = 0
        self.state: dict = {}
        self._holding = False

        wide = {"description_width": "initial"}
        self.layer = w.Dropdown(options=layers, value=layers[-1], description="layer", style=wide)
        top = self._width() - 1
        self.unit = w.BoundedIntText(
            value=0, min=0, max=top, description="neuron a", style=wide, layout={"width": "160px"}
        )
        self.k = w.IntSlider(
            value=min(max(k, 1), _MAX_K), min=1, max=_MAX_K, description="neighbours", style=wide
        )
        self.partner = w.BoundedIntText(
            value=1, min=0, max=top, description="partner b (a + b → c)", style=wide
        )
        self.concept = w.Combobox(
            options=concept_options(self.concepts),
            placeholder="type or pick a concept",
            description="concept",
            ensure_option=True,
            style=wide,
        )
        self.clear = w.Button(description="clear", tooltip="end the concept search")
        self.clear.on_click(lambda _: setattr(self.concept, "value", ""))
        self.concept.disabled = self.clear.disabled = not self.concepts
        self.view = w.HTML()
        for control in (self.layer, self.unit, self.k, self.partner, self.concept):
            control.observe(self._on_change, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.layer, self.unit, self.k]),
                w.HBox([self.partner, self.concept, self.clear]),
                self.view,
            ]
        )
        self.render()

    # -- state transitions ----------------------------------------------------------------------
    def _width(self) -> int:
        return int(self.emb.vectors[self.layer.value].shape[0])

    @contextmanager
    def hold(self):
        """Change several controls with one redraw at the end (no redraw in between).

        Example::

            with explorer.hold():
                explorer.layer.value = "layer1"
                explorer.unit.value = 5
        """
        outer, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = outer
        if not outer:
            self._redraw()

    def _on_change(self, change) -> None:
        if change["owner"] is self.layer:
            self._fit_bounds()  # also inside hold(): later values must meet the new bounds
        if not self._holding:  # otherwise part of a larger change: one redraw at its end
            self._redraw()

    def _fit_bounds(self) -> None:
        """Every neuron control within the current layer's units, with no redraw in between."""
        outer, self._holding = self._holding, True
        try:
            top = self._width() - 1
            for control in (self.unit, self.partner):
                if top < control.max:
                    control.value = min(control.value, top)
                control.max = top
        finally:
            self._holding = outer

    def _redraw(self) -> None:
        try:
            self.render()
        except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed
            self.state = {**self.state, "error": f"{type(exc).__name__}: {exc}"}
            self.view.value = (
                '<pre style="color:#b00">the explorer could not draw this view:\n'
                f"{html.escape(traceback.format_exc())}</pre>"
            )

    # -- the view -------------------------------------------------------------------------------
    def _label(self, layer: str, unit: int) -> str | None:
        table = self.concepts.get(layer)
        if table is None:
            return None
        name, iou = table[unit]
        return f"{name} · IoU {iou:.2f}"

    def _caption(self, layer: str, unit: int, *first: str) -> tuple[str, ...]:
        label = self._label(layer, unit)
        return (*first, label) if label else tuple(first)

    def render(self) -> None:
        """Recompute :attr:`state` from the controls and redraw :attr:`view` (once)."""
        layer, a, k, b = self.layer.value, self.unit.value, self.k.value, self.partner.value
        neighbours = self.emb.nearest(layer, a, k=k)
        additive = None
        if b != a:
            c, cos = self.emb.additive(layer, a, b, k=1)[0]
            additive = {"a": a, "b": b, "c": c, "cosine": cos}
        table = self.concepts.get(layer)
        self.state = {
            "layer": layer,
            "unit": a,
            "neighbours": neighbours,
            "concept": tuple(table[a]) if table is not None else None,
            "additive": additive,
            "search": self._search(layer),
            "error": None,
        }
        self.view.value = self.html()
        self.renders += 1

    def _search(self, layer: str) -> dict | None:
        concept = self.concept.value
        if not concept:
            return None
        return {
            "concept": concept,
            "known": concept in self.concept.options,
            "seeing": units_seeing(self.concepts, layer, concept),
            "near": units_near(self.emb, self.concepts, layer, concept, k=_SEARCH_K),
            "elsewhere": {
                other: n
                for other in self.concepts
                if other != layer and (n := len(units_seeing(self.concepts, other, concept)))
            },
        }

    def _sections(self) -> list[tuple[str, list[Panel], str]]:
        """The view as ``(title, panels, note)`` rows, shared by :meth:`html` and :meth:`figure`."""
        s, p = self.state, self.panels
        layer, a = s["layer"], s["unit"]
        home = p.top_image(layer, a)
        shown = [(a, None)] + s["neighbours"]

        def first(u, cos):
            return f"neuron {u}" if cos is None else f"neuron {u} · cos {cos:.2f}"

        rows = [
            (
                f"neuron {a} and its {len(s['neighbours'])} nearest neurons, on image {home}",
                [p.panel(layer, u, home, *self._caption(layer, u, first(u, c))) for u, c in shown],
                "cos: cosine of the semantic vectors; IoU: the best concept's dissection IoU. "
                "Light marks where a neuron fires.",
            ),
            (
                "the same neurons, each on the image where it fires most",
                [
                    p.panel(layer, u, img, f"neuron {u} · image {img}")
                    for u, img in ((u, p.top_image(layer, u)) for u, _ in shown)
                ],
                "",
            ),
        ]
        add = s["additive"]
        if add is not None:
            picks = list(dict.fromkeys([p.top_image(layer, a), p.top_image(layer, add["b"])]))
            trio = [("a", a), ("b", add["b"]), ("c", add["c"])]
            rows.append(
                (
                    f"additive: s_{a} + s_{add['b']} is nearest to s_{add['c']} "
                    f"(cos {add['cosine']:.2f})",
                    [
                        p.panel(layer, u, img, *self._caption(layer, u, f"{name} = neuron {u}"))
                        for img in picks
                        for name, u in trio
                    ],
                    "a, b and c on the images where a and b fire most",
                )
            )
        search = s["search"]
        if search is not None and search["seeing"]:
            concept = search["concept"]
            rows.append(
                (
                    f"neurons that see '{concept}': {len(search['seeing'])} in {layer} "
                    f"have it as best concept",
                    [
                        p.panel(layer, u, p.top_image(layer, u), f"neuron {u} · IoU {iou:.2f}")
                        for u, iou in search["seeing"][:_SEARCH_K]
                    ],
                    "ranked by IoU, each on its top image",
                )
            )
            rows.append(
                (
                    f"neurons near '{concept}' in semantic space",
                    [
                        p.panel(
                            layer,
                            u,
                            p.top_image(layer, u),
                            *self._caption(layer, u, f"neuron {u} · cos {cos:.2f}"),
                        )
                        for u, cos in search["near"]
                    ],
                    "cos to the mean direction of the concept's neurons; the label under each "
                    "is that neuron's own best concept",
                )
            )
        return rows

    def describe(self) -> str:
        """The current view in words: the neuron, its concept, neighbours, additive query and
        concept search, every number named (``cos``, ``IoU``)."""
        s = self.state
        concept = s["concept"]
        lines = [
            f"{s['layer']} · neuron {s['unit']}",
            "best concept: " + (f"{concept[0]} (IoU {concept[1]:.3f})" if concept else "—"),
            "nearest: " + ", ".join(f"neuron {u} (cos {c:.2f})" for u, c in s["neighbours"]),
        ]
        add = s["additive"]
        if add is None:
            lines.append(
                f"additive: partner b equals neuron a ({s['unit']}); pick another b for a + b → c"
            )
        else:
            lines.append(
                f"additive: {add['a']} + {add['b']} → {add['c']} (cos {add['cosine']:.2f})"
            )
        search = s["search"]
        if search is None:
            return "\n".join(lines)
        name = search["concept"]
        if search["seeing"]:
            seeing, near = search["seeing"], search["near"]
            lines.append(
                f"concept '{name}': best concept of {len(seeing)} neurons of {s['layer']}, "
                "top "
                + ", ".join(f"{u} (IoU {iou:.2f})" for u, iou in seeing[:3])
                + "; nearest to its direction "
                + ", ".join(f"{u} (cos {cos:.2f})" for u, cos in near[:3])
            )
        elif not search["known"]:
            lines.append(f"concept search: no concept named '{name}'; pick one from the list")
        else:
            where = ", ".join(f"{other}: {n}" for other, n in search["elsewhere"].items())
            lines.append(
                f"concept search: no neuron of {s['layer']} has '{name}' as its best concept"
                + (f" (it has in {where})" if where else "")
            )
        return "\n".join(lines)

    def html(self) -> str:
        """The current view as self-contained HTML (the panels are inline JPEG data URIs)."""
        title, *rest = (html.escape(line) for line in self.describe().split("\n"))
        header = (
            '<div class="skd-header" style="line-height:1.5">'
            + "<br>".join([f"<b>{title}</b>", *rest])
            + "</div>"
        )
        body = "".join(section(title, panels, note) for title, panels, note in self._sections())
        return f'<div class="skd-explorer">{header}{body}</div>'

    def figure(self) -> Figure:
        """The current view as a matplotlib figure (not shown by pyplot; for saving as PNG)."""
        rows = self._sections()
        cols = max(len(panels) for _, panels, _ in rows)
        fig = Figure(figsize=(1.6 * cols, 2.05 * len(rows)), layout="constrained")
        subfigures = fig.subfigures(len(rows), 1, squeeze=False)[:, 0]
        for (title, panels, _), sub in zip(rows, subfigures, strict=True):
            axes = sub.subplots(1, cols, squeeze=False)[0]
            for ax in axes:
                ax.set_axis_off()
            for ax, panel in zip(axes, panels, strict=False):
                ax.imshow(self.panels.array(panel.layer, panel.unit, panel.image))
                ax.set_title("\n".join(panel.caption), fontsize=7)
            sub.suptitle(title, fontsize=9, x=0.0, ha="left")
        return fig

    # -- display --------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The live widget in a kernel's front end, its current view as HTML anywhere else."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self.html()
        bundle["text/plain"] = (
            f"NeuronExplorer({self.state.get('layer')} · neuron {self.state.get('unit')})"
        )
        return bundle
