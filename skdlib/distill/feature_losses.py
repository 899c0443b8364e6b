"""The feature terms of the registered methods, in the one call shape the trainer uses.

A method's ``loss`` (:mod:`skdlib.distill.methods`) takes the student's tapped features, the
targets — the teacher's features on the same batch, or for a static method the teacher's
semantic vectors — and the run's :class:`~skdlib.distill.DistillConfig`, each mapping
``{hook name: tensor}``, and returns a scalar. The tensor losses themselves live in
:mod:`skdlib.distill.baselines` and :mod:`skdlib.losses`; these adapt them.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> s, t = torch.randn(4, 8, 2, 2, generator=g), torch.randn(4, 8, 2, 2, generator=g)
    >>> bool(sp({"layer3": s}, {"layer3": t}, None) > 0)
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch

from ..losses import skd_loss_over_layers
from .baselines import at_loss_sum, pkt_loss, rkd_loss, sp_loss

if TYPE_CHECKING:
    from .config import DistillConfig

__all__ = ["skd", "sp", "rkd", "at", "pkt"]

Features = Mapping[str, torch.Tensor]


def _only(features: Features) -> torch.Tensor:
    (value,) = features.values()
    return value


def skd(student: Features, vectors: Features, config: DistillConfig) -> torch.Tensor:
    """SKD (Eq. 2–3): the student's activation similarities against the teacher's vectors',
    per layer paired by name, at the config's temperature."""
    return skd_loss_over_layers(student, vectors, config.skd_tau, config.skd_exclude_diagonal)


def sp(student: Features, teacher: Features, config: DistillConfig) -> torch.Tensor:
    """Similarity-preserving KD on one tapped tensor each (:func:`baselines.sp_loss`)."""
    return sp_loss(_only(student), _only(teacher))


def rkd(student: Features, teacher: Features, config: DistillConfig) -> torch.Tensor:
    """Relational KD, distance and angle (:func:`baselines.rkd_loss`)."""
    return rkd_loss(_only(student), _only(teacher))


def at(student: Features, teacher: Features, config: DistillConfig) -> torch.Tensor:
    """Attention transfer summed over the tapped pairs (:func:`baselines.at_loss_sum`)."""
    return at_loss_sum(student, teacher)


def pkt(student: Features, teacher: Features, config: DistillConfig) -> torch.Tensor:
    """Probabilistic knowledge transfer (:func:`baselines.pkt_loss`)."""
    return pkt_loss(_only(student), _only(teacher))
