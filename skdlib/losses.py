"""Relational losses of the paper: neuron embedding (Eq. 1) and static distillation (Eq. 2-3).

Both losses compare two *similarity structures* over the C neurons of a layer:

* the activation structure: flatten each sample's activation to ``(C, H*W)``, take the cosine
  similarity of every pair of channels, ``D_A[b] = Â_b Â_bᵀ`` of shape ``(B, C, C)``;
* the semantic structure: the cosine similarity of the neurons' K-dim vectors, ``D_S = Ŝ Ŝᵀ``.

Each row ``i`` of a similarity matrix becomes a distribution ``h(D)[i] = softmax(D[i] / tau)``,
"how similar is neuron j to neuron i, relative to all others", and the loss is the cross-entropy
``-(1/C) Σ_i Σ_j p(j|i) log q(j|i)`` averaged over samples (and over layers).

* :func:`embedding_loss` (Eq. 1): target ``p`` from the frozen network's activations, prediction
  ``q`` from the trainable vectors.
* :func:`skd_loss` (Eq. 2): target ``p`` from the teacher's frozen vectors, prediction ``q`` from
  the student's activations.

Everything is batched: there is no Python loop over samples or channels. :func:`pairwise_cosine`
has a hand-written backward that works on the ``(C, C)`` matrices and reuses the raw activation,
so the cost of :func:`skd_loss` is two batched matmuls per layer (see ``benchmarks/``).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.autograd.function import once_differentiable

__all__ = [
    "EPS",
    "pairwise_cosine",
    "relation_cross_entropy",
    "relation_cross_entropy_to",
    "activation_target",
    "embedding_loss",
    "skd_loss",
    "embedding_loss_over_layers",
    "skd_loss_over_layers",
    "check_channels",
]

#: Rows whose norm is at most ``EPS`` count as all-zero: zero similarities, zero gradient, no NaN.
EPS = 1e-8

#: Memory budget (bytes) of one ``(chunk, C, C)`` block of targets in :func:`embedding_loss`.
DEFAULT_CHUNK_BYTES = 16 * 2**20


def _cosine_forward(x: torch.Tensor, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``scale * cos(x_i, x_j)`` for all row pairs, and the row factors ``u_i = sqrt(scale)/|x_i|``.

    ``(..., C, D) -> (..., C, C), (..., C)``. The Gram matrix ``G = X Xᵀ`` is scaled in place by
    ``u_i u_j``; no normalised copy of ``X`` is made. Rows with ``|x_i| <= EPS`` get ``u_i = 0``.
    """
    gram = torch.matmul(x, x.transpose(-1, -2))
    norm = gram.diagonal(dim1=-2, dim2=-1).clamp_min(0).sqrt()
    u = torch.where(norm > EPS, scale**0.5 / norm.clamp_min(EPS), torch.zeros_like(norm))
    return gram.mul_(u.unsqueeze(-1)).mul_(u.unsqueeze(-2)), u


def _cosine_backward(
    x: torch.Tensor, sim: torch.Tensor, u: torch.Tensor, scale: float, grad_sim: torch.Tensor
) -> torch.Tensor:
    """Gradient of ``(x) -> _cosine_forward(x, scale)[0]`` given ``grad_sim`` (consumed).

    With ``S = dZ + dZᵀ`` and ``r_i = Σ_j S_ij Z_ij`` (``Z`` the scaled similarity):
    ``dX = (S ∘ u uᵀ - diag(r ∘ u² / scale)) X`` — one batched matmul with a ``(C, C)`` matrix.
    Rows with ``u_i = 0`` (all-zero rows) receive zero gradient.
    """
    sym = grad_sim + grad_sim.transpose(-1, -2)
    radial = torch.einsum("...ij,...ij->...i", sym, sim)
    mat = sym.mul_(u.unsqueeze(-1)).mul_(u.unsqueeze(-2))
    mat.diagonal(dim1=-2, dim2=-1).sub_(radial * u * u / scale)
    return torch.matmul(mat, x)


class _PairwiseCosine(torch.autograd.Function):
    """Cosine similarity of all row pairs with the fused backward of :func:`_cosine_backward`.

    Cosine is undefined at the origin; rows with ``|x_i| <= EPS`` give zero similarities and zero
    gradient, which keeps dead ReLU maps from producing NaN or huge gradients.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        sim, u = _cosine_forward(x)
        ctx.save_for_backward(x, sim, u)
        return sim

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_sim: torch.Tensor) -> torch.Tensor:
        x, sim, u = ctx.saved_tensors
        return _cosine_backward(x, sim, u, 1.0, grad_sim)


class _ActivationRelationCE(torch.autograd.Function):
    """``mean_b -(1/C) Σ_ij p_ij log softmax_j(cos(a_bi, a_bj) / tau)`` with a fused backward.

    Inputs: ``x`` ``(B, C, N)`` activations, ``p`` ``(C, C)`` constant target (rows sum to one,
    zero diagonal when the diagonal is excluded). Every step works on the ``(B, C, C)`` matrices in
    place: forward = Gram matmul, scaling, one exp pass (kept for backward), a row sum and a
    matrix-vector product for ``Σ p z``; backward = ``softmax - p`` in place, symmetrise, scale, and
    one batched matmul back to ``(B, C, N)``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, p: torch.Tensor, tau: float, exclude_diagonal: bool):
        b, c, _ = x.shape
        z, u = _cosine_forward(x, 1.0 / tau)
        logits = z
        if exclude_diagonal:
            logits = z.clone()
            logits.diagonal(dim1=-2, dim2=-1).fill_(-torch.inf)
        row_max = logits.amax(dim=-1, keepdim=True)
        expd = torch.sub(logits, row_max).exp_()
        lse = expd.sum(-1).log_().add_(row_max.squeeze(-1))
        cross = torch.mv(z.reshape(b, c * c), p.reshape(c * c).to(z.dtype)) if b else lse.sum(-1)
        loss = (lse.sum(-1) - cross).sum() / (b * c)
        ctx.save_for_backward(x, z, u, expd, lse, row_max, p)
        ctx.tau = tau
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_loss: torch.Tensor):
        x, z, u, expd, lse, row_max, p = ctx.saved_tensors
        b, c, _ = x.shape
        coef = grad_loss / (b * c)
        # softmax = exp(logit - max) * exp(max - lse); fold the loss coefficient into that factor.
        factor = (row_max.squeeze(-1) - lse).exp_().mul_(coef)
        grad_z = torch.mul(expd, factor.unsqueeze(-1)).sub_(p.to(expd.dtype) * coef)
        return _cosine_backward(x, z, u, 1.0 / ctx.tau, grad_z), None, None, None


def pairwise_cosine(x: torch.Tensor) -> torch.Tensor:
    """Cosine similarity between every pair of rows.

    Args:
        x: ``(..., C, D)`` — C items (neurons) with D features each (flattened activation map,
            or a semantic vector). Any number of leading batch dimensions.

    Returns:
        ``(..., C, C)``; entry ``[..., i, j]`` is ``cos(x_i, x_j)``. A row whose norm is below
        :data:`EPS` (e.g. a dead ReLU map) has zero similarity to everything, itself included,
        and receives zero gradient; nothing is ever NaN.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
        >>> pairwise_cosine(x)
        tensor([[1., 1., 0.],
                [1., 1., 0.],
                [0., 0., 0.]])
    """
    if x.dim() < 2:
        raise ValueError(f"pairwise_cosine expects (..., C, D), got shape {tuple(x.shape)}")
    return _PairwiseCosine.apply(x)


def _diagonal_mask(c: int, device: torch.device) -> torch.Tensor:
    return torch.eye(c, dtype=torch.bool, device=device)


def _target_distribution(
    target_sim: torch.Tensor, tau: float, exclude_diagonal: bool
) -> torch.Tensor:
    """``h(D) = softmax(D / tau)`` row-wise, with the diagonal removed if asked."""
    logits = target_sim / tau
    if exclude_diagonal:
        logits = logits.masked_fill(_diagonal_mask(logits.shape[-1], logits.device), -torch.inf)
    return torch.softmax(logits, dim=-1)


def _cross_entropy_to(
    target_prob: torch.Tensor, pred_sim: torch.Tensor, tau: float, exclude_diagonal: bool
) -> torch.Tensor:
    """``-(1/C) Σ_ij p_ij log q_ij`` averaged over every leading dimension of the broadcast.

    Uses ``Σ_j p_ij log q_ij = Σ_j p_ij z_ij - logsumexp_j z_ij`` (rows of ``p`` sum to one),
    with ``z = pred_sim / tau``: the log-softmax is never materialised.
    """
    logits = pred_sim / tau
    if exclude_diagonal:
        logits = logits.masked_fill(_diagonal_mask(logits.shape[-1], logits.device), -torch.inf)
    # p is zero on an excluded diagonal, so the unmasked similarities give the same sum.
    cross = (target_prob * pred_sim).sum(-1) / tau
    per_row = torch.logsumexp(logits, dim=-1) - cross
    return per_row.mean()


def _check_tau(tau: float, exclude_diagonal: bool, c: int) -> None:
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if exclude_diagonal and c < 2:
        raise ValueError("exclude_diagonal=True needs at least 2 neurons per layer")


def relation_cross_entropy(
    target_sim: torch.Tensor,
    pred_sim: torch.Tensor,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> torch.Tensor:
    """Cross-entropy between the row-softmax distributions of two similarity matrices.

    ``p = softmax(target_sim / tau)``, ``q = softmax(pred_sim / tau)`` row-wise, and the result is
    ``-(1/C) Σ_i Σ_j p(j|i) log q(j|i)``, averaged over every leading (batch) dimension of the
    broadcast of the two inputs. ``log q`` is computed stably (log-sum-exp), never as
    ``log(softmax(...))``.

    Args:
        target_sim: ``(..., C, C)`` similarities defining the target ``p``.
        pred_sim: ``(..., C, C)`` similarities defining the prediction ``q``; broadcastable
            against ``target_sim`` (e.g. ``(C, C)`` against ``(B, C, C)``).
        tau: softmax temperature; the paper uses 1 (no temperature).
        exclude_diagonal: drop ``j == i`` from both distributions (the paper keeps it).

    Returns:
        A scalar tensor. It is ``≥`` the entropy of ``p``, with equality iff ``q = p``.

    Example:
        >>> d = pairwise_cosine(torch.randn(5, 3))
        >>> relation_cross_entropy(d, d) <= relation_cross_entropy(d, torch.zeros(5, 5))
        tensor(True)
    """
    if target_sim.shape[-2:] != pred_sim.shape[-2:] or target_sim.shape[-1] != target_sim.shape[-2]:
        raise ValueError(
            "relation_cross_entropy expects two (..., C, C) matrices of the same C, got "
            f"{tuple(target_sim.shape)} and {tuple(pred_sim.shape)}"
        )
    _check_tau(tau, exclude_diagonal, target_sim.shape[-1])
    p = _target_distribution(target_sim.detach(), tau, exclude_diagonal)
    if p.dim() > pred_sim.dim():
        pred_sim = pred_sim.expand(p.shape)
    return _cross_entropy_to(p, pred_sim, tau, exclude_diagonal)


def relation_cross_entropy_to(
    target_prob: torch.Tensor,
    vectors: torch.Tensor,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> torch.Tensor:
    """Eq. 1 against a precomputed target: ``CE(target_prob, h(D_S))`` for vectors ``(C, K)``.

    ``target_prob`` is a ``(C, C)`` row-stochastic matrix, e.g. :func:`activation_target` of a
    batch, or its mean over a whole data set (for which this is the data set's Eq. 1 loss).

    Example:
        >>> s = torch.randn(6, 4, requires_grad=True)
        >>> relation_cross_entropy_to(activation_target(torch.rand(3, 6, 2, 2)), s).backward()
    """
    if target_prob.shape != (vectors.shape[0], vectors.shape[0]):
        raise ValueError(
            f"target {tuple(target_prob.shape)} does not fit {vectors.shape[0]} vectors"
        )
    _check_tau(tau, exclude_diagonal, vectors.shape[0])
    pred_sim = pairwise_cosine(vectors)
    return _cross_entropy_to(target_prob.to(pred_sim.dtype), pred_sim, tau, exclude_diagonal)


def check_channels(layer: str, activation: torch.Tensor, vectors: torch.Tensor) -> None:
    """Raise a clear error unless ``activation (B, C, ...)`` and ``vectors (C, K)`` agree on C."""
    if activation.dim() < 2:
        raise ValueError(
            f"layer {layer!r}: activation must be (B, C, ...), got shape {tuple(activation.shape)}"
        )
    if vectors.dim() != 2:
        raise ValueError(f"layer {layer!r}: vectors must be (C, K), got {tuple(vectors.shape)}")
    if activation.shape[1] != vectors.shape[0]:
        raise ValueError(
            f"layer {layer!r}: the activation has {activation.shape[1]} channels but its semantic "
            f"vectors have {vectors.shape[0]} rows; pair each layer with vectors learned for a "
            "layer of the same width"
        )


def _flatten_maps(activation: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` (or ``(B, C, ...)``) -> ``(B, C, H*W)``, a view when possible."""
    return activation.reshape(activation.shape[0], activation.shape[1], -1)


def activation_target(
    activation: torch.Tensor,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> torch.Tensor:
    """Batch mean of the per-sample target distributions ``h(D_A[b])``, without gradient.

    The cross-entropy is linear in ``p``, so ``mean_b CE(p_b, q) = CE(mean_b p_b, q)`` when the
    prediction ``q`` is shared by all samples (as in Eq. 1). Samples are processed in chunks whose
    ``(chunk, C, C)`` similarity block stays within ``max_chunk_bytes`` (default 16 MiB, so the
    block stays in cache and peak memory is bounded for wide layers); the softmax runs in place.

    Args:
        activation: ``(B, C, H, W)`` activations of one layer.

    Returns:
        ``(C, C)`` row-stochastic matrix, float32 or the activation's dtype if wider.

    Example:
        >>> p = activation_target(torch.rand(4, 8, 3, 3))
        >>> p.shape, bool(torch.allclose(p.sum(-1), torch.ones(8)))
        (torch.Size([8, 8]), True)
    """
    flat = _flatten_maps(activation.detach())
    b, c, _ = flat.shape
    dtype = torch.promote_types(flat.dtype, torch.float32)
    per_sample = c * c * torch.finfo(dtype).bits // 8
    chunk = max(1, min(b, max_chunk_bytes // max(per_sample, 1)))
    total = torch.zeros(c, c, dtype=dtype, device=flat.device)
    with torch.no_grad():
        for start in range(0, b, chunk):
            logits, _ = _cosine_forward(flat[start : start + chunk].to(dtype), 1.0 / tau)
            if exclude_diagonal:
                logits.diagonal(dim1=-2, dim2=-1).fill_(-torch.inf)
            prob = logits.sub_(logits.amax(-1, keepdim=True)).exp_()
            total += prob.div_(prob.sum(-1, keepdim=True)).sum(0)
    return total / b


def embedding_loss(
    activation: torch.Tensor,
    vectors: torch.Tensor,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> torch.Tensor:
    """Neuron-embedding loss of one layer (paper Eq. 1).

    Target ``p_b = h(D_A[b])`` from the activations (no gradient); prediction ``q = h(D_S)`` from
    the semantic vectors, shared by every sample; the loss is ``mean_b CE(p_b, q)``. Gradient
    reaches ``vectors`` only. Memory stays bounded for wide layers: the targets are formed
    ``max_chunk_bytes`` at a time (see :func:`activation_target`).

    Args:
        activation: ``(B, C, H, W)`` activations of a frozen network's layer.
        vectors: ``(C, K)`` semantic vectors of that layer's neurons.
        tau: softmax temperature (paper: 1).
        exclude_diagonal: drop self-similarity from both distributions (paper: keep it).

    Returns:
        Scalar loss.

    Example:
        >>> act = torch.relu(torch.randn(8, 64, 7, 7))
        >>> s = torch.randn(64, 16, requires_grad=True)
        >>> embedding_loss(act, s).backward()
        >>> s.grad.shape
        torch.Size([64, 16])
    """
    check_channels("<embedding_loss>", activation, vectors)
    _check_tau(tau, exclude_diagonal, vectors.shape[0])
    target = activation_target(activation, tau, exclude_diagonal, max_chunk_bytes)
    return relation_cross_entropy_to(target, vectors, tau, exclude_diagonal)


def skd_loss(
    activation: torch.Tensor,
    teacher_vectors: torch.Tensor,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> torch.Tensor:
    """Static knowledge-distillation loss of one layer (paper Eq. 2).

    Target ``p = h(D_S)`` from the teacher's frozen vectors (a constant ``(C, C)`` matrix, no
    teacher forward pass); prediction ``q_b = h(D_A[b])`` from the student's activations; the loss
    is ``mean_b CE(p, q_b)``. Gradient reaches the activations only.

    Args:
        activation: ``(B, C, H, W)`` student activations of one layer.
        teacher_vectors: ``(C, K)`` teacher semantic vectors for the paired layer.
        tau: softmax temperature (paper: 1).
        exclude_diagonal: drop self-similarity from both distributions (paper: keep it).

    Returns:
        Scalar loss.

    Example:
        >>> act = torch.randn(4, 64, 8, 8, requires_grad=True)
        >>> skd_loss(act, torch.randn(64, 16)).backward()
        >>> act.grad.shape
        torch.Size([4, 64, 8, 8])
    """
    check_channels("<skd_loss>", activation, teacher_vectors)
    _check_tau(tau, exclude_diagonal, teacher_vectors.shape[0])
    target = _target_distribution(pairwise_cosine(teacher_vectors.detach()), tau, exclude_diagonal)
    flat = _flatten_maps(activation)
    return _ActivationRelationCE.apply(flat, target.to(flat.dtype), tau, exclude_diagonal)


def _paired(
    activations: Mapping[str, torch.Tensor], vectors: Mapping[str, torch.Tensor]
) -> list[str]:
    missing = [name for name in vectors if name not in activations]
    extra = [name for name in activations if name not in vectors]
    if missing or extra or not vectors:
        raise ValueError(
            "activations and vectors must name the same layers; "
            f"vectors without activations: {missing}, activations without vectors: {extra}"
        )
    for name in vectors:
        check_channels(name, activations[name], vectors[name])
    return list(vectors)


def embedding_loss_over_layers(
    activations: Mapping[str, torch.Tensor],
    vectors: Mapping[str, torch.Tensor],
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> torch.Tensor:
    """Eq. 1 over several layers: the mean of :func:`embedding_loss` over the named layers.

    Args:
        activations: ``{layer: (B, C_l, H_l, W_l)}``.
        vectors: ``{layer: (C_l, K)}`` with the same layer names.

    Example:
        >>> acts = {"a": torch.rand(2, 4, 3, 3), "b": torch.rand(2, 8, 2, 2)}
        >>> vecs = {"a": torch.randn(4, 16), "b": torch.randn(8, 16)}
        >>> embedding_loss_over_layers(acts, vecs).shape
        torch.Size([])
    """
    names = _paired(activations, vectors)
    losses = [embedding_loss(activations[n], vectors[n], tau, exclude_diagonal) for n in names]
    return torch.stack(losses).mean()


def skd_loss_over_layers(
    activations: Mapping[str, torch.Tensor],
    teacher_vectors: Mapping[str, torch.Tensor],
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> torch.Tensor:
    """Eq. 2 over several layers: the mean of :func:`skd_loss` over the paired layers.

    Student and teacher layers are paired by name (key); a channel-count mismatch is an error
    naming the layer and both counts.

    Args:
        activations: ``{layer: (B, C_l, H_l, W_l)}`` student activations.
        teacher_vectors: ``{layer: (C_l, K)}`` the teacher's frozen semantic vectors.
    """
    names = _paired(activations, teacher_vectors)
    losses = [skd_loss(activations[n], teacher_vectors[n], tau, exclude_diagonal) for n in names]
    return torch.stack(losses).mean()
