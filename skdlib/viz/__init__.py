"""Looking at the embedding: the paper's figures, agreement measures, and the neuron explorer.

* :mod:`~skdlib.viz.activations` — one forward pass over the shown images; which units to show;
* :mod:`~skdlib.viz.figures` — Fig. 2 (neighbours) and Fig. 3 (additive relations) as light
  masks on images; :func:`save_figure`;
* :mod:`~skdlib.viz.agreement` — the same claims as numbers over a whole layer;
* :mod:`~skdlib.viz.semantic_map` — a 2-D map of the vectors;
* :mod:`~skdlib.viz.curves` — the embedding loss and the KL curves of Fig. 4;
* :mod:`~skdlib.viz.table1_chart` — Table 1 as a bar chart;
* :mod:`~skdlib.viz.panels` — light masks as captioned, cached web pictures (the explorer's view);
* :mod:`~skdlib.viz.concept_search` — the neurons that see a concept, and those near it;
* :mod:`~skdlib.viz.explorer` — :class:`NeuronExplorer`, the ipywidgets explorer;
* :mod:`~skdlib.viz.category_chart` — NetDissect's bar chart of a layer's interpretable units;
* :mod:`~skdlib.viz.dissection_report` — the dissection's HTML report (:func:`write_report`).

Every plotting function returns a ``matplotlib.figure.Figure``; the explorer and the report
draw HTML.
"""

import lazy_loader as _lazy

# every public name, imported from its module on first use (scientific-python SPEC 1)
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "activations": [
            "collect_activations",
            "most_active_units",
            "shared_top_images",
            "top_images",
        ],
        "category_chart": ["concept_bars", "plot_category_bars"],
        "dissection_report": ["ReportLink", "write_report"],
        "agreement": ["additive_agreement", "mask_iou", "neighbour_agreement", "unit_masks"],
        "concept_search": [
            "concept_direction",
            "concept_options",
            "concept_table",
            "units_near",
            "units_seeing",
        ],
        "curves": ["plot_kl_curves", "plot_loss_curve"],
        "explorer": ["NeuronExplorer"],
        "figures": [
            "dim_pixels",
            "light_mask",
            "plot_additive",
            "plot_neighbours",
            "save_figure",
            "unit_range",
        ],
        "semantic_map": ["plot_semantic_map", "plot_semantic_map_by_category", "semantic_map"],
        "table1_chart": ["plot_results"],
    },
)
