"""The result of a neuron embedding: semantic vectors with every setting that produced them.

:class:`NeuronEmbedding` is what the later steps load — the figures, the explorer, the KL
metric, and the student of static distillation — so it lives apart from the trainer that makes
it. Its queries are the paper's: nearest neurons (Fig. 2) and additive relations (Fig. 3).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import filenames
from ..checkpoint import atomic_save, check_format, load_artifact
from ..hooks import layer_channels, resolve_modules
from ..losses import pairwise_cosine

__all__ = ["NeuronEmbedding"]


@dataclass
class NeuronEmbedding:
    """Trained semantic vectors of a model's neurons, with the settings that produced them.

    Attributes:
        vectors: ``{layer: (C_l, K)}`` float tensors on the CPU.
        meta: ``arch``, ``layers``, ``channels``, ``dim`` (K), ``tau``,
            ``exclude_diagonal``, ``input_shape``, ``data``, ``training``, ``history``,
            ``library_version``.
    """

    vectors: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def layers(self) -> list[str]:
        return list(self.vectors)

    def digest(self) -> str:
        """A short SHA-256 of the layer names and vector values: equal iff the vectors are equal.

        Runs that use the vectors (static distillation) record it, so a checkpoint made with
        other vectors is never resumed.

        Example:
            >>> a = NeuronEmbedding({"l": torch.ones(2, 3)})
            >>> a.digest() == NeuronEmbedding({"l": torch.ones(2, 3)}).digest()
            True
            >>> a.digest() == NeuronEmbedding({"l": torch.zeros(2, 3)}).digest()
            False
        """
        sha = hashlib.sha256()
        for name in sorted(self.vectors):
            values = self.vectors[name].detach().to("cpu", torch.float32).contiguous()
            sha.update(f"{name}:{tuple(values.shape)};".encode())
            sha.update(values.numpy().tobytes())
        return sha.hexdigest()[:16]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the artifact atomically (one ``torch.save`` file)."""
        return atomic_save(
            {"format": filenames.EMBEDDING_FORMAT, "vectors": self.vectors, "meta": self.meta}, path
        )

    @classmethod
    def load(cls, path: str | os.PathLike, model: nn.Module | None = None) -> NeuronEmbedding:
        """Read an artifact; with ``model``, also check it fits (see :meth:`check_model`)."""
        state = load_artifact(path, "neuron embedding")
        check_format(state, filenames.EMBEDDING_FORMAT, path, "neuron embedding")
        emb = cls(dict(state["vectors"]), dict(state["meta"]))
        if model is not None:
            emb.check_model(model, source=str(path))
        return emb

    def check_model(self, model: nn.Module, source: str = "this embedding") -> None:
        """Raise ``ValueError`` unless ``model`` has every embedded layer with the same width.

        Widths are read from one dry forward pass at the artifact's recorded input shape.
        """
        try:
            resolve_modules(model, self.layers)
        except KeyError as exc:
            raise ValueError(
                f"{source} was learned for {self.meta.get('arch')} layers {self.layers}, "
                f"which this model does not have: {exc.args[0]}"
            ) from exc
        shape = self.meta.get("input_shape") or (3, 224, 224)
        found = layer_channels(model, self.layers, shape)
        wrong = {
            n: (found[n], v.shape[0]) for n, v in self.vectors.items() if found[n] != v.shape[0]
        }
        if wrong:
            detail = "; ".join(
                f"layer {n!r}: model has {m} channels, embedding has {e}"
                for n, (m, e) in wrong.items()
            )
            raise ValueError(
                f"{source} (learned for {self.meta.get('arch')}) does not fit this model: {detail}"
            )

    # -- queries --------------------------------------------------------------------------------
    def _layer(self, layer: str) -> np.ndarray:
        if layer not in self.vectors:
            raise KeyError(f"no layer {layer!r} in this embedding; layers: {self.layers}")
        return self.vectors[layer].double().numpy()

    def _check_unit(self, layer: str, unit: int) -> None:
        c = self._layer(layer).shape[0]
        if not 0 <= unit < c:
            raise IndexError(f"layer {layer!r} has units 0..{c - 1}, got {unit}")

    def similarity(self, layer: str) -> torch.Tensor:
        """``(C, C)`` cosine similarity of the layer's semantic vectors."""
        return pairwise_cosine(self.vectors[layer].double()).float()

    def _neighbours(
        self, layer: str, query: np.ndarray, k: int, exclude: set[int]
    ) -> list[tuple[int, float]]:
        data = self._layer(layer)
        k_all = min(len(data), k + len(exclude))
        from sklearn.neighbors import NearestNeighbors  # loaded on first query

        index = NearestNeighbors(n_neighbors=k_all, metric="cosine", algorithm="brute").fit(data)
        dist, idx = index.kneighbors(query[None, :])
        hits = [(int(i), float(1.0 - d)) for d, i in zip(dist[0], idx[0], strict=True)]
        return [(i, s) for i, s in hits if i not in exclude][:k]

    def nearest(self, layer: str, unit: int, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` neurons of ``layer`` whose vectors are closest to ``unit``'s (by cosine).

        Returns:
            ``[(unit_index, cosine), ...]`` sorted by decreasing cosine, ``unit`` itself excluded.

        Example:
            >>> emb = NeuronEmbedding({"l": torch.tensor([[1.0, 0], [0.9, 0.1], [0, 1]])})
            >>> [u for u, _ in emb.nearest("l", 0, k=2)]
            [1, 2]
        """
        self._check_unit(layer, unit)
        return self._neighbours(layer, self._layer(layer)[unit], k, {unit})

    def nearest_to(
        self, layer: str, vector: torch.Tensor | np.ndarray, k: int = 3, exclude=()
    ) -> list[tuple[int, float]]:
        """The ``k`` neurons of ``layer`` whose vectors are closest (by cosine) to ``vector``.

        Args:
            vector: ``(K,)`` a direction in the layer's semantic space, e.g. the mean vector of
                the units that share a concept.
            exclude: units left out of the answer.

        Returns:
            ``[(unit_index, cosine), ...]`` sorted by decreasing cosine.

        Example:
            >>> emb = NeuronEmbedding({"l": torch.tensor([[1.0, 0], [0.9, 0.1], [0, 1]])})
            >>> [u for u, _ in emb.nearest_to("l", torch.tensor([0.0, 1.0]), k=2)]
            [2, 1]
        """
        query = np.asarray(vector, dtype=np.float64).reshape(-1)
        width = self._layer(layer).shape[1]
        if query.shape != (width,):
            raise ValueError(f"layer {layer!r} has {width}-dim vectors, got {query.shape[0]}")
        return self._neighbours(layer, query, k, set(exclude))

    def additive(self, layer: str, a: int, b: int, k: int = 1) -> list[tuple[int, float]]:
        """Additive relation (paper Fig. 3): neurons nearest to ``s_a + s_b``, other than a and b.

        Returns:
            ``[(unit_index, cosine), ...]`` of the ``k`` best ``c``.

        Example:
            >>> emb = NeuronEmbedding({"l": torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, -1]])})
            >>> emb.additive("l", 0, 1)[0][0]
            2
        """
        self._check_unit(layer, a)
        self._check_unit(layer, b)
        data = self._layer(layer)
        return self._neighbours(layer, data[a] + data[b], k, {a, b})
