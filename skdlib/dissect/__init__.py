"""Measuring neurons against labelled concepts: Network Dissection and the paper's KL metric.

* :mod:`~skdlib.dissect.broden_format`, :mod:`~skdlib.dissect.broden` — the Broden data set on
  disk and as a PyTorch dataset; :mod:`~skdlib.dissect.download` fetches it;
* :mod:`~skdlib.dissect.quantile` — exact per-unit thresholds over hundreds of millions of values;
* :mod:`~skdlib.dissect.label_sets` — the distinct label combinations under a batch's pixels;
* :mod:`~skdlib.dissect.masks` — where the masks upsample(A) > T lie, without upsampling;
* :mod:`~skdlib.dissect.tally` — masks against labels: intersections and areas;
* :mod:`~skdlib.dissect.pipeline` — :func:`dissect`, the two passes over the data;
  :mod:`~skdlib.dissect.resume` makes a crash resumable, :mod:`~skdlib.dissect.command` is
  ``python -m skdlib dissect``;
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

from .broden import BrodenDataset, BrodenImages, check_broden_layout, collate_broden
from .broden_format import (
    BRODEN_FOLDER,
    BRODEN_URL,
    BrodenFormatError,
    BrodenLabel,
    BrodenRecord,
    decode_segmentation,
)
from .concept_agreement import concept_structure, knn_concept_purity, nearest_concept_agreement
from .download import download, download_and_extract, download_broden, extract_zip
from .kl_callback import KLMetricCallback
from .kl_metric import (
    kl_by_layer,
    kl_summary,
    kl_to_targets,
    random_baseline,
    random_vectors,
    target_log_distribution,
    upper_bound,
)
from .label_sets import LabelSets, label_sets
from .masks import mask_counts, mask_pixels
from .pipeline import DEFAULT_QUANTILE, dissect
from .quantile import StreamingQuantile, exact_quantile, tail_size
from .result import INTERPRETABLE_IOU, DissectionResult
from .tally import IoUTally, categories_present, label_area

__all__ = [
    "BRODEN_FOLDER",
    "BRODEN_URL",
    "DEFAULT_QUANTILE",
    "INTERPRETABLE_IOU",
    "BrodenDataset",
    "BrodenFormatError",
    "BrodenImages",
    "BrodenLabel",
    "BrodenRecord",
    "DissectionResult",
    "concept_structure",
    "knn_concept_purity",
    "nearest_concept_agreement",
    "IoUTally",
    "KLMetricCallback",
    "LabelSets",
    "StreamingQuantile",
    "categories_present",
    "check_broden_layout",
    "collate_broden",
    "decode_segmentation",
    "dissect",
    "download",
    "download_and_extract",
    "download_broden",
    "exact_quantile",
    "extract_zip",
    "kl_by_layer",
    "kl_summary",
    "kl_to_targets",
    "label_area",
    "label_sets",
    "mask_counts",
    "mask_pixels",
    "random_baseline",
    "random_vectors",
    "tail_size",
    "target_log_distribution",
    "upper_bound",
]
