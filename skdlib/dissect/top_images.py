"""The images on which each unit fires most, kept while the first pass of a dissection runs.

Network Dissection shows a unit by its *top images*: the ``k`` images with the largest spatial
maximum of its activation map (NetDissect-Lite's ``maxfeature``), each drawn with the unit's
mask. :class:`TopImagesTracker` keeps them for every layer during the first pass of
:func:`~skdlib.dissect.dissect`, from the activations that pass computes anyway: per batch, one
spatial maximum per (image, unit), a merge of the ``k`` kept and the batch's candidates per unit
(a stable sort, so equal scores keep the earlier image), and a copy of the maps of the images that
enter. Keeping the ``k`` activation maps per unit means the report (:mod:`skdlib.viz`) draws the
masks with no second forward pass; they are small: ``k × units × h × w`` floats per layer, about
12 MB for ResNet18's four stages on Broden 224 at ``k = 8``
(``(64·56² + 128·28² + 256·14² + 512·7²)·8·4`` bytes).

The outcome, a :class:`TopImages`, is saved in the dissection's checkpoint once the first pass
ends (a resumed run has the same top images as an uninterrupted one) and with its
:class:`~skdlib.dissect.DissectionResult`.

Example:
    >>> t = TopImagesTracker(["l"], k=2)
    >>> acts = torch.zeros(3, 1, 2, 2); acts[:, 0, 0, 0] = torch.tensor([1.0, 3.0, 2.0])
    >>> t.update([acts], torch.tensor([0, 1, 2]))
    >>> top = t.finish(["a.jpg", "b.jpg", "c.jpg"])
    >>> top.score["l"].tolist(), top.unit_files("l", 0)
    ([[3.0, 2.0]], ['b.jpg', 'c.jpg'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .rules import DEFAULT_TOP_K

__all__ = ["DEFAULT_TOP_K", "TopImages", "TopImagesTracker"]


@dataclass
class TopImages:
    """The top images of every unit of some layers, with the unit's activation maps on them.

    Attributes:
        k: the number asked for; a layer keeps ``min(k, number of images)`` per unit.
        files: the image files (relative to the Broden folder's ``images/``) that are the top
            image of some unit, in data-set order.
        score: ``{layer: (U, k) float32}``, each unit's spatial maximum on its top images,
            descending (equal scores: the earlier image first).
        image: ``{layer: (U, k) int64}``, positions in :attr:`files`.
        maps: ``{layer: (U, k, h, w) float32}``, the unit's activation map on each top image.
    """

    k: int
    files: list[str]
    score: dict[str, torch.Tensor]
    image: dict[str, torch.Tensor]
    maps: dict[str, torch.Tensor]

    def unit_files(self, layer: str, unit: int) -> list[str]:
        """The files of ``unit``'s top images, best first."""
        return [self.files[i] for i in self.image[layer][unit].tolist()]

    def state(self) -> dict[str, Any]:
        """Tensors and plain values only (``torch.load(weights_only=True)`` reads them)."""
        return {
            "k": self.k,
            "files": list(self.files),
            "score": dict(self.score),
            "image": dict(self.image),
            "maps": dict(self.maps),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TopImages:
        """The inverse of :meth:`state`."""
        return cls(
            k=int(state["k"]),
            files=list(state["files"]),
            score=dict(state["score"]),
            image=dict(state["image"]),
            maps=dict(state["maps"]),
        )


class TopImagesTracker:
    """Keeps, per unit of each layer, the ``k`` images with the largest spatial maximum so far.

    Args:
        layers: the layer names, in the order of the activations given to :meth:`update`.
        k: images per unit (``>= 1``).

    Feed it every batch in data-set order; :meth:`finish` then names the images.
    """

    def __init__(self, layers: Sequence[str], k: int = DEFAULT_TOP_K) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.layers, self.k = list(layers), int(k)
        self.score: list[torch.Tensor | None] = [None] * len(self.layers)
        self.image: list[torch.Tensor | None] = [None] * len(self.layers)
        self.maps: list[torch.Tensor | None] = [None] * len(self.layers)

    def update(self, acts: Sequence[torch.Tensor], index: torch.Tensor) -> None:
        """Merge one batch: ``acts`` ``[(B, U, h, w)]`` per layer, ``index`` ``(B,)`` the
        images' positions in the data set (increasing from batch to batch)."""
        for i, a in enumerate(acts):
            a = a.detach()
            units, batch = a.shape[1], a.shape[0]
            peak = a.flatten(2).amax(2).float().T  # (U, B)
            idx = index.to(device=peak.device, dtype=torch.int64).expand(units, batch)
            maps = a.transpose(0, 1)  # (U, B, h, w), a view
            kept = 0 if self.score[i] is None else self.score[i].shape[1]
            score = peak if kept == 0 else torch.cat([self.score[i], peak], 1)
            image = idx if kept == 0 else torch.cat([self.image[i], idx], 1)
            order = score.sort(dim=1, descending=True, stable=True).indices[:, : self.k]
            rows = torch.arange(units, device=peak.device)[:, None]
            new = maps[rows, (order - kept).clamp(min=0)].float()  # (U, k, h, w)
            if kept:
                old = self.maps[i][rows, order.clamp(max=kept - 1)]
                new = torch.where((order >= kept)[..., None, None], new, old)
            self.score[i], self.image[i] = score.gather(1, order), image.gather(1, order)
            self.maps[i] = new

    def finish(self, files: Sequence[str]) -> TopImages:
        """The top images on the CPU, named by ``files`` (the data set's image file of every
        position, e.g. ``[r.image for r in ds.records]``)."""
        if any(s is None for s in self.score):
            raise ValueError("no batch was given to the tracker: the data set has no images")
        used, inverse = torch.unique(torch.cat([m.reshape(-1) for m in self.image]).cpu(),
                                     return_inverse=True)  # fmt: skip
        image, start = {}, 0
        for layer, kept in zip(self.layers, self.image, strict=True):
            n = kept.numel()
            image[layer] = inverse[start : start + n].reshape(kept.shape)
            start += n
        return TopImages(
            k=self.k,
            files=[files[i] for i in used.tolist()],
            score={name: s.cpu() for name, s in zip(self.layers, self.score, strict=True)},
            image=image,
            maps={name: m.cpu() for name, m in zip(self.layers, self.maps, strict=True)},
        )
