"""Measuring neurons against labelled concepts: Network Dissection and the paper's KL metric.

* :mod:`~skdlib.dissect.broden_format`, :mod:`~skdlib.dissect.broden` — the Broden data set on
  disk and as a PyTorch dataset; :mod:`~skdlib.dissect.download` fetches it;
* :mod:`~skdlib.dissect.rules` — NetDissect's rule as settings (quantile, area, IoU > 0.04);
* :mod:`~skdlib.dissect.quantile` — exact per-unit thresholds over hundreds of millions of values;
* :mod:`~skdlib.dissect.label_sets` — the distinct label combinations under a batch's pixels;
* :mod:`~skdlib.dissect.masks` — where the masks upsample(A) > T lie, without upsampling;
* :mod:`~skdlib.dissect.tally` — masks against labels: intersections and areas;
* :mod:`~skdlib.dissect.top_images` — each unit's top images and maps, kept in the first pass
  (what the report, :func:`skdlib.viz.write_report`, draws);
* :mod:`~skdlib.dissect.pipeline` — :func:`dissect`, the two passes over the data;
  :mod:`~skdlib.dissect.resume` makes a crash resumable (``python -m skdlib dissect`` is
  :mod:`skdlib.commands.dissect`);
* :mod:`~skdlib.dissect.result` — :class:`DissectionResult`: IoU, best concepts, files;
* :mod:`~skdlib.dissect.kl_metric`, :mod:`~skdlib.dissect.kl_callback` — the KL between the
  semantic vectors' structure and the IoU profiles' (paper §3.4, Fig. 4);
* :mod:`~skdlib.dissect.concept_agreement` — do a neuron's nearest neighbours by vector share
  its best concept? (nearest-neighbour agreement and kNN purity, each against chance).

Example:
    >>> from skdlib.data import make_synthetic_broden, planted_concept_model
    >>> root = make_synthetic_broden("/tmp/skd-doc/b5", 16, size=64, progress=False)
    >>> result = dissect(planted_concept_model(root), ["units"], root, quantile=0.5,
    ...                  progress=False)
    >>> result.best_concepts("units")[1][:2], result.interpretable("units") > 40
    (('orange', 'color'), True)
"""

import lazy_loader as _lazy

# every public name, imported from its module on first use (scientific-python SPEC 1)
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "broden": ["BrodenDataset", "BrodenImages", "check_broden_layout", "collate_broden"],
        "broden_format": [
            "BRODEN_FOLDER",
            "BRODEN_URL",
            "BrodenFormatError",
            "BrodenLabel",
            "BrodenRecord",
            "decode_segmentation",
        ],
        "concept_agreement": [
            "concept_structure",
            "knn_concept_purity",
            "nearest_concept_agreement",
        ],
        "download": ["download", "download_and_extract", "download_broden", "extract_zip"],
        "kl_callback": ["KLMetricCallback"],
        "kl_metric": [
            "kl_by_layer",
            "kl_summary",
            "kl_to_targets",
            "random_baseline",
            "random_vectors",
            "target_log_distribution",
            "upper_bound",
        ],
        "label_sets": ["LabelSets", "label_sets"],
        "masks": ["mask_counts", "mask_pixels"],
        "pipeline": ["dissect"],
        "quantile": ["StreamingQuantile", "exact_quantile", "tail_size"],
        "result": ["DissectionResult"],
        "tally": ["IoUTally", "categories_present", "label_area"],
        "top_images": ["TopImages", "TopImagesTracker"],
        "rules": ["AREA_MODES", "DEFAULT_QUANTILE", "INTERPRETABLE_IOU", "THRESHOLD_METHODS"],
    },
)
