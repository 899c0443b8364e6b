"""Network Dissection's rule, as settings: how a unit is thresholded, how its area is counted,
and when it counts as interpretable (Bau et al. 2017; ``docs/method.md`` §5).

Plain values with no torch behind them, so the command line and configs can name them as
defaults; :func:`skdlib.dissect.dissect` and :class:`skdlib.dissect.DissectionResult` apply
them.

Example:
    >>> DEFAULT_QUANTILE, INTERPRETABLE_IOU
    (0.995, 0.04)
"""

from __future__ import annotations

__all__ = [
    "AREA_MODES",
    "DEFAULT_QUANTILE",
    "DEFAULT_TOP_K",
    "INTERPRETABLE_IOU",
    "IOU_EPS",
    "THRESHOLD_METHODS",
]

#: A unit's threshold: this quantile of its activations over the whole data set and every
#: position, so its mask covers the top 0.5 % of them.
DEFAULT_QUANTILE = 0.995
#: A unit is interpretable when its best concept's IoU exceeds this.
INTERPRETABLE_IOU = 0.04
#: How the threshold is found: ``"streaming"`` keeps only the top tail (exact), ``"exact"`` keeps
#: every activation.
THRESHOLD_METHODS = ("streaming", "exact")
#: How a unit's activation area is counted per category (:mod:`skdlib.dissect.tally`):
#: ``"annotated"`` over the images that carry a label of the category, ``"overlap"`` as
#: NetDissect-Lite's code does.
AREA_MODES = ("annotated", "overlap")
#: Added to every IoU's denominator.
IOU_EPS = 1e-10
#: Top images kept per unit to show it (:mod:`skdlib.dissect.top_images`; NetDissect-Lite's
#: strip has 10, its tile shows about 4).
DEFAULT_TOP_K = 8
