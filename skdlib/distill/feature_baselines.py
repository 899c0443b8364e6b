"""Feature-based losses of Table 1 beyond AT: FitNet, VID, AB, FT and NST, as tensor functions.

Each follows the CRD benchmark's code (RepDistiller's ``distiller_zoo``), whose loss weights
(``beta``) they are used with; where that code departs from the method's paper, the code is
followed and the docstring says so. The trainable parts (FitNet's regressor, VID's regressors
and variances, AB's connector, FT's translator and paraphraser) live in
:mod:`skdlib.distill.method_modules`; these functions take their outputs.

========== =============================================== ==========================
loss        what is compared                                 CRD weight
========== =============================================== ==========================
``hint``    MSE of the regressed student hint and teacher's  beta 100
``vid``     Gaussian NLL of the teacher map given student's  beta 1
``ab``      activation boundaries of pre-ReLU outputs        init stage, unweighted
``factor``  L1 of L2-normalised AT-style factors             beta 200
``nst``     polynomial-kernel MMD of channel distributions   beta 50
========== =============================================== ==========================

Every function takes the student's tensor first, never propagates gradient into the teacher's
tensor, and pools the larger of two spatial maps to the smaller (``adaptive_avg_pool2d``) where
RepDistiller does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "pool_to_smaller",
    "hint_loss",
    "vid_nll",
    "ab_loss",
    "factor",
    "factor_loss",
    "nst_loss",
]


def pool_to_smaller(s: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, C_s, H, H), (B, C_t, H', H')``: the map with the larger side average-pooled to the
    other's (square) side, as RepDistiller's VID, FT, NST and AT do.

    Example:
        >>> a, b = pool_to_smaller(torch.ones(1, 2, 8, 8), torch.ones(1, 3, 4, 4))
        >>> tuple(a.shape), tuple(b.shape)
        ((1, 2, 4, 4), (1, 3, 4, 4))
    """
    hs, ht = s.shape[2], t.shape[2]
    if hs > ht:
        s = F.adaptive_avg_pool2d(s, (ht, ht))
    elif hs < ht:
        t = F.adaptive_avg_pool2d(t, (hs, hs))
    return s, t


def hint_loss(regressed: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """FitNet's hint: ``mean (r − t)²`` over all ``B·C·H·W`` elements.

    Args:
        regressed: ``(B, C_t, H, W)``, the student's hint through the regressor.
        teacher: ``(B, C_t, H, W)``, the teacher's hint.

    Example:
        >>> float(hint_loss(torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)))
        1.0
    """
    if regressed.shape != teacher.shape:
        raise ValueError(
            f"hint_loss: the regressed student hint {tuple(regressed.shape)} and the teacher's "
            f"{tuple(teacher.shape)} differ; the regressor must map to the teacher's shape"
        )
    return F.mse_loss(regressed, teacher.detach())


def vid_nll(mean: torch.Tensor, teacher: torch.Tensor, variance: torch.Tensor) -> torch.Tensor:
    """VID's per-stage term: ``mean 0.5 · ((μ − t)² / σ² + log σ²)`` (the Gaussian negative
    log-likelihood without its constant).

    Args:
        mean: ``(B, C_t, H, W)``, the regressor's prediction ``μ`` from the student's map
            (pooled to the teacher's size first when larger).
        teacher: ``(B, C_t, H, W)``, the teacher's map (pooled when larger).
        variance: ``(C_t,)``, ``σ² = softplus(log_scale) + eps`` per channel.

    Example:
        >>> float(vid_nll(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1), torch.ones(1)))
        0.0
    """
    var = variance.view(1, -1, 1, 1)
    return (0.5 * ((mean - teacher.detach()) ** 2 / var + torch.log(var))).mean()


def _boundary(s: torch.Tensor, t: torch.Tensor, margin: float) -> torch.Tensor:
    pos = (t > 0).to(s.dtype)
    neg = (t <= 0).to(s.dtype)
    loss = (s + margin) ** 2 * ((s > -margin).to(s.dtype) * neg) + (s - margin) ** 2 * (
        (s <= margin).to(s.dtype) * pos
    )
    return loss.abs().sum()


def ab_loss(
    student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor], margin: float = 1.0
) -> torch.Tensor:
    """Activation-boundary loss summed over stages (RepDistiller's ``ABLoss``, summed).

    For each stage ``i`` of ``n``, on pre-activation maps ``s`` (through the connector) and
    ``t``: ``Σ (s + m)² [s > −m, t ≤ 0] + (s − m)² [s ≤ m, t > 0]`` over all elements,
    times ``2^(i − n + 1) · 3 / 1000 / B`` — RepDistiller's weights, last stage 1, each earlier
    one half the next.

    Args:
        student: per stage ``(B, C, H, W)``, the connector's output on the student's map.
        teacher: per stage ``(B, C, H, W)``, the teacher's map of the same shape.
        margin: ``m`` (1).

    Example:
        >>> s = [torch.full((1, 1, 1, 1), 2.0)]
        >>> round(float(ab_loss(s, [-torch.ones(1, 1, 1, 1)])), 6)  # (2 + 1)² · 3 / 1000
        0.027
    """
    if len(student) != len(teacher) or not student:
        raise ValueError(f"ab_loss: {len(student)} student and {len(teacher)} teacher maps")
    n, b = len(student), student[0].shape[0]
    terms = [
        2.0 ** (i - n + 1) * _boundary(s, t.detach(), margin) / b / 1000 * 3
        for i, (s, t) in enumerate(zip(student, teacher, strict=True))
    ]
    return torch.stack(terms).sum()


def factor(f: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, H·W)``: RepDistiller's FT factor ``normalize(mean_c f²)`` — an
    attention map of the factor, not the paper's normalised flattened factor.

    Example:
        >>> factor(torch.ones(2, 3, 2, 2)).norm(dim=1)
        tensor([1., 1.])
    """
    return F.normalize(f.pow(2).mean(1).view(f.shape[0], -1))


def factor_loss(student_factor: torch.Tensor, teacher_factor: torch.Tensor) -> torch.Tensor:
    """FT: ``mean |factor(F_s) − factor(F_t)|`` over ``B·H·W`` (:func:`factor`; the larger map
    pooled to the smaller first).

    Args:
        student_factor: ``(B, C', H, W)``, the translator's output on the student's last stage.
        teacher_factor: ``(B, C', H', W')``, the paraphraser's encoding of the teacher's.

    Example:
        >>> f = torch.randn(2, 4, 3, 3)
        >>> float(factor_loss(f, 2 * f))
        0.0
    """
    s, t = pool_to_smaller(student_factor, teacher_factor.detach())
    return (factor(s) - factor(t)).abs().mean()


def _poly(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b.transpose(1, 2)).pow(2)  # [b, i, j] = (a_i · b_j)², the degree-2 kernel


def nst_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Neuron selectivity transfer for one stage: the squared MMD with kernel ``(x·y)²``
    between the channels' spatial distributions, each channel L2-normalised over ``H·W``::

        mean k(t, t) + mean k(s, s) − 2 mean k(s, t)

    each mean over all ``B · C · C'`` channel pairs (diagonals included), as RepDistiller.

    Args:
        student: ``(B, C_s, H, W)``; teacher: ``(B, C_t, H', W')`` (the larger pooled).

    Example:
        >>> f = torch.randn(2, 4, 3, 3)
        >>> round(float(nst_loss(f, 3 * f)), 6)
        0.0
    """
    s, t = pool_to_smaller(student, teacher.detach())
    s = F.normalize(s.reshape(s.shape[0], s.shape[1], -1), dim=2)
    t = F.normalize(t.reshape(t.shape[0], t.shape[1], -1), dim=2)
    return _poly(t, t).mean() + _poly(s, s).mean() - 2 * _poly(t, s).mean()
