"""Do semantic neighbours mean the same concept? Two counts over a layer, each against chance.

Network Dissection names every neuron's best concept (:meth:`DissectionResult.best_concepts`).
If the semantic vectors hold concept structure, a neuron's nearest neighbours by vector should
often share that label. Two measures, both with the cosine similarity of the vectors and both
read against a baseline computed from the same labels:

* :func:`nearest_concept_agreement` — how often the nearest neuron (itself excluded) has the same
  best concept, against a random other neuron of the layer. The baseline is exact, not sampled:
  unit ``i`` with label ``l`` meets a random partner of label ``l`` with probability
  ``(n_l - 1) / (C - 1)``.
* :func:`knn_concept_purity` — the mean fraction of each neuron's ``k`` nearest neighbours that
  share its best concept, against the same neighbour graph with the labels shuffled among the
  neurons (mean over ``shuffles`` permutations).

Both are the numbers behind the semantic map: a map whose colours gather shows high purity.
:func:`concept_structure` evaluates both for a layer of an embedding and a dissection.

Example:
    >>> v = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> nearest_concept_agreement(v, ["red", "red", "sky", "sky"])
    {'nearest': 1.0, 'random': 0.3333333333333333, 'units': 4}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
import torch

from .result import DissectionResult

__all__ = ["nearest_concept_agreement", "knn_concept_purity", "concept_structure"]


def _neighbours(vectors: torch.Tensor, k: int) -> np.ndarray:
    """``(C, k)`` indices of each row's ``k`` most cosine-similar other rows, nearest first."""
    v = vectors.detach().double().cpu().numpy()
    if v.ndim != 2:
        raise ValueError(f"vectors must be (C, K), got shape {tuple(v.shape)}")
    c = v.shape[0]
    if not 1 <= k < c:
        raise ValueError(f"k must be in [1, {c - 1}] for {c} units, got {k}")
    from sklearn.neighbors import NearestNeighbors  # loaded on first query

    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(v)
    _, index = nn.kneighbors(v)
    out = np.empty((c, k), np.int64)
    for i, row in enumerate(index):  # drop the unit itself, wherever a tie placed it
        others = row[row != i]
        out[i] = others[:k]
    return out


def _codes(vectors: torch.Tensor, labels: Sequence[Hashable]) -> np.ndarray:
    """Labels as small integers, after checking that there is one ``(K,)`` vector per label."""
    if vectors.dim() != 2:
        raise ValueError(f"vectors must be (C, K), got shape {tuple(vectors.shape)}")
    c = int(vectors.shape[0])
    if len(labels) != c:
        raise ValueError(f"got {len(labels)} labels for {c} units: give one label per unit")
    lookup: dict[Hashable, int] = {}
    return np.array([lookup.setdefault(label, len(lookup)) for label in labels], np.int64)


def nearest_concept_agreement(
    vectors: torch.Tensor, labels: Sequence[Hashable]
) -> dict[str, float]:
    """How often a neuron's nearest neighbour by cosine shares its label, and the chance of that.

    Args:
        vectors: ``(C, K)`` semantic vectors of one layer.
        labels: ``C`` labels, e.g. each unit's best concept name.

    Returns:
        ``{"nearest": fraction, "random": expected fraction for a uniformly random other unit,
        "units": C}``.

    Example:
        >>> v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
        >>> nearest_concept_agreement(v, ["a", "a", "b"])["nearest"]
        0.0
    """
    c = int(vectors.shape[0])
    codes = _codes(vectors, labels)
    nearest = _neighbours(vectors, 1)[:, 0]
    counts = np.bincount(codes)
    return {
        "nearest": float(np.mean(codes[nearest] == codes)),
        "random": float(np.mean((counts[codes] - 1) / (c - 1))),
        "units": c,
    }


def knn_concept_purity(
    vectors: torch.Tensor,
    labels: Sequence[Hashable],
    k: int = 5,
    shuffles: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """Mean share of each neuron's ``k`` nearest neighbours (cosine) carrying its label.

    The baseline keeps the neighbour graph and permutes the labels among the units, ``shuffles``
    times (seeded): what the purity would be if the vectors knew nothing of the labels.

    Args:
        vectors: ``(C, K)``; labels: ``C`` labels; k: neighbours per unit (``1 <= k < C``).

    Returns:
        ``{"purity": value, "shuffled": mean over permutations, "shuffled_std": their std,
        "k": k}``.

    Example:
        >>> v = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> knn_concept_purity(v, ["red", "red", "sky", "sky"], k=1)["purity"]
        1.0
    """
    if shuffles < 1:
        raise ValueError(f"shuffles must be >= 1, got {shuffles}")
    codes = _codes(vectors, labels)
    graph = _neighbours(vectors, k)

    def purity(lab: np.ndarray) -> float:
        return float(np.mean(lab[graph] == lab[:, None]))

    rng = np.random.default_rng(seed)
    shuffled = [purity(rng.permutation(codes)) for _ in range(shuffles)]
    return {
        "purity": purity(codes),
        "shuffled": float(np.mean(shuffled)),
        "shuffled_std": float(np.std(shuffled)),
        "k": k,
    }


def concept_structure(
    vectors: torch.Tensor, dissection: DissectionResult, layer: str, k: int = 5
) -> dict[str, float]:
    """Both measures for one layer: labels are the units' best concepts in ``dissection``.

    Args:
        vectors: ``(C, K)`` vectors of ``layer`` (e.g. ``emb.vectors[layer]``).
        dissection: a dissection of the same network; ``layer`` must have ``C`` units.
        k: neighbours of the purity.

    Returns:
        ``{"nn_agreement", "nn_random", "knn_purity", "knn_shuffled", "k", "units",
        "concepts"}`` where ``concepts`` counts the distinct best concepts.
    """
    names = [name for name, _, _ in dissection.best_concepts(layer)]
    if len(names) != vectors.shape[0]:
        raise ValueError(
            f"layer {layer!r}: {vectors.shape[0]} vectors but {len(names)} dissected units; "
            "were the embedding and the dissection made from the same network?"
        )
    agreement = nearest_concept_agreement(vectors, names)
    purity = knn_concept_purity(vectors, names, k=k)
    return {
        "nn_agreement": agreement["nearest"],
        "nn_random": agreement["random"],
        "knn_purity": purity["purity"],
        "knn_shuffled": purity["shuffled"],
        "k": k,
        "units": agreement["units"],
        "concepts": len(Counter(names)),
    }
