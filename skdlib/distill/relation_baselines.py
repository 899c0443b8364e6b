"""Relation-based losses of Table 1 beyond SP and RKD: FSP and CC, as tensor functions.

Both follow the CRD benchmark's code (RepDistiller's ``distiller_zoo``):

* **FSP** (Yim et al. 2017) — the "flow of solution procedure" matrices between consecutive
  feature maps, ``G[j, i] = mean_{hw} top_j · bottom_i``, matched by squared error. Used only in
  FSP's initialisation stage (its main stage is plain CE in RepDistiller).
* **CC** (Peng et al. 2019) in RepDistiller's form: ``Δ = |e_s − e_t|`` of the two linear
  embeddings, ``mean_i Σ_d Δ_i,d · Δ_{i+1},d`` over consecutive samples of the batch — not the
  paper's Gaussian-kernel correlation (γ 0.4, order 2), which RepDistiller does not use.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["fsp_matrices", "fsp_loss", "cc_loss"]


def fsp_matrices(maps: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``[(B, C_0, H_0, W_0), ...] -> [(B, C_1, C_0), (B, C_2, C_1), ...]``: for consecutive
    ``bottom = maps[i]``, ``top = maps[i + 1]`` (the one with the larger side average-pooled to
    the other's, square), ``G[b, j, i] = mean_{hw} top[b, j] · bottom[b, i]``.

    Example:
        >>> [tuple(g.shape) for g in fsp_matrices([torch.ones(2, 3, 8, 8), torch.ones(2, 5, 4, 4)])]
        [(2, 5, 3)]
    """
    out = []
    for bottom, top in zip(maps[:-1], maps[1:], strict=True):
        hb, ht = bottom.shape[2], top.shape[2]
        if hb > ht:
            bottom = F.adaptive_avg_pool2d(bottom, (ht, ht))
        elif hb < ht:
            top = F.adaptive_avg_pool2d(top, (hb, hb))
        b = bottom.reshape(bottom.shape[0], bottom.shape[1], -1)
        t = top.reshape(top.shape[0], top.shape[1], -1)
        out.append(t @ b.transpose(1, 2) / b.shape[2])
    return out


def fsp_loss(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor]) -> torch.Tensor:
    """FSP: ``Σ_i mean (G_s,i − G_t,i)²`` over the consecutive pairs of each network's maps
    (:func:`fsp_matrices`), each mean over ``B · C_{i+1} · C_i``.

    Args:
        student: the student's maps (CRD's ``feat[:-1]``: stem, then stages).
        teacher: as many teacher maps, with the same channels map by map.

    Example:
        >>> maps = [torch.randn(2, 3, 4, 4), torch.randn(2, 5, 2, 2)]
        >>> float(fsp_loss(maps, maps))
        0.0
    """
    if len(student) != len(teacher) or len(student) < 2:
        raise ValueError(
            f"fsp_loss: {len(student)} student and {len(teacher)} teacher maps; FSP needs the "
            "same number, at least 2"
        )
    gs, gt = fsp_matrices(student), fsp_matrices([t.detach() for t in teacher])
    for i, (s, t) in enumerate(zip(gs, gt, strict=True)):
        if s.shape != t.shape:
            raise ValueError(
                f"fsp_loss: FSP matrix {i} is {tuple(s.shape)} for the student and "
                f"{tuple(t.shape)} for the teacher; FSP needs equal channels map by map"
            )
    return torch.stack([(s - t).pow(2).mean() for s, t in zip(gs, gt, strict=True)]).sum()


def cc_loss(student_embed: torch.Tensor, teacher_embed: torch.Tensor) -> torch.Tensor:
    """Correlation congruence as RepDistiller computes it: ``Δ = |e_s − e_t|`` and
    ``mean_{i < B−1} Σ_d Δ[i, d] · Δ[i + 1, d]``.

    The teacher's embedding is trained too (its linear map has parameters), so gradient flows
    into both arguments.

    Args:
        student_embed: ``(B, D)``; teacher_embed: ``(B, D)`` (both ``LinearEmbed`` outputs).

    Example:
        >>> e = torch.randn(4, 8)
        >>> float(cc_loss(e, e))
        0.0
    """
    if student_embed.shape != teacher_embed.shape or student_embed.shape[0] < 2:
        raise ValueError(
            f"cc_loss: embeddings {tuple(student_embed.shape)} and {tuple(teacher_embed.shape)} "
            "must be equal (B, D) with B >= 2"
        )
    delta = (student_embed - teacher_embed).abs()
    return (delta[:-1] * delta[1:]).sum(1).mean()
