"""The counting at the heart of Network Dissection: masks, intersections and areas, batched.

For a unit ``k`` with threshold ``T_k`` and a concept ``l`` (``docs/method.md`` §5):

* mask ``M_k = upsample(A_k) > T_k`` (strict), the activation map upsampled to the
  segmentation size, bilinear with ``align_corners=False``;
* ``I[k, l] += |M_k ∩ L_l|`` (a label in several layers counts in each), ``G[l] += |L_l|``
  (whole-image labels count as full masks), and the activation area ``A[k, c] += |M_k|`` on the
  images that carry a label of category ``c`` (``"annotated"``), or — NetDissect-Lite's code,
  ``"overlap"`` — only on the images where the mask overlaps a label of ``c``.

Everything runs in torch, batched over images, units and labels, with no Python loop over images
or units. A mask pixel needs one of its four bilinear sources above ``T_k``, so
:func:`mask_pixels` evaluates only the output blocks next to such cells (a few percent of the
upsampled maps at q = 0.995), in chunks of bounded memory, and the counts are scattered with
``index_add_``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import torch

__all__ = ["AREA_MODES", "IoUTally", "label_area", "categories_present", "mask_pixels"]

#: How the activation area of a unit is counted per category (see the module docstring).
AREA_MODES = ("annotated", "overlap")


def label_area(
    pixel_labels: torch.Tensor, image_labels: torch.Tensor, label_space: int
) -> torch.Tensor:
    """Label areas of a batch: ``G[l] = Σ |L_l|`` in pixels, ``(label_space,)`` int64.

    Args:
        pixel_labels: ``(B, D, sh, sw)`` label numbers (0 = none); every layer counts.
        image_labels: ``(B, E)`` whole-image label numbers (0 = padding); each counts
            ``sh * sw``.

    Example:
        >>> label_area(torch.tensor([[[[0, 2], [2, 1]]]]), torch.tensor([[3]]), 4)
        tensor([0, 1, 2, 4])
    """
    sh, sw = pixel_labels.shape[-2:]
    area = torch.bincount(pixel_labels.reshape(-1).long(), minlength=label_space)
    whole = image_labels.reshape(-1).long()
    area.index_add_(0, whole, torch.full_like(whole, sh * sw))
    area[0] = 0
    return area


def categories_present(
    pixel_labels: torch.Tensor, image_labels: torch.Tensor, category_lut: torch.Tensor
) -> torch.Tensor:
    """Which categories each image carries a label of: ``(B, n_categories)`` bool.

    ``category_lut`` ``(label_space,)`` maps a label number to its primary category's index,
    -1 for 0 and for labels of unselected categories (see ``BrodenDataset.category_lut``).

    Example:
        >>> lut = torch.tensor([-1, 0, 1])
        >>> categories_present(torch.tensor([[[[0, 1]]]]), torch.zeros(1, 0, dtype=torch.long), lut)
        tensor([[ True, False]])
    """
    b = pixel_labels.shape[0]
    n_cat = int(category_lut.max()) + 1 if category_lut.numel() else 0
    cats = torch.cat(
        [category_lut[pixel_labels.reshape(b, -1).long()], category_lut[image_labels.long()]], 1
    )
    present = torch.zeros((b, n_cat + 1), dtype=torch.bool, device=cats.device)
    present.scatter_(1, cats + 1, True)
    return present[:, 1:]


@functools.lru_cache(maxsize=64)
def _axis_groups(n_in: int, n_out: int) -> tuple[torch.Tensor, ...]:
    """One axis of bilinear upsampling (``align_corners=False``) from ``n_in`` to ``n_out``.

    Returns ``(weight, source, start, count)``: the weight of the upper source of each output
    position (as PyTorch computes it, in float32), and a partition of the outputs into runs of at
    most ``ceil(n_out / n_in)`` consecutive positions sharing their lower source ``source[g]``.
    """
    scale = torch.tensor(n_in, dtype=torch.float32) / n_out
    src = (scale * (torch.arange(n_out, dtype=torch.float32) + 0.5) - 0.5).clamp_min(0.0)
    i0 = src.floor().long().clamp_max(n_in - 1)
    weight = (src - i0).clamp(0.0, 1.0)
    longest = max(1, -(-n_out // n_in))
    source, start, count = [], [], []
    for o, r in enumerate(i0.tolist()):
        if source and source[-1] == r and count[-1] < longest:
            count[-1] += 1
        else:
            source.append(r)
            start.append(o)
            count.append(1)
    return weight, torch.tensor(source), torch.tensor(start), torch.tensor(count)


def _first_and_count(source: torch.Tensor, n_in: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per source index: its first group and number of groups (``source`` is sorted)."""
    count = torch.bincount(source, minlength=n_in)
    return torch.cumsum(count, 0) - count, count


def mask_pixels(
    acts: torch.Tensor,
    thresholds: torch.Tensor,
    size: tuple[int, int],
    chunk_elements: int = 1 << 22,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The pixels of the masks ``upsample(acts) > T``, without upsampling whole maps.

    The mask of unit ``u`` on image ``b`` is ``M = bilinear(acts[b, u], size) > T[u]``
    (``align_corners=False``, as ``F.interpolate``). A bilinear value is a convex combination
    of its four source values, so it can only exceed ``T`` where one of them does: only the
    blocks of output pixels fed by such source cells are evaluated. With thresholds at the 0.995
    quantile that is a few percent of what dense upsampling computes.

    Args:
        acts: ``(B, U, h, w)`` float activations.
        thresholds: ``(U,)`` per-unit thresholds.
        size: the mask size ``(sh, sw)``.
        chunk_elements: evaluated values per chunk (memory bound).

    Yields:
        Chunks ``(b, u, y, x)`` of int64 ``(n,)`` tensors: every mask pixel exactly once.

    Example:
        >>> a = torch.tensor([[[[0.0, 1.0]]]])                      # (1, 1, 1, 2)
        >>> [t.tolist() for t in next(mask_pixels(a, torch.tensor([0.5]), (1, 4)))]
        [[0, 0], [0, 0], [0, 0], [2, 3]]
    """
    _, units, h, w = acts.shape
    sh, sw = size
    device = acts.device
    ly, ysrc, ystart, ycount = (t.to(device) for t in _axis_groups(h, sh))
    lx, xsrc, xstart, xcount = (t.to(device) for t in _axis_groups(w, sw))
    thr = thresholds.to(device=device, dtype=acts.dtype)
    # cell (r, c) is live when one of its four sources (rows r, r+1; cols c, c+1) is above T
    live = acts > thr.view(1, units, 1, 1)
    live[:, :, :-1] |= live[:, :, 1:].clone()
    live[:, :, :, :-1] |= live[:, :, :, 1:].clone()
    cells = live.nonzero()
    # each source index feeds one or a few runs (groups) of outputs: expand cells to blocks
    yfirst, ynum = _first_and_count(ysrc, h)
    xfirst, xnum = _first_and_count(xsrc, w)
    b, u, r, c = cells.unbind(1)
    ky, kx = int(ynum.max()), int(xnum.max())
    gy = yfirst[r, None] + torch.arange(ky, device=device)  # (n, ky)
    gx = xfirst[c, None] + torch.arange(kx, device=device)
    ok = (torch.arange(ky, device=device) < ynum[r, None]).unsqueeze(2) & (
        torch.arange(kx, device=device) < xnum[c, None]
    ).unsqueeze(1)
    n_idx, iy, ix = ok.nonzero(as_tuple=True)
    blocks = torch.stack([b[n_idx], u[n_idx], gy[n_idx, iy], gx[n_idx, ix]], 1)
    rows_max, cols_max = int(ycount.max()), int(xcount.max())
    ar, ac = torch.arange(rows_max, device=device), torch.arange(cols_max, device=device)
    for chunk in blocks.split(max(1, chunk_elements // (rows_max * cols_max))):
        b, u, gy, gx = chunk.unbind(1)
        r, c = ysrc[gy], xsrc[gx]
        rb, cb = (r + 1).clamp_max(h - 1), (c + 1).clamp_max(w - 1)
        rr = (ystart[gy, None] + ar).clamp_max(sh - 1)
        cc = (xstart[gx, None] + ac).clamp_max(sw - 1)
        wx = lx[cc]
        v00, v01 = acts[b, u, r, c].unsqueeze(1), acts[b, u, r, cb].unsqueeze(1)
        v10, v11 = acts[b, u, rb, c].unsqueeze(1), acts[b, u, rb, cb].unsqueeze(1)
        top = v00 + wx * (v01 - v00)  # (n, cols)
        bot = v10 + wx * (v11 - v10)
        up = top.unsqueeze(1) + ly[rr].unsqueeze(2) * (bot - top).unsqueeze(1)  # (n, rows, cols)
        q, i, j = (up > thr[u].view(-1, 1, 1)).nonzero(as_tuple=True)
        keep = (i < ycount[gy[q]]) & (j < xcount[gx[q]])  # blocks are padded to the longest
        q, i, j = q[keep], i[keep], j[keep]
        yield b[q], u[q], rr[q, i], cc[q, j]


class IoUTally:
    """Network-Dissection counts of one layer, accumulated batch by batch.

    Args:
        thresholds: ``(U,)`` per-unit thresholds ``T_k``.
        category_lut: ``(L,)`` int64, primary-category index of each label number (-1: none);
            ``L`` is the label space (largest number + 1).
        n_categories: number of categories.
        activation_area: ``"annotated"`` (``docs/method.md`` §5) or ``"overlap"``
            (NetDissect-Lite's code).
        chunk_elements: memory bound of :func:`mask_pixels`.

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
        chunk_elements: int = 1 << 22,
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
        self.chunk_elements = int(chunk_elements)
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
    ) -> None:
        """Add one batch.

        Args:
            acts: ``(B, U, h, w)`` activations.
            pixel_labels: ``(B, D, sh, sw)`` label numbers, 0 = none (``D`` may be 0).
            image_labels: ``(B, E)`` whole-image label numbers, 0 = padding.
            present: ``(B, n_categories)`` from :func:`categories_present` (computed if None).
        """
        b, u, _, _ = acts.shape
        if u != self.units:
            raise ValueError(f"expected {self.units} units, got activations {tuple(acts.shape)}")
        device = self.intersection.device
        pixel = pixel_labels.to(device=device, dtype=torch.int64)
        whole = image_labels.to(device=device, dtype=torch.int64)
        depth, n_cat = pixel.shape[1], self.n_categories
        inter = self.intersection.view(-1)
        area = torch.zeros(b * u, dtype=torch.int64, device=device)
        hit = None
        if self.mode == "overlap":
            hit = torch.zeros((b * u, n_cat + 1), dtype=torch.int64, device=device)
        chunks = mask_pixels(acts.to(device).float(), self.thresholds, tuple(pixel.shape[-2:]),
                             self.chunk_elements)  # fmt: skip
        for bi, ui, y, x in chunks:
            key = bi * u + ui
            area.index_add_(0, key, torch.ones_like(key))
            if depth:
                labels = pixel[bi, :, y, x]  # (n, D)
                flat = (ui.unsqueeze(1) * self.label_space + labels)[labels > 0]
                inter.index_add_(0, flat, torch.ones_like(flat))
                if hit is not None:
                    rows = key.unsqueeze(1).expand_as(labels).reshape(-1)
                    hit.index_put_((rows, self.lut[labels].reshape(-1) + 1), hit.new_ones(()))
        area = area.view(b, u)
        for e in range(whole.shape[1]):  # whole-image labels: the full mask intersects them
            self.intersection.index_add_(1, whole[:, e], area.t())
        self.intersection[:, 0] = 0  # label 0 (unlabelled, padding) counts for nothing
        if self.mode == "annotated":
            if present is None:
                present = categories_present(pixel, whole, self.lut)
            weights = present.to(torch.float64)
        else:
            scalar = torch.zeros((b, n_cat + 1), dtype=torch.int64, device=device)
            scalar.scatter_(1, self.lut[whole] + 1, 1)
            weights = (hit.view(b, u, n_cat + 1) | scalar.unsqueeze(1))[..., 1:].to(torch.float64)
        # A[u, c] += sum_b |M_bu| * weight[b, (u,) c]; float64 sums of counts are exact
        if weights.dim() == 2:
            added = area.t().to(torch.float64) @ weights
        else:
            added = torch.einsum("bu,buc->uc", area.to(torch.float64), weights)
        self.activation_area += added.round().to(torch.int64)
