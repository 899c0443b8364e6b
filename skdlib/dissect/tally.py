"""The counting at the heart of Network Dissection: intersections and areas, batched.

For a unit ``k`` with threshold ``T_k`` and a concept ``l`` (``docs/method.md`` §5):

* mask ``M_k = upsample(A_k) > T_k`` (strict), the activation map upsampled to the
  segmentation size, bilinear with ``align_corners=False``;
* ``I[k, l] += |M_k ∩ L_l|`` (a label in several layers counts in each), ``G[l] += |L_l|``
  (whole-image labels count as full masks), and the activation area ``A[k, c] += |M_k|`` on the
  images that carry a label of category ``c`` (``"annotated"``), or — NetDissect-Lite's code,
  ``"overlap"`` — only on the images where the mask overlaps a label of ``c``.

The masks are found and counted per (unit, label combination) by
:func:`~skdlib.dissect.masks.mask_counts`, never upsampling whole maps; the few non-zero counts
are then expanded into their labels (:mod:`~skdlib.dissect.label_sets`) and scattered with
``index_add_``. The cost is that of the mask pixels, not of the label layers or the units.
"""

from __future__ import annotations

import contextlib

import torch

from ..runtime import cpu_threads
from .label_sets import LabelSets, label_sets
from .masks import mask_counts
from .rules import AREA_MODES

__all__ = ["IoUTally", "label_area", "categories_present"]


def label_area(
    pixel_labels: torch.Tensor,
    image_labels: torch.Tensor,
    label_space: int,
    sets: LabelSets | None = None,
) -> torch.Tensor:
    """Label areas of a batch: ``G[l] = Σ |L_l|`` in pixels, ``(label_space,)`` int64.

    Args:
        pixel_labels: ``(B, D, sh, sw)`` label numbers (0 = none); every layer counts.
        image_labels: ``(B, E)`` whole-image label numbers (0 = padding); each counts
            ``sh * sw``.
        sets: ``label_sets(pixel_labels)``, if at hand: then the pixels are counted per label
            combination (``B·sh·sw`` values) rather than per label (``D`` times as many).

    Example:
        >>> label_area(torch.tensor([[[[0, 2], [2, 1]]]]), torch.tensor([[3]]), 4)
        tensor([0, 1, 2, 4])
    """
    sh, sw = pixel_labels.shape[-2:]
    if sets is None:
        area = torch.bincount(pixel_labels.reshape(-1).long(), minlength=label_space)
    else:
        per_set = torch.bincount(sets.ids.view(-1), minlength=len(sets))
        depth = sets.labels.shape[1]
        area = torch.zeros(label_space, dtype=torch.int64, device=per_set.device)
        area.index_add_(0, sets.labels.reshape(-1), per_set.repeat_interleave(depth))
    whole = image_labels.reshape(-1).long()
    area.index_add_(0, whole, torch.full_like(whole, sh * sw))
    area[0] = 0
    return area


def categories_present(
    pixel_labels: torch.Tensor,
    image_labels: torch.Tensor,
    category_lut: torch.Tensor,
    sets: LabelSets | None = None,
) -> torch.Tensor:
    """Which categories each image carries a label of: ``(B, n_categories)`` bool.

    ``category_lut`` ``(label_space,)`` maps a label number to its primary category's index,
    -1 for 0 and for labels of unselected categories (see ``BrodenDataset.category_lut``).
    ``sets`` (``label_sets(pixel_labels)``, if at hand) spares looking at every pixel.

    Example:
        >>> lut = torch.tensor([-1, 0, 1])
        >>> categories_present(torch.tensor([[[[0, 1]]]]), torch.zeros(1, 0, dtype=torch.long), lut)
        tensor([[ True, False]])
    """
    b = pixel_labels.shape[0]
    n_cat = int(category_lut.max()) + 1 if category_lut.numel() else 0
    present = torch.zeros((b, n_cat + 1), dtype=torch.bool, device=category_lut.device)
    present.scatter_(1, category_lut[image_labels.long()] + 1, True)
    if sets is None:
        present.scatter_(1, category_lut[pixel_labels.reshape(b, -1).long()] + 1, True)
    else:
        cats = category_lut[sets.labels] + 1  # (N, D)
        present[sets.image.unsqueeze(1).expand_as(cats), cats] = True
    return present[:, 1:]


class IoUTally:
    """Network-Dissection counts of one layer, accumulated batch by batch.

    Args:
        thresholds: ``(U,)`` per-unit thresholds ``T_k``.
        category_lut: ``(L,)`` int64, primary-category index of each label number (-1: none);
            ``L`` is the label space (largest number + 1).
        n_categories: number of categories.
        activation_area: ``"annotated"`` (``docs/method.md`` §5) or ``"overlap"``
            (NetDissect-Lite's code).
        chunk_elements: evaluated values per step of :func:`mask_counts`; ``None``: 2^18 on
            the CPU (they stay in its cache), 2^22 on a GPU (fewer, larger kernels).
        threads: torch CPU threads while counting (default 1; ``None``: torch's setting). The
            counting is many short memory-bound operations: a second thread gains little on an
            idle machine and loses several-fold when another process shares the cores
            (:func:`~skdlib.runtime.cpu_threads`; ``benchmarks/RESULTS.md``). No effect on GPUs.

    Attributes (int64, on the thresholds' device): ``intersection`` ``(U, L)``,
    ``activation_area`` ``(U, n_categories)``.

    Example:
        >>> tally = IoUTally(torch.zeros(1), torch.tensor([-1, 0]), 1)
        >>> acts = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])          # (B=1, U=1, 2, 2)
        >>> labels = torch.tensor([[[[1, 1], [0, 0]]]])                 # (B=1, D=1, 2, 2)
        >>> tally.update(acts, labels, torch.zeros(1, 0, dtype=torch.long))
        >>> tally.intersection, tally.activation_area
        (tensor([[0, 1]]), tensor([[1]]))
    """

    def __init__(
        self,
        thresholds: torch.Tensor,
        category_lut: torch.Tensor,
        n_categories: int,
        activation_area: str = "annotated",
        chunk_elements: int | None = None,
        threads: int | None = 1,
    ) -> None:
        if activation_area not in AREA_MODES:
            raise ValueError(
                f"activation_area must be one of {AREA_MODES}, got {activation_area!r}"
            )
        device = thresholds.device
        self.thresholds = thresholds.float()
        self.lut = category_lut.to(device=device, dtype=torch.int64)
        self.units = int(thresholds.numel())
        self.label_space = int(category_lut.numel())
        self.n_categories = int(n_categories)
        self.mode = activation_area
        if chunk_elements is None:
            chunk_elements = 1 << 18 if device.type == "cpu" else 1 << 22
        self.chunk_elements = int(chunk_elements)
        self.threads = threads
        self.intersection = torch.zeros(
            (self.units, self.label_space), dtype=torch.int64, device=device
        )
        self.activation_area = torch.zeros(
            (self.units, self.n_categories), dtype=torch.int64, device=device
        )

    def update(
        self,
        acts: torch.Tensor,
        pixel_labels: torch.Tensor,
        image_labels: torch.Tensor,
        present: torch.Tensor | None = None,
        sets: LabelSets | None = None,
    ) -> None:
        """Add one batch.

        Args:
            acts: ``(B, U, h, w)`` activations.
            pixel_labels: ``(B, D, sh, sw)`` label numbers, 0 = none (``D`` may be 0).
            image_labels: ``(B, E)`` whole-image label numbers, 0 = padding.
            present: ``(B, n_categories)`` from :func:`categories_present` (computed if None).
            sets: ``label_sets(pixel_labels)`` on this tally's device (computed if None; pass
                it when several layers are tallied on the same batch).
        """
        cpu = self.intersection.device.type == "cpu" and self.threads is not None
        with cpu_threads(self.threads) if cpu else contextlib.nullcontext():
            self._add(acts, pixel_labels, image_labels, present, sets)

    def _add(self, acts, pixel_labels, image_labels, present, sets) -> None:
        b, u, _, _ = acts.shape
        if u != self.units:
            raise ValueError(f"expected {self.units} units, got activations {tuple(acts.shape)}")
        device = self.intersection.device
        pixel = pixel_labels.to(device=device)
        whole = image_labels.to(device=device, dtype=torch.int64)
        if sets is None:
            sets = label_sets(pixel)
        n_cat = self.n_categories
        inter = self.intersection.view(-1)
        area = torch.zeros(b * u, dtype=torch.int64, device=device)
        hit = None
        if self.mode == "overlap":
            hit = torch.zeros((b * u, n_cat + 1), dtype=torch.bool, device=device)
        chunks = mask_counts(acts.to(device), self.thresholds, sets, self.chunk_elements)
        for unit, s, count in chunks:
            key = sets.image.index_select(0, s) * u + unit
            area.index_add_(0, key, count)
            labels = sets.labels.index_select(0, s)  # (n, D); label 0 lands in column 0,
            flat = (unit.unsqueeze(1) * self.label_space + labels).view(-1)  # zeroed below
            inter.index_add_(0, flat, count.unsqueeze(1).expand_as(labels).reshape(-1))
            if hit is not None:
                cats = self.lut.index_select(0, labels.view(-1)).view(labels.shape) + 1
                hit.view(-1).index_fill_(0, (key.unsqueeze(1) * (n_cat + 1) + cats).view(-1), True)
        area = area.view(b, u)
        for e in range(whole.shape[1]):  # whole-image labels: the full mask intersects them
            self.intersection.index_add_(1, whole[:, e], area.t())
        self.intersection[:, 0] = 0  # label 0 (unlabelled, padding) counts for nothing
        if self.mode == "annotated":
            if present is None:
                present = categories_present(pixel, whole, self.lut)
            weights = present.to(torch.float64)
        else:
            scalar = torch.zeros((b, n_cat + 1), dtype=torch.bool, device=device)
            scalar.scatter_(1, self.lut[whole] + 1, True)
            weights = (hit.view(b, u, n_cat + 1) | scalar.unsqueeze(1))[..., 1:].to(torch.float64)
        # A[u, c] += sum_b |M_bu| * weight[b, (u,) c]; float64 sums of counts are exact
        if weights.dim() == 2:
            added = area.t().to(torch.float64) @ weights
        else:
            added = torch.einsum("bu,buc->uc", area.to(torch.float64), weights)
        self.activation_area += added.round().to(torch.int64)
