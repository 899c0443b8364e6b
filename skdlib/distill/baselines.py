"""Teacher-guided distillation losses compared against SKD in Table 1: KD, SP, RKD, AT, PKT.

Every loss here needs the teacher's output *for the same batch*, i.e. a teacher forward pass per
training step; static knowledge distillation (:func:`skdlib.losses.skd_loss`) needs none. Each
is one entry of the method registry (:mod:`skdlib.distill.methods`). Each
function is written from its paper's formula, with the normalisations of the CRD benchmark
(Tian et al. 2020) so that the CRD loss weights (``beta``) apply unchanged:

============ ============================================ ===================== ===============
loss          what is compared                             features              CRD weight
============ ============================================ ===================== ===============
``kd``        softened class distributions (Hinton 2015)   logits                0.9 (CE 0.1)
``sp``        batch similarity Gram (Tung & Mori 2019)     last stage map        beta 3000
``rkd``       sample distances + angles (Park 2019)        pooled feature        beta 1 (25/50)
``at``        spatial attention maps (Zagoruyko 2017)      stage maps            beta 1000
``pkt``       cosine-kernel conditionals (Passalis 2018)   pooled feature        beta 30000
============ ============================================ ===================== ===============

All functions take the student's tensor first and the teacher's second, return a scalar, and
never propagate gradient into the teacher's tensor.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

__all__ = [
    "kd_loss",
    "sp_loss",
    "rkd_loss",
    "at_loss",
    "at_loss_sum",
    "attention_map",
    "pkt_loss",
]


def _check_batch(name: str, student: torch.Tensor, teacher: torch.Tensor) -> None:
    if student.dim() < 2 or teacher.dim() < 2 or student.shape[0] != teacher.shape[0]:
        raise ValueError(
            f"{name}: student and teacher tensors must be (B, ...) with the same batch size B, "
            f"got {tuple(student.shape)} and {tuple(teacher.shape)}"
        )


def kd_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 4.0
) -> torch.Tensor:
    """Hinton's distillation term: ``T² · mean_b KL(softmax(t_b / T) ‖ softmax(s_b / T))``.

    The ``T²`` keeps the gradient scale independent of ``T``. CRD's KD baseline is
    ``0.1 · CE + 0.9 · kd_loss(T=4)``.

    Args:
        student_logits: ``(B, K)`` logits of the student.
        teacher_logits: ``(B, K)`` logits of the teacher (treated as constants).
        temperature: ``T`` (CRD: 4).

    Returns:
        Scalar; zero iff the two softened distributions agree on every sample.

    Example:
        >>> z = torch.randn(4, 10)
        >>> float(kd_loss(z, z))
        0.0
    """
    _check_batch("kd_loss", student_logits, teacher_logits)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"kd_loss: student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} differ; both models need the same number of classes"
        )
    log_q = F.log_softmax(student_logits / temperature, dim=1)
    log_p = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(1)
    return kl.mean() * temperature**2


def _row_normalised_gram(f: torch.Tensor) -> torch.Tensor:
    flat = f.reshape(f.shape[0], -1)
    return F.normalize(flat @ flat.T, dim=1)


def sp_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
    """Similarity-preserving loss: ``‖G_t − G_s‖_F² / B²``.

    ``G = F Fᵀ`` is the ``(B, B)`` Gram matrix of the flattened features ``F`` ``(B, D)``, each row
    L2-normalised. Student and teacher may have different feature sizes (only ``B`` must agree).

    Args:
        student_feat: ``(B, ...)`` student features (CRD: the last stage's map).
        teacher_feat: ``(B, ...)`` teacher features.

    Example:
        >>> f = torch.randn(8, 16, 4, 4)
        >>> float(sp_loss(f, 2 * f))  # invariant to scale
        0.0
    """
    _check_batch("sp_loss", student_feat, teacher_feat)
    b = student_feat.shape[0]
    with torch.no_grad():
        g_t = _row_normalised_gram(teacher_feat)
    g_s = _row_normalised_gram(student_feat)
    return (g_t - g_s).pow(2).sum() / (b * b)


def _distances(e: torch.Tensor) -> torch.Tensor:
    """``(B, D) -> (B, B)`` Euclidean distances; the diagonal is exactly 0 with zero gradient."""
    sq = e.pow(2).sum(1)
    d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * e @ e.T).clamp_min(1e-12)
    eye = torch.eye(e.shape[0], dtype=torch.bool, device=e.device)
    return d2.sqrt().masked_fill(eye, 0.0)


def _angles(e: torch.Tensor) -> torch.Tensor:
    """``(B, D) -> (B, B, B)``: ``[i, j, k] = cos∠(e_j − e_i, e_k − e_i)`` (0 if degenerate)."""
    diff = F.normalize(e.unsqueeze(0) - e.unsqueeze(1), dim=2)  # [i, j] = unit(e_j - e_i)
    return diff @ diff.transpose(1, 2)


def rkd_loss(
    student_feat: torch.Tensor,
    teacher_feat: torch.Tensor,
    w_distance: float = 25.0,
    w_angle: float = 50.0,
) -> torch.Tensor:
    """Relational KD: ``w_d · Huber(ψ_D^s, ψ_D^t) + w_a · Huber(ψ_A^s, ψ_A^t)``.

    * distance: ``ψ_D[i, j] = ‖e_i − e_j‖ / μ`` with ``μ`` the mean distance over pairs ``i ≠ j``;
      the Huber (smooth-L1, δ = 1) loss is averaged over all ``B²`` entries (diagonal: 0 = 0).
    * angle: ``ψ_A[i, j, k] = cos∠(e_j − e_i, e_k − e_i)``, averaged over all ``B³`` triplets;
      degenerate ones (``j = i`` or ``k = i``) are 0 in both and count in the mean, as in CRD.

    Args:
        student_feat: ``(B, ...)`` student embedding (CRD: the pooled feature before ``fc``),
            flattened to ``(B, D_s)``.
        teacher_feat: ``(B, ...)`` teacher embedding, ``(B, D_t)`` after flattening.
        w_distance, w_angle: weights of the two terms (CRD: 25 and 50).

    Example:
        >>> e = torch.randn(6, 32)
        >>> round(float(rkd_loss(3 * e, e)), 6)  # invariant to scale
        0.0
    """
    _check_batch("rkd_loss", student_feat, teacher_feat)
    s = student_feat.reshape(student_feat.shape[0], -1)
    t = teacher_feat.reshape(teacher_feat.shape[0], -1).detach()
    if s.shape[0] < 2:
        raise ValueError("rkd_loss needs a batch of at least 2 samples")
    off = ~torch.eye(s.shape[0], dtype=torch.bool, device=s.device)
    with torch.no_grad():
        d_t = _distances(t)
        d_t = d_t / d_t[off].mean().clamp_min(1e-12)
        a_t = _angles(t)
    d_s = _distances(s)
    d_s = d_s / d_s[off].mean().clamp_min(1e-12)
    loss_d = F.smooth_l1_loss(d_s, d_t)
    loss_a = F.smooth_l1_loss(_angles(s), a_t)
    return w_distance * loss_d + w_angle * loss_a


def attention_map(feat: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """``(B, C, H, W) -> (B, H·W)``: ``mean_c |a_c|^p`` per position, L2-normalised per sample.

    CRD uses ``mean_c a_c^p``, which equals ``mean_c |a_c|^p`` for the default ``p = 2``.

    Example:
        >>> attention_map(torch.ones(2, 3, 4, 4)).norm(dim=1)
        tensor([1., 1.])
    """
    if feat.dim() != 4:
        raise ValueError(f"attention_map expects (B, C, H, W), got {tuple(feat.shape)}")
    return F.normalize(feat.abs().pow(p).mean(1).flatten(1), dim=1)


def at_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Attention transfer for one layer: ``mean_{b, x} (Q_s[b, x] − Q_t[b, x])²``.

    ``Q`` is :func:`attention_map`. If the spatial sizes differ, the larger map is average-pooled
    (adaptively) to the smaller size first, as in CRD; channel counts may differ freely.

    Args:
        student_feat: ``(B, C_s, H, W)``.
        teacher_feat: ``(B, C_t, H', W')``.

    Example:
        >>> f = torch.randn(2, 8, 4, 4)
        >>> round(float(at_loss(f, torch.cat([f, f], 1))), 6)  # same attention, 2x channels
        0.0
    """
    _check_batch("at_loss", student_feat, teacher_feat)
    teacher_feat = teacher_feat.detach()
    hs, ht = student_feat.shape[-2:], teacher_feat.shape[-2:]
    if hs[0] * hs[1] > ht[0] * ht[1]:
        student_feat = F.adaptive_avg_pool2d(student_feat, ht)
    elif hs[0] * hs[1] < ht[0] * ht[1]:
        teacher_feat = F.adaptive_avg_pool2d(teacher_feat, hs)
    return (attention_map(student_feat, p) - attention_map(teacher_feat, p)).pow(2).mean()


def at_loss_sum(
    student_feats: Mapping[str, torch.Tensor],
    teacher_feats: Mapping[str, torch.Tensor],
    p: float = 2.0,
) -> torch.Tensor:
    """:func:`at_loss` summed over layers paired by position (CRD sums them, with beta 1000).

    Not a mean, unlike skdlib's ``*_over_layers`` losses: CRD's weight is for the sum. Student
    and teacher stages are paired in order (their names may differ, e.g. ``layer1`` and
    ``block1`` across families).

    Args:
        student_feats: ``{layer: (B, C_s, H, W)}``.
        teacher_feats: ``{layer: (B, C_t, H', W')}`` with as many layers.

    Example:
        >>> fs = {"a": torch.randn(2, 4, 8, 8), "b": torch.randn(2, 8, 4, 4)}
        >>> float(at_loss_sum(fs, fs))
        0.0
    """
    if len(student_feats) != len(teacher_feats) or not student_feats:
        raise ValueError(
            f"at_loss_sum: student layers {list(student_feats)} and teacher layers "
            f"{list(teacher_feats)}; pass the same non-zero number"
        )
    pairs = zip(student_feats.values(), teacher_feats.values(), strict=True)
    return torch.stack([at_loss(s, t, p) for s, t in pairs]).sum()


def _cosine_conditionals(f: torch.Tensor, eps: float) -> torch.Tensor:
    flat = f.reshape(f.shape[0], -1)
    unit = flat / (flat.norm(dim=1, keepdim=True) + eps)
    kernel = (unit @ unit.T + 1.0) / 2.0
    return kernel / kernel.sum(1, keepdim=True)


def pkt_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor, eps: float = 1e-7):
    """Probabilistic knowledge transfer: ``mean_{i, j} p_ij · log((p_ij + ε) / (q_ij + ε))``.

    With cosine kernel ``K_ij = (cos(f_i, f_j) + 1) / 2`` in [0, 1], ``p`` (teacher) and ``q``
    (student) are the row-normalised kernels ``K_ij / Σ_j K_ij``. The mean runs over all ``B²``
    entries (so it is the mean row KL divided by ``B``), as in CRD, whose weight is 30000.

    Args:
        student_feat: ``(B, ...)`` student embedding (CRD: pooled feature), any width.
        teacher_feat: ``(B, ...)`` teacher embedding.
        eps: added to norms and inside the log.

    Example:
        >>> e = torch.randn(5, 7)
        >>> float(pkt_loss(e, e))
        0.0
    """
    _check_batch("pkt_loss", student_feat, teacher_feat)
    with torch.no_grad():
        p = _cosine_conditionals(teacher_feat, eps)
    q = _cosine_conditionals(student_feat, eps)
    return (p * torch.log((p + eps) / (q + eps))).mean()
