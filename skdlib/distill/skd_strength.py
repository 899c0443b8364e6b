"""How strongly SKD acts on a student: its loss against the floor, its gradient against the task.

SKD's loss is a cross-entropy ``CE(p, q) = H(p) + KL(p || q)`` between the teacher vectors'
similarity distribution ``p = h(D_S)`` and the student's ``q = h(D_A)`` (paper Eq. 2). Only the KL
part depends on the student, so what can move the student is the *gap* between the loss and its
floor ``H(p)``. With cosine similarities in ``[-1, 1]`` and ``tau = 1`` (the paper's), ``p`` is
close to uniform over the ``C`` channels: the floor is close to ``log C``, the gap small, and the
gradient weak. A smaller ``tau`` sharpens both distributions. :func:`skd_strength` measures, for
several ``tau``, the loss, the floor, the gap, and the norm of the SKD gradient relative to the
task loss's (cross-entropy on the labels) on the same batches, which is the number ``beta`` scales:
the student's update is ``∇L_task + beta ∇L_SKD``.

Example:
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2))
    >>> batch = (torch.randn(8, 3, 6, 6), torch.randint(0, 2, (8,)))
    >>> rows = skd_strength(net, {"1": torch.randn(4, 3)}, [batch], taus=(0.5, 1.0))
    >>> [r["tau"] for r in rows], all(r["loss"] >= r["floor"] for r in rows)
    ([0.5, 1.0], True)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..embedding import NeuronEmbedding
from ..hooks import capture
from ..losses import pairwise_cosine, skd_loss_over_layers
from ..runtime import resolve_device

__all__ = ["TAUS", "target_entropy", "skd_strength", "format_strength"]

#: The temperatures notebook 05 compares (the paper uses 1).
TAUS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)


def target_entropy(vectors: torch.Tensor, tau: float = 1.0, exclude_diagonal: bool = False):
    """The floor of the SKD loss of one layer: ``H(p) = -(1/C) Σ_ij p_ij log p_ij``.

    ``p = softmax(cos(S_i, S_j) / tau)`` row-wise (the diagonal removed if asked), normalised
    like the loss (mean over rows), so ``skd_loss >= target_entropy`` always.

    Args:
        vectors: ``(C, K)`` teacher vectors of one layer.

    Returns:
        Scalar tensor (float64).

    Example:
        >>> round(float(target_entropy(torch.eye(3), tau=1e9)), 4)  # uniform over 3: log 3
        1.0986
    """
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    logits = pairwise_cosine(vectors.detach().double()) / tau
    if exclude_diagonal:
        logits = logits.masked_fill(torch.eye(len(logits), dtype=torch.bool), -torch.inf)
    p = torch.softmax(logits, dim=-1)
    return -torch.special.xlogy(p, p).sum(-1).mean()


def _norm(grads: Sequence[torch.Tensor | None]) -> float:
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads if g is not None)))


def skd_strength(
    student: nn.Module,
    vectors: Mapping[str, torch.Tensor] | NeuronEmbedding,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    taus: Sequence[float] = TAUS,
    beta: float = 0.5,
    exclude_diagonal: bool = False,
    device: str | torch.device | None = None,
) -> list[dict[str, float]]:
    """SKD loss, its floor and its gradient relative to the task loss's, for each ``tau``.

    The student runs in train mode (batch-norm on batch statistics, as in training); its
    parameters and buffers are restored afterwards, and no optimiser steps.

    Args:
        student: a classifier whose modules named in ``vectors`` give ``(B, C_l, H, W)`` stage
            outputs (e.g. a :func:`~skdlib.models.create_model` model with the teacher's
            :class:`NeuronEmbedding` from ``run_table1``).
        vectors: ``{stage: (C_l, K)}`` frozen teacher vectors, or the embedding holding them.
        batches: ``(images (B, 3, H, W), labels (B,))`` pairs, e.g. a few loader batches.
        taus: temperatures to compare; beta: the SKD weight to report ``beta · ratio`` for.

    Returns:
        One dict per ``tau``: ``tau``, ``loss`` (SKD loss, mean over stages and batches),
        ``floor`` (mean over stages of :func:`target_entropy`), ``gap`` (loss − floor, the KL
        part), ``grad_ratio`` (``‖∇L_SKD‖ / ‖∇L_task‖`` over the student's parameters, mean over
        batches) and ``weighted_ratio`` (``beta · grad_ratio``).
    """
    if isinstance(vectors, NeuronEmbedding):
        vectors = vectors.vectors
    if not vectors:
        raise ValueError("vectors is empty: give the teacher vectors of at least one stage")
    device = resolve_device(device)
    vecs = {name: v.detach().to(device) for name, v in vectors.items()}
    names = list(vecs)
    floors = {
        tau: statistics.fmean(
            float(target_entropy(v, tau, exclude_diagonal)) for v in vecs.values()
        )
        for tau in taus
    }
    saved = {k: v.detach().clone() for k, v in student.state_dict().items()}
    was_training = student.training
    params = [p for p in student.parameters() if p.requires_grad]
    sums = {tau: {"loss": [], "grad_ratio": []} for tau in taus}
    try:
        student.to(device).train()
        for images, labels in batches:
            images, labels = images.to(device), labels.to(device)
            with capture(student, names, detach=False) as acts:
                logits = student(images)
            task = F.cross_entropy(logits, labels)
            task_norm = _norm(
                torch.autograd.grad(task, params, retain_graph=True, allow_unused=True)
            )
            for tau in taus:
                loss = skd_loss_over_layers(acts, vecs, tau, exclude_diagonal)
                grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
                sums[tau]["loss"].append(float(loss.detach()))
                sums[tau]["grad_ratio"].append(_norm(grads) / max(task_norm, 1e-30))
    finally:
        student.load_state_dict(saved)
        student.train(was_training)
    if not sums[taus[0]]["loss"]:
        raise ValueError("batches is empty: give at least one (images, labels) batch")
    rows = []
    for tau in taus:
        loss = statistics.fmean(sums[tau]["loss"])
        ratio = statistics.fmean(sums[tau]["grad_ratio"])
        rows.append(
            {
                "tau": float(tau),
                "loss": loss,
                "floor": floors[tau],
                "gap": loss - floors[tau],
                "grad_ratio": ratio,
                "weighted_ratio": beta * ratio,
            }
        )
    return rows


def format_strength(rows: Sequence[Mapping[str, float]], beta: float = 0.5) -> str:
    """:func:`skd_strength`'s rows as a Markdown table, then one plain sentence per ``tau``.

    Example:
        >>> rows = [{"tau": 1.0, "loss": 4.16, "floor": 4.158, "gap": 0.002, "grad_ratio": 0.01,
        ...          "weighted_ratio": 0.005}]
        >>> print(format_strength(rows).splitlines()[-1])
        - tau = 1: the loss lies 0.048 % above its floor; beta · ‖∇SKD‖ is 0.005× ‖∇task‖.
    """
    lines = [
        "| tau | SKD loss | floor H(p) | gap (KL) | ‖∇SKD‖ / ‖∇task‖ | × beta |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tau']:g} | {r['loss']:.4f} | {r['floor']:.4f} | {r['gap']:.2e} | "
            f"{r['grad_ratio']:.3g} | {r['weighted_ratio']:.3g} |"
        )
    lines.append("")
    for r in rows:
        share = 100 * r["gap"] / r["floor"] if r["floor"] else float("nan")
        lines.append(
            f"- tau = {r['tau']:g}: the loss lies {share:.2g} % above its floor; "
            f"beta · ‖∇SKD‖ is {r['weighted_ratio']:.3g}× ‖∇task‖."
        )
    return "\n".join(lines)
