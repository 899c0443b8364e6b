"""The trainable semantic vectors: one ``(C_l, K)`` matrix per embedded layer."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SemanticVectors"]


class SemanticVectors(nn.Module):
    """One trainable ``(C_l, K)`` matrix per layer, initialised uniformly on the unit sphere.

    The paper only says "randomly initialise". Only directions matter to the cosine, and unit rows
    make the paper's learning rate of 0.1 a step of sensible size (the gradient of a cosine scales
    as ``1 / |s|``).

    Layer names may contain dots (``"layer4.1.conv2"``), so the matrices live in a
    ``ParameterList`` in the order of :attr:`layer_names`; index by name with ``vectors[name]``.

    Example:
        >>> s = SemanticVectors({"layer1": 64, "layer2": 128}, dim=16, seed=0)
        >>> s["layer2"].shape
        torch.Size([128, 16])
    """

    def __init__(self, channels: Mapping[str, int], dim: int = 16, seed: int = 0) -> None:
        super().__init__()
        if not channels:
            raise ValueError("SemanticVectors needs at least one layer")
        self.layer_names = list(channels)
        self.channels = {name: int(c) for name, c in channels.items()}
        self.dim = int(dim)
        generator = torch.Generator().manual_seed(seed)
        self.matrices = nn.ParameterList(
            nn.Parameter(F.normalize(torch.randn(c, self.dim, generator=generator), dim=1))
            for c in self.channels.values()
        )

    def __getitem__(self, name: str) -> nn.Parameter:
        return self.matrices[self.layer_names.index(name)]

    def as_dict(self) -> dict[str, torch.Tensor]:
        """``{layer: (C_l, K)}`` of the live parameters (gradients flow)."""
        return dict(zip(self.layer_names, self.matrices, strict=True))
