"""Looking at the embedding: the paper's figures, agreement measures, and the neuron explorer.

* :mod:`~skdlib.viz.activations` — one forward pass over the shown images; which units to show;
* :mod:`~skdlib.viz.figures` — Fig. 2 (neighbours) and Fig. 3 (additive relations) as light
  masks on images; :func:`save_figure`;
* :mod:`~skdlib.viz.agreement` — the same claims as numbers over a whole layer;
* :mod:`~skdlib.viz.semantic_map` — a 2-D map of the vectors;
* :mod:`~skdlib.viz.curves` — the embedding loss and the KL curves of Fig. 4;
* :mod:`~skdlib.viz.panels` — light masks as captioned, cached web pictures (the explorer's view);
* :mod:`~skdlib.viz.concept_search` — the neurons that see a concept, and those near it;
* :mod:`~skdlib.viz.explorer` — :class:`NeuronExplorer`, the ipywidgets explorer.

Every plotting function returns a ``matplotlib.figure.Figure``; the explorer draws HTML.
"""

from .activations import collect_activations, most_active_units, shared_top_images, top_images
from .agreement import additive_agreement, mask_iou, neighbour_agreement, unit_masks
from .concept_search import (
    concept_direction,
    concept_options,
    concept_table,
    units_near,
    units_seeing,
)
from .curves import plot_kl_curves, plot_loss_curve
from .explorer import NeuronExplorer
from .figures import light_mask, plot_additive, plot_neighbours, save_figure, unit_range
from .semantic_map import plot_semantic_map, plot_semantic_map_by_category, semantic_map

__all__ = [
    "NeuronExplorer",
    "additive_agreement",
    "collect_activations",
    "concept_direction",
    "concept_options",
    "concept_table",
    "light_mask",
    "mask_iou",
    "most_active_units",
    "neighbour_agreement",
    "plot_additive",
    "plot_kl_curves",
    "plot_loss_curve",
    "plot_neighbours",
    "plot_semantic_map",
    "plot_semantic_map_by_category",
    "save_figure",
    "semantic_map",
    "shared_top_images",
    "top_images",
    "unit_masks",
    "unit_range",
    "units_near",
    "units_seeing",
]
