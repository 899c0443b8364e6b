"""Search neurons by concept: which neurons *see* a concept, and which are *near* it (see
docs/method.md §2.3).

Network Dissection gives each neuron a best concept (the Broden concept its activation masks
overlap most, by IoU). That answers "which neurons see *dog*?": the units whose best concept is
*dog*, ranked by IoU. The semantic vectors answer a second question that dissection cannot: a
concept has a **direction** in a layer's semantic space — the mean of the unit-normalised vectors
of its units — and the neurons nearest to that direction are the ones whose activation structure
resembles theirs, including neurons whose own best concept is something else (or nothing at
all). Those are "the neurons *near* dog".

A concept table is ``{layer: [(concept label, IoU) for each unit]}``; :func:`concept_table`
builds it from a :class:`~skdlib.dissect.DissectionResult`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from ..embedding import NeuronEmbedding

__all__ = [
    "ConceptTable",
    "concept_table",
    "concept_options",
    "units_seeing",
    "concept_direction",
    "units_near",
]

#: ``{layer: [(concept label, IoU) for each unit]}``, e.g. a dissection's best concepts.
ConceptTable = Mapping[str, Sequence[tuple[str, float]]]


def concept_table(dissection) -> dict[str, list[tuple[str, float]]]:
    """Best concept of every unit of a :class:`~skdlib.dissect.DissectionResult`, labelled
    ``"name (category)"``, as a :data:`ConceptTable`."""
    return {
        layer: [(f"{name} ({cat})", iou) for name, cat, iou in dissection.best_concepts(layer)]
        for layer in dissection.layers
    }


def concept_options(table: ConceptTable) -> list[str]:
    """Every concept that is some unit's best concept in some layer, most frequent first.

    Example:
        >>> concept_options({"l": [("red", 0.1), ("sky", 0.2), ("red", 0.05)]})
        ['red', 'sky']
    """
    counts = Counter(label for rows in table.values() for label, _ in rows)
    return sorted(counts, key=lambda label: (-counts[label], label))


def units_seeing(table: ConceptTable, layer: str, concept: str) -> list[tuple[int, float]]:
    """The units of ``layer`` whose best concept is ``concept``, by decreasing IoU.

    Returns:
        ``[(unit, IoU), ...]``; empty when no unit of ``layer`` has that best concept.

    Example:
        >>> units_seeing({"l": [("red", 0.1), ("sky", 0.2), ("red", 0.3)]}, "l", "red")
        [(2, 0.3), (0, 0.1)]
    """
    rows = table.get(layer, [])
    hits = [(unit, float(iou)) for unit, (label, iou) in enumerate(rows) if label == concept]
    return sorted(hits, key=lambda hit: (-hit[1], hit[0]))


def concept_direction(vectors: torch.Tensor, units: Sequence[int]) -> torch.Tensor:
    """The direction of a concept in a layer's semantic space: the mean of its units'
    unit-normalised vectors (cosine geometry, so no unit counts more for a longer vector).

    Args:
        vectors: ``(C, K)`` the layer's semantic vectors.
        units: the concept's units (at least one).

    Returns:
        ``(K,)`` float64.

    Example:
        >>> concept_direction(torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, 5.0]]), [0, 1])
        tensor([0.5000, 0.5000], dtype=torch.float64)
    """
    if len(units) == 0:
        raise ValueError("a concept direction needs at least one unit")
    return F.normalize(vectors[list(units)].double(), dim=1).mean(0)


def units_near(
    emb: NeuronEmbedding, table: ConceptTable, layer: str, concept: str, k: int = 6
) -> list[tuple[int, float]]:
    """The ``k`` units of ``layer`` nearest (by cosine) to ``concept``'s direction.

    The concept's own units are included: they are usually, but not always, among the nearest.

    Returns:
        ``[(unit, cosine), ...]``, empty when no unit of ``layer`` has ``concept`` as best concept.
    """
    seeing = [unit for unit, _ in units_seeing(table, layer, concept)]
    if not seeing:
        return []
    return emb.nearest_to(layer, concept_direction(emb.vectors[layer], seeing), k=k)
