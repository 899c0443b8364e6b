"""Decoupled knowledge distillation (DKD; Zhao et al. 2022), as its authors publish it in
mdistiller (``mdistiller/distillers/DKD.py``).

KD's KL divergence splits into a *target-class* part (TCKD: the binary distribution
``[p_target, 1 − p_target]``) and a *non-target* part (NCKD: the distribution over the other
classes); DKD weights them separately::

    DKD = α · T² · KL(b_t ‖ b_s) + β · T² · KL(p̂_t ‖ p̂_s)            (means over the batch)

with ``b`` the binary target/rest probabilities of ``softmax(z / T)`` and ``p̂`` the softmax of
``z / T − 1000 · onehot(target)`` — mdistiller's way of removing the target class (the
distribution keeps all ``K`` classes, the target's probability underflows to 0). In training
the term is scaled by the linear warm-up ``min(epoch / 20, 1)`` (1-based epochs) and added to
CE (weight 1). Defaults: α 1, β 8, T 4; mdistiller's configs use β 2 for resnet56 → resnet20
and resnet110 → resnet32, 6 for wrn_40_2 → wrn_16_2 and vgg13 → vgg8.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["dkd_loss", "dkd_warmup"]


def _kl_sum(log_q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``Σ p (log p − log q)`` over every element, ``0 · log 0 = 0`` (``kl_div``'s sum)."""
    return F.kl_div(log_q, p, reduction="sum")


def dkd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 8.0,
    temperature: float = 4.0,
) -> torch.Tensor:
    """``α · TCKD + β · NCKD`` (without the warm-up), as mdistiller's ``dkd_loss``.

    Args:
        student_logits: ``(B, K)``.
        teacher_logits: ``(B, K)`` (treated as constants).
        labels: ``(B,)`` target classes.
        alpha, beta: weights of TCKD and NCKD.
        temperature: ``T``.

    Example:
        >>> z, y = torch.randn(4, 10), torch.arange(4)
        >>> float(dkd_loss(z, z, y)) < 1e-5  # the same logits: no divergence
        True
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(
            f"dkd_loss: student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} must both be (B, K)"
        )
    b = student_logits.shape[0]
    t = teacher_logits.detach()
    gt = torch.zeros_like(student_logits).scatter_(1, labels.reshape(-1, 1), 1).bool()
    p_s = F.softmax(student_logits / temperature, dim=1)
    p_t = F.softmax(t / temperature, dim=1)

    def binary(p):
        return torch.cat([(p * gt).sum(1, keepdim=True), (p * ~gt).sum(1, keepdim=True)], dim=1)

    tckd = _kl_sum(torch.log(binary(p_s)), binary(p_t)) * temperature**2 / b
    p_t2 = F.softmax(t / temperature - 1000.0 * gt, dim=1)
    log_p_s2 = F.log_softmax(student_logits / temperature - 1000.0 * gt, dim=1)
    nckd = _kl_sum(log_p_s2, p_t2) * temperature**2 / b
    return alpha * tckd + beta * nckd


def dkd_warmup(epoch: int, warmup: float = 20) -> float:
    """DKD's warm-up factor ``min(epoch / warmup, 1)`` for a 1-based ``epoch``.

    Example:
        >>> dkd_warmup(1), dkd_warmup(20), dkd_warmup(240)
        (0.05, 1.0, 1.0)
    """
    return min(epoch / warmup, 1.0) if warmup > 0 else 1.0
