"""The tally as NetDissect-Lite does it: the peer that ``bench_tally.py`` measures skdlib against.

NetDissect-Lite (Bau et al., ``feature_operation.py``, ``tally_job``) counts one image at a time
and, within it, one unit at a time: a unit whose map exceeds its threshold somewhere has that map
upsampled bilinearly to the segmentation size (``scipy.misc.imresize(..., mode="F")``, which is
PIL's bilinear resize of a float image), thresholded, and the label numbers under the mask are
counted with one ``numpy.bincount``. This module follows that procedure, written here from its
description, with two deliberate differences so that both sides count the same thing:

* the category of a label is its primary category (``IoUTally``'s convention; Lite sums over
  every category a label belongs to, the same on the generated Broden where each label has one);
* the set of categories a unit's mask overlaps is rebuilt for every (image, unit), whereas Lite
  carries it over from the previous unit on images without pixel labels (a bug).

It is therefore ``IoUTally(activation_area="overlap")`` computed the slow way, and its results
must agree with skdlib's up to float rounding of the upsampled values at the threshold.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def lite_label_area(
    pixel_labels: np.ndarray, image_labels: np.ndarray, label_space: int
) -> np.ndarray:
    """Pixels of each label over a batch, ``(L,)`` int64; a whole-image label counts every pixel."""
    sh, sw = pixel_labels.shape[-2:]
    area = np.bincount(pixel_labels.ravel(), minlength=label_space).astype(np.int64)
    whole = image_labels[image_labels > 0]
    np.add.at(area, whole, sh * sw)
    area[0] = 0
    return area


def lite_style_tally(
    acts: np.ndarray,
    thresholds: np.ndarray,
    pixel_labels: np.ndarray,
    image_labels: np.ndarray,
    category_lut: np.ndarray,
    n_categories: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersections, activation areas and label areas, image by image and unit by unit.

    Args:
        acts: ``(N, U, h, w)`` float32 activations.
        thresholds: ``(U,)`` float32 thresholds (the mask is ``upsampled > threshold``).
        pixel_labels: ``(N, D, sh, sw)`` integer label numbers, 0 = none.
        image_labels: ``(N, E)`` whole-image label numbers, 0 = padding.
        category_lut: ``(L,)`` primary-category index of each label number, -1 for none.
        n_categories: number of categories.

    Returns:
        ``intersection`` ``(U, L)``, ``activation_area`` ``(U, n_categories)`` (the ``overlap``
        convention) and ``label_area`` ``(L,)``, all int64.
    """
    n_images, units = acts.shape[:2]
    label_space = len(category_lut)
    intersection = np.zeros((units, label_space), np.int64)
    activation_area = np.zeros((units, n_categories), np.int64)
    label_area = np.zeros(label_space, np.int64)
    for i in range(n_images):
        pixels = pixel_labels[i]
        sh, sw = pixels.shape[-2:]
        whole = image_labels[i][image_labels[i] > 0]
        label_area += lite_label_area(pixels, image_labels[i], label_space)
        whole_categories = category_lut[whole]
        peaks = acts[i].reshape(units, -1).max(axis=1)
        for unit in np.flatnonzero(peaks > thresholds):
            up = Image.fromarray(acts[i, unit]).resize((sw, sh), Image.BILINEAR)
            ys, xs = np.nonzero(np.asarray(up) > thresholds[unit])
            if len(ys) == 0:
                continue
            counts = np.bincount(pixels[:, ys, xs].ravel(), minlength=label_space)
            counts[0] = 0
            intersection[unit] += counts
            np.add.at(intersection[unit], whole, len(ys))
            hit = np.zeros(n_categories + 1, bool)
            hit[category_lut[np.flatnonzero(counts)] + 1] = True
            hit[whole_categories + 1] = True
            activation_area[unit] += len(ys) * hit[1:]
    intersection[:, 0] = 0
    return intersection, activation_area, label_area
