"""The outcome of a dissection: every unit's IoU with every concept, with its counts.

:class:`DissectionResult` answers the questions asked of a dissection (each unit's best concept,
how many units are interpretable), saves itself as one ``dissection.pt`` plus a
NetDissect-Lite-style ``tally_<layer>.csv`` per layer, and loads back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import filenames
from ..checkpoint import atomic_save, atomic_write_text, check_format, csv_text, load_artifact
from .rules import INTERPRETABLE_IOU
from .top_images import TopImages

__all__ = ["DissectionResult"]


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
        top_images: each unit's top images and its maps on them
            (:class:`~skdlib.dissect.top_images.TopImages`, what the report draws), or ``None``
            (``dissect(top_k=0)``, or a file of format 1, written before they were kept).
        checkpoint: the checkpoint file of the dissection that made this result
            (``dissect(checkpoint=...)``), deleted by :meth:`save` once the result is written;
            not saved itself.
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
    top_images: TopImages | None = field(default=None, repr=False)
    checkpoint: Path | None = field(default=None, repr=False, compare=False)

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

        Returns the path of ``dissection.pt``; :meth:`load` takes it or the folder. Then the
        dissection's checkpoint (:attr:`checkpoint`), if any, is deleted: it is no longer needed.
        """
        folder = Path(folder)
        path = atomic_save(
            {
                "format": filenames.DISSECTION_FORMAT,
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
                "top_images": None if self.top_images is None else self.top_images.state(),
            },
            folder / filenames.DISSECTION,
        )
        for layer in self.layers:
            name = layer.replace(os.sep, "_")
            tally = filenames.TALLY_CSV.format(layer=name)
            atomic_write_text(folder / tally, csv_text(self.tally_rows(layer)))
        if self.checkpoint is not None:
            Path(self.checkpoint).unlink(missing_ok=True)
            self.checkpoint = None
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> DissectionResult:
        """Read a result written by :meth:`save` (the folder or its ``dissection.pt``).

        A file of format version 1 (before top images were kept) loads with
        ``top_images=None``; a report of it asks for the dissection to be run again.
        """
        path = Path(path)
        if path.is_dir():
            path = path / filenames.DISSECTION
        state = load_artifact(path, "dissection result")
        first = filenames.DISSECTION_FORMAT.rpartition("/")[0] + "/1"
        if state.get("format") != first:
            check_format(state, filenames.DISSECTION_FORMAT, path, "dissection result")
        state.pop("format")
        top = state.pop("top_images", None)
        return cls(**state, top_images=None if top is None else TopImages.from_state(top))
