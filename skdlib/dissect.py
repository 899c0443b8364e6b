"""Network Dissection (Bau et al. 2017): the IoU of every unit with every Broden concept.

For each chosen layer, each unit (channel) ``k`` and each concept ``l`` (``METHOD.md`` §5):

1. threshold ``T_k``: the 0.995 quantile of the unit's activations over the whole data set and
   every spatial position (exact, streaming: :class:`skdlib.quantile.StreamingQuantile`);
2. mask ``M_k = upsample(A_k) > T_k`` (strict), the activation map upsampled to the segmentation
   size, bilinear with ``align_corners=False``;
3. over the data set: ``I[k, l] += |M_k ∩ L_l|`` (a label in several layers counts in each),
   ``G[l] += |L_l|`` (whole-image labels count as full masks), and the activation area
   ``A[k, c] += |M_k|`` on the images that carry a label of category ``c``;
4. ``IoU[k, l] = I / (A[k, primary(l)] + G[l] - I + 1e-10)``. A unit is *interpretable* when its
   best IoU exceeds 0.04.

``activation_area="overlap"`` replaces step 3's image set by NetDissect-Lite's code: ``|M_k|``
counts for category ``c`` only on images where the mask overlaps a label of ``c``.

Everything runs in torch on ``device`` (the GPU when present), batched over images, units and
labels, with no Python loop over images or units. A mask pixel needs one of its four bilinear
sources above ``T_k``, so :func:`mask_pixels` evaluates only the output blocks next to such
cells (a few percent of the upsampled maps at q = 0.995), in chunks of bounded memory, and the
counts are scattered with ``index_add_``. The data set is read twice (thresholds, then tally);
when the activations of the whole data set fit in ``cache_bytes`` they are kept from the first
pass instead of recomputed.

Example
-------
>>> model = torchvision.models.resnet18(weights="IMAGENET1K_V1")          # doctest: +SKIP
>>> result = dissect(model, ["layer3", "layer4"], "data/broden1_224")    # doctest: +SKIP
>>> result.interpretable("layer4"), result.best_concepts("layer4")[:2]   # doctest: +SKIP
(281, [('dog', 'object', 0.12...), ...])
>>> result.save("runs/dissect")                                          # doctest: +SKIP
"""

from __future__ import annotations

import csv
import functools
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .broden import BrodenDataset, collate_broden
from .checkpoint import atomic_save, load_artifact
from .hooks import capture, resolve_modules
from .quantile import StreamingQuantile, exact_quantile
from .runtime import resolve_device

__all__ = [
    "DEFAULT_QUANTILE",
    "INTERPRETABLE_IOU",
    "IoUTally",
    "DissectionResult",
    "dissect",
    "label_area",
    "categories_present",
    "mask_pixels",
]

DEFAULT_QUANTILE = 0.995
INTERPRETABLE_IOU = 0.04
IOU_EPS = 1e-10
RESULT_FORMAT = "skdlib.dissection/1"
AREA_MODES = ("annotated", "overlap")
THRESHOLD_METHODS = ("streaming", "exact")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
    """Network-Dissection counts of one layer, accumulated batch by batch (steps 2–3 above).

    Args:
        thresholds: ``(U,)`` per-unit thresholds ``T_k``.
        category_lut: ``(L,)`` int64, primary-category index of each label number (-1: none);
            ``L`` is the label space (largest number + 1).
        n_categories: number of categories.
        activation_area: ``"annotated"`` (METHOD.md) or ``"overlap"`` (NetDissect-Lite's code).
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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Clock:
    """Accumulates wall-clock seconds per named section (synchronising CUDA at boundaries)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        _sync(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            _sync(self.device)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class DissectionResult:
    """IoU of every unit of some layers with every concept of a Broden data set.

    Attributes:
        layers: the dissected layer names.
        iou: ``{layer: (U, N)}`` float64, ``N`` = number of concepts (columns follow
            :attr:`concept_numbers`).
        intersection: ``{layer: (U, N)}`` int64, ``Σ |M_k ∩ L_l|``.
        activation_area: ``{layer: (U, n_categories)}`` int64, ``Σ |M_k|`` per category.
        label_area: ``(N,)`` int64, ``Σ |L_l|``.
        thresholds: ``{layer: (U,)}`` float64, the per-unit quantile thresholds.
        concept_numbers, concept_names, concept_categories: per concept (column).
        categories: the category names (columns of :attr:`activation_area`).
        meta: settings (quantile, method, area mode, data set, image count, model, timings).
    """

    layers: list[str]
    iou: dict[str, torch.Tensor]
    intersection: dict[str, torch.Tensor]
    activation_area: dict[str, torch.Tensor]
    label_area: torch.Tensor
    thresholds: dict[str, torch.Tensor]
    concept_numbers: list[int]
    concept_names: list[str]
    concept_categories: list[str]
    categories: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    # -- queries --------------------------------------------------------------------------------
    def _check(self, layer: str) -> torch.Tensor:
        if layer not in self.iou:
            raise KeyError(f"layer {layer!r} was not dissected; layers: {self.layers}")
        return self.iou[layer]

    def concept_index(self, name_or_number: str | int) -> int:
        """Column of a concept given its name or unified number."""
        table = self.concept_numbers if isinstance(name_or_number, int) else self.concept_names
        try:
            return table.index(name_or_number)
        except ValueError:
            raise KeyError(f"no concept {name_or_number!r} in this dissection") from None

    def best(self, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Each unit's best concept: ``(column (U,) int64, IoU (U,) float64)``."""
        score, column = self._check(layer).max(dim=1)
        return column, score

    def best_concepts(self, layer: str) -> list[tuple[str, str, float]]:
        """``[(concept name, category, IoU), ...]`` for every unit of ``layer``, in unit order."""
        column, score = self.best(layer)
        return [
            (self.concept_names[c], self.concept_categories[c], float(s))
            for c, s in zip(column.tolist(), score.tolist(), strict=True)
        ]

    def interpretable(self, layer: str, threshold: float = INTERPRETABLE_IOU) -> int:
        """Number of units of ``layer`` whose best IoU exceeds ``threshold`` (0.04)."""
        return int((self.best(layer)[1] > threshold).sum())

    def summary(self, top: int = 3) -> str:
        """A short text report: per layer, units, interpretable units and the best units."""
        lines = [
            f"Network dissection: {self.meta.get('n_images')} images, {len(self.concept_names)} "
            f"concepts, quantile {self.meta.get('quantile')}"
        ]
        for layer in self.layers:
            column, score = self.best(layer)
            order = torch.argsort(score, descending=True)[:top].tolist()
            best = ", ".join(
                f"unit {u}: {self.concept_names[column[u]]} ({score[u]:.3f})" for u in order
            )
            lines.append(
                f"  {layer}: {self.interpretable(layer)}/{score.numel()} interpretable "
                f"(IoU > {INTERPRETABLE_IOU}); best {best}"
            )
        return "\n".join(lines)

    def tally_rows(self, layer: str) -> list[dict[str, Any]]:
        """Rows of the tally CSV of ``layer`` (NetDissect-Lite's columns), best units first.

        ``unit`` is the 0-based channel index (Lite writes 1-based). For each category ``c``:
        ``c-label`` (the unit's best concept in ``c``), ``c-truth`` (its label area),
        ``c-activation`` (the unit's activation area for ``c``), ``c-intersect`` and ``c-iou``.
        """
        iou = self._check(layer)
        rows = []
        column, score = self.best(layer)
        per_cat = {}
        for ci, cat in enumerate(self.categories):
            cols = [i for i, c in enumerate(self.concept_categories) if c == cat]
            if cols:
                sub = iou[:, cols]
                s, arg = sub.max(dim=1)
                per_cat[cat] = (ci, torch.tensor(cols)[arg], s)
        for unit in torch.argsort(score, descending=True, stable=True).tolist():
            c = int(column[unit])
            row: dict[str, Any] = {
                "unit": unit,
                "category": self.concept_categories[c],
                "label": self.concept_names[c],
                "score": f"{float(score[unit]):.6f}",
            }
            for cat in self.categories:
                if cat not in per_cat:
                    row.update({f"{cat}-{k}": "" for k in ("label", "truth", "activation")})
                    row.update({f"{cat}-intersect": "", f"{cat}-iou": ""})
                    continue
                ci, cols, s = per_cat[cat]
                col = int(cols[unit])
                row[f"{cat}-label"] = self.concept_names[col]
                row[f"{cat}-truth"] = int(self.label_area[col])
                row[f"{cat}-activation"] = int(self.activation_area[layer][unit, ci])
                row[f"{cat}-intersect"] = int(self.intersection[layer][unit, col])
                row[f"{cat}-iou"] = f"{float(s[unit]):.6f}"
            rows.append(row)
        return rows

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``folder/dissection.pt`` (everything, atomically) and one ``tally_<layer>.csv``
        per layer (human-readable, in the spirit of NetDissect-Lite's ``tally.csv``).

        Returns the path of ``dissection.pt``; :meth:`load` takes it or the folder.
        """
        folder = Path(folder)
        path = atomic_save(
            {
                "format": RESULT_FORMAT,
                "layers": self.layers,
                "iou": self.iou,
                "intersection": self.intersection,
                "activation_area": self.activation_area,
                "label_area": self.label_area,
                "thresholds": self.thresholds,
                "concept_numbers": self.concept_numbers,
                "concept_names": self.concept_names,
                "concept_categories": self.concept_categories,
                "categories": self.categories,
                "meta": self.meta,
            },
            folder / "dissection.pt",
        )
        for layer in self.layers:
            rows = self.tally_rows(layer)
            name = layer.replace(os.sep, "_")
            with open(folder / f"tally_{name}.csv", "w", newline="") as handle:
                fields = ["unit", "category", "label", "score"] + [
                    f"{cat}-{k}"
                    for cat in self.categories
                    for k in ("label", "truth", "activation", "intersect", "iou")
                ]
                writer = csv.DictWriter(handle, fields)
                writer.writeheader()
                writer.writerows(rows)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> DissectionResult:
        """Read a result written by :meth:`save` (the folder or its ``dissection.pt``)."""
        path = Path(path)
        if path.is_dir():
            path = path / "dissection.pt"
        state = load_artifact(path, "dissection result")
        if state.get("format") != RESULT_FORMAT:
            raise ValueError(
                f"{path} is not a dissection result (format {state.get('format')!r}, expected "
                f"{RESULT_FORMAT!r})"
            )
        state.pop("format")
        return cls(**state)


def _normalise(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (images.float().div_(255.0) - mean) / std


def _layer_acts(acts: Mapping[str, torch.Tensor], layers: Sequence[str]) -> list[torch.Tensor]:
    out = []
    for name in layers:
        if name not in acts:
            raise RuntimeError(f"layer {name!r} was not called during the forward pass")
        a = acts[name]
        if a.dim() != 4:
            raise ValueError(
                f"layer {name!r} gives outputs of shape {tuple(a.shape)}; dissection needs "
                "(batch, units, height, width) maps: choose a convolutional layer"
            )
        if torch.isnan(a).any():
            raise ValueError(f"layer {name!r} produced NaN activations")
        out.append(a.detach())
    return out


def dissect(
    model: nn.Module,
    layers: Sequence[str],
    dataset: BrodenDataset | str | os.PathLike,
    *,
    quantile: float = DEFAULT_QUANTILE,
    threshold_method: str = "streaming",
    activation_area: str = "annotated",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    batch_size: int = 32,
    num_workers: int = 0,
    device: str | torch.device | None = None,
    cache_bytes: int = 1 << 30,
    chunk_elements: int = 1 << 22,
    model_name: str | None = None,
    progress: bool = True,
) -> DissectionResult:
    """Dissect the units of ``layers`` of ``model`` on a Broden data set.

    Args:
        model: any ``nn.Module`` taking ``(B, 3, H, W)`` float images; it is moved to ``device``
            and run in eval mode without gradients (its mode is restored afterwards).
        layers: module names (``model.named_modules()`` keys) whose outputs are
            ``(B, units, h, w)``; e.g. ``["layer1", "layer2", "layer3", "layer4"]`` for ResNets.
        dataset: a :class:`~skdlib.broden.BrodenDataset` or the path of a Broden folder.
        quantile: per-unit threshold quantile (0.995 in Network Dissection). Note that a unit
            whose top ``1 - quantile`` of activations exactly covers a concept of pixel coverage
            ``f`` can reach at most ``min(f, 1 - q) / max(f, 1 - q)``: concepts must be rare.
        threshold_method: ``"streaming"`` (exact, keeps the top ``1 - q`` tail; default) or
            ``"exact"`` (keeps every activation; for checks on small data).
        activation_area: ``"annotated"`` (METHOD.md §5; default) or ``"overlap"``
            (NetDissect-Lite's code), see the module docstring.
        mean, std: the model's own input normalisation, applied to the ``[0, 1]`` RGB images:
            ImageNet's by default, as torchvision models expect (NetDissect-Lite instead uses a
            BGR mean and a 1/(255·0.224) scale for its Caffe-style models).
        batch_size, num_workers: data loading.
        device: ``None``/``"auto"`` for CUDA when present, else the CPU.
        cache_bytes: keep the activations of the first pass for the second when they fit in this
            many bytes (0: always run the model twice).
        chunk_elements: memory bound of the tally (upsampled values per chunk).
        model_name: recorded in the result.
        progress: tqdm bars.

    Returns:
        A :class:`DissectionResult`; ``result.meta["seconds"]`` splits the time into ``data``,
        ``forward``, ``threshold`` and ``tally``.

    Example:
        >>> from skdlib.data import make_synthetic_broden, planted_concept_model
        >>> root = make_synthetic_broden("/tmp/skd-doc/b4", 16, size=64, progress=False)
        >>> r = dissect(planted_concept_model(root), ["units"], root, quantile=0.5, progress=False)
        >>> r.best_concepts("units")[0][:2]
        ('red', 'color')
    """
    if threshold_method not in THRESHOLD_METHODS:
        raise ValueError(
            f"threshold_method must be one of {THRESHOLD_METHODS}, got {threshold_method!r}"
        )
    if activation_area not in AREA_MODES:
        raise ValueError(f"activation_area must be one of {AREA_MODES}, got {activation_area!r}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("choose at least one layer to dissect")
    resolve_modules(model, layers)
    ds = dataset if isinstance(dataset, BrodenDataset) else BrodenDataset(dataset)
    if len(ds) == 0:
        raise ValueError(f"{ds!r} has no images to dissect")
    device = resolve_device(device)
    loader = DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=collate_broden,
        pin_memory=device.type == "cuda",
    )
    mean_t = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    clock = _Clock(device)
    was_training = model.training
    model.to(device).eval()

    def batches(desc: str):
        it = iter(tqdm(loader, desc=desc, unit="batch", disable=not progress))
        while True:
            with clock("data"):
                batch = next(it, None)
            if batch is None:
                return
            yield batch

    def forward(images: torch.Tensor) -> list[torch.Tensor]:
        with clock("forward"), torch.no_grad(), capture(model, layers, detach=True) as acts:
            model(_normalise(images.to(device, non_blocking=True), mean_t, std_t))
            return _layer_acts(acts, layers)

    try:
        # -- pass 1: thresholds ------------------------------------------------------------------
        estimators: list[Any] = []
        cache: list[list[torch.Tensor]] | None = None
        for batch in batches("dissect 1/2: thresholds"):
            acts = forward(batch["image"])
            if not estimators:
                per_image = sum(a[0].numel() * a.element_size() for a in acts)
                cache = [[] for _ in layers] if per_image * len(ds) <= cache_bytes else None
                for a in acts:
                    total = len(ds) * a.shape[2] * a.shape[3]
                    if threshold_method == "streaming":
                        estimators.append(StreamingQuantile(quantile, a.shape[1], total, device))
                    else:
                        estimators.append([])
            with clock("threshold"):
                for i, a in enumerate(acts):
                    values = a.transpose(0, 1).reshape(a.shape[1], -1)
                    if threshold_method == "streaming":
                        estimators[i].update(values)
                    else:
                        estimators[i].append(values)
                    if cache is not None:
                        cache[i].append(a)
        with clock("threshold"):
            if threshold_method == "streaming":
                thresholds = [est.result() for est in estimators]
            else:
                thresholds = [exact_quantile(torch.cat(v, 1), quantile) for v in estimators]

        # -- pass 2: tally -----------------------------------------------------------------------
        lut = ds.category_lut().to(device)
        n_cat = len(ds.categories)
        tallies = [
            IoUTally(t.to(device), lut, n_cat, activation_area, chunk_elements) for t in thresholds
        ]
        areas = torch.zeros(ds.label_space, dtype=torch.int64, device=device)
        for step, batch in enumerate(batches("dissect 2/2: tally")):
            if cache is not None:
                acts = [c[step] for c in cache]
            else:
                acts = forward(batch["image"])
            with clock("tally"):
                pixel = batch["pixel_labels"].to(device, non_blocking=True).long()
                whole = batch["image_labels"].to(device, non_blocking=True)
                areas += label_area(pixel, whole, ds.label_space)
                present = categories_present(pixel, whole, lut)
                for tally, a in zip(tallies, acts, strict=True):
                    tally.update(a, pixel, whole, present)
    finally:
        model.train(was_training)

    numbers = [c.number for c in ds.concepts]
    cols = torch.tensor(numbers, dtype=torch.int64)
    cat_index = {c: i for i, c in enumerate(ds.categories)}
    concept_cat = torch.tensor([cat_index[c.category] for c in ds.concepts], dtype=torch.int64)
    g = areas.cpu()[cols]
    result = DissectionResult(
        layers=layers,
        iou={},
        intersection={},
        activation_area={},
        label_area=g,
        thresholds={},
        concept_numbers=numbers,
        concept_names=[c.name for c in ds.concepts],
        concept_categories=[c.category for c in ds.concepts],
        categories=list(ds.categories),
        meta={
            "quantile": quantile,
            "threshold_method": threshold_method,
            "activation_area": activation_area,
            "mean": list(mean),
            "std": list(std),
            "data": str(ds.root),
            "split": ds.split,
            "n_images": len(ds),
            "model_name": model_name or type(model).__name__.lower(),
            "device": str(device),
            "cached_activations": cache is not None,
            "seconds": dict(clock.seconds),
        },
    )
    for layer, tally, t in zip(layers, tallies, thresholds, strict=True):
        inter = tally.intersection.cpu()[:, cols]
        area = tally.activation_area.cpu()
        union = area[:, concept_cat] + g.unsqueeze(0) - inter
        result.intersection[layer] = inter
        result.activation_area[layer] = area
        result.iou[layer] = inter.double() / (union.double() + IOU_EPS)
        result.thresholds[layer] = t.cpu()
    return result
