"""The paper's quantitative metric (§3.4, Fig. 4): how well semantic vectors match dissection.

Network Dissection gives every neuron a row of IoU scores over the Broden concepts,
``T ∈ R^{C×N}``: a manually grounded "semantic vector". The learned vectors ``S ∈ R^{C×K}`` live
in another space (K = 16), so their *relational structure* is compared (``docs/method.md`` §4):

    KL(h(D_T) ‖ h(D_S)),   D_T = cos(T_i, T_j),  D_S = cos(S_i, S_j),  h(D) = softmax(D / tau)

row-wise, averaged over the rows ``i`` (and over layers). A neuron whose IoU row is all zero
(no concept at all) has zero cosine with everyone: a uniform target row.

Three curves make the paper's Figure 4:

* **learned** — the vectors trained by :class:`~skdlib.embedding.EmbeddingTrainer`;
* **random** — random vectors (the trainer's initial law, unit rows), mean over a few seeded draws;
* **upper bound** — vectors optimised directly on this KL (Adam), supervised by the IoU targets,
  one step per training step, from the same start as the learned vectors.

:class:`~skdlib.dissect.kl_callback.KLMetricCallback` logs all three during training;
:func:`skdlib.viz.plot_kl_curves` draws them.

Example
-------
>>> iou = torch.rand(8, 20)
>>> kl_to_targets(torch.randn(8, 4), iou) >= 0
tensor(True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ..losses import pairwise_cosine
from ..progress import tqdm

__all__ = [
    "kl_to_targets",
    "kl_by_layer",
    "target_log_distribution",
    "random_vectors",
    "random_baseline",
    "upper_bound",
    "kl_summary",
]


def _log_h(sim: torch.Tensor, tau: float, exclude_diagonal: bool) -> torch.Tensor:
    logits = sim / tau
    if exclude_diagonal:
        eye = torch.eye(sim.shape[-1], dtype=torch.bool, device=sim.device)
        logits = logits.masked_fill(eye, -torch.inf)
    return torch.log_softmax(logits, dim=-1)


def _check(vectors: torch.Tensor, iou: torch.Tensor, tau: float, exclude_diagonal: bool) -> None:
    if vectors.dim() != 2 or iou.dim() != 2 or vectors.shape[0] != iou.shape[0]:
        raise ValueError(
            "kl_to_targets expects vectors (C, K) and IoU targets (C, N) for the same C neurons, "
            f"got {tuple(vectors.shape)} and {tuple(iou.shape)}"
        )
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if exclude_diagonal and vectors.shape[0] < 2:
        raise ValueError("exclude_diagonal=True needs at least 2 neurons")


def target_log_distribution(
    iou: torch.Tensor, tau: float = 1.0, exclude_diagonal: bool = False
) -> torch.Tensor:
    """``log h(D_T)``: ``(C, C)`` float64 row-wise log-probabilities of the IoU targets."""
    return _log_h(pairwise_cosine(iou.detach().double()), tau, exclude_diagonal)


def kl_from_log_p(
    log_p: torch.Tensor, vectors: torch.Tensor, tau: float, exclude_diagonal: bool
) -> torch.Tensor:
    """The KL of ``vectors`` ``(C, K)`` to a precomputed :func:`target_log_distribution`."""
    log_q = _log_h(pairwise_cosine(vectors.double()), tau, exclude_diagonal)
    p = log_p.exp()
    terms = torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p))
    return terms.sum(-1).mean()


def kl_to_targets(
    vectors: torch.Tensor, iou: torch.Tensor, tau: float = 1.0, exclude_diagonal: bool = False
) -> torch.Tensor:
    """``KL(h(D_T) ‖ h(D_S))`` averaged over neurons (rows), in float64.

    Args:
        vectors: ``(C, K)`` semantic vectors of one layer (gradients flow into them).
        iou: ``(C, N)`` IoU targets of the same neurons (e.g. ``DissectionResult.iou[layer]``).
        tau: softmax temperature (paper: 1).
        exclude_diagonal: drop ``j == i`` from both distributions (default: keep it, as Eq. 1).

    Returns:
        A float64 scalar tensor, ``>= 0``, zero iff both structures give the same distributions.

    Example:
        >>> t = torch.rand(6, 30)
        >>> float(kl_to_targets(t, t)) < 1e-12          # same cosine structure: zero
        True
    """
    _check(vectors, iou, tau, exclude_diagonal)
    log_p = target_log_distribution(iou, tau, exclude_diagonal)
    return kl_from_log_p(log_p, vectors, tau, exclude_diagonal)


def kl_by_layer(
    vectors: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> dict[str, float]:
    """KL of every layer of ``targets`` and their ``"mean"``: ``{layer: float, "mean": float}``.

    Example:
        >>> t = {"l": torch.rand(5, 9)}
        >>> sorted(kl_by_layer({"l": torch.randn(5, 3)}, t))
        ['l', 'mean']
    """
    missing = [name for name in targets if name not in vectors]
    if missing:
        raise KeyError(f"no vectors for layer(s) {missing}; vectors have {list(vectors)}")
    out = {
        name: float(kl_to_targets(vectors[name].detach(), iou, tau, exclude_diagonal))
        for name, iou in targets.items()
    }
    out["mean"] = sum(out.values()) / len(targets)
    return out


def random_vectors(c: int, dim: int = 16, seed: int = 0) -> torch.Tensor:
    """``(c, dim)`` random unit rows (Gaussian, normalised): the trainer's initial law.

    Example:
        >>> random_vectors(3, 4, seed=1).norm(dim=1)
        tensor([1.0000, 1.0000, 1.0000])
    """
    g = torch.Generator().manual_seed(int(seed))
    return F.normalize(torch.randn(c, dim, generator=g), dim=1)


def random_baseline(
    iou: torch.Tensor,
    dim: int = 16,
    draws: int = 5,
    seed: int = 0,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> float:
    """Mean KL of ``draws`` random vector sets (seeds ``seed .. seed + draws - 1``).

    Example:
        >>> iou = torch.rand(8, 12)
        >>> random_baseline(iou, draws=2) == sum(
        ...     float(kl_to_targets(random_vectors(8, 16, s), iou)) for s in (0, 1)) / 2
        True
    """
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    c = iou.shape[0]
    return (
        sum(
            float(kl_to_targets(random_vectors(c, dim, seed + d), iou, tau, exclude_diagonal))
            for d in range(draws)
        )
        / draws
    )


def upper_bound(
    iou: torch.Tensor,
    dim: int = 16,
    steps: int = 500,
    lr: float = 0.05,
    seed: int = 0,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
    init: torch.Tensor | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, list[float]]:
    """Vectors optimised directly on the KL to ``iou`` (Adam): the metric's supervised bound.

    Args:
        iou: ``(C, N)`` targets.
        dim: K.
        steps, lr: Adam steps and learning rate.
        seed: seed of the random start (ignored when ``init`` is given).
        init: ``(C, dim)`` starting vectors.
        progress: tqdm bar over the steps.

    Returns:
        ``(vectors (C, dim) float32, curve)`` where ``curve[t]`` is the KL after ``t`` steps
        (``steps + 1`` values).

    Example:
        >>> vectors, curve = upper_bound(torch.rand(8, 12), steps=50, progress=False)
        >>> curve[-1] < curve[0]
        True
    """
    c = iou.shape[0]
    start = random_vectors(c, dim, seed) if init is None else init.detach().float()
    s = start.clone().requires_grad_(True)
    log_p = target_log_distribution(iou, tau, exclude_diagonal)
    _check(s, iou, tau, exclude_diagonal)
    opt = torch.optim.Adam([s], lr=lr)
    curve = []
    for _ in tqdm(range(steps), desc="KL upper bound", unit="step", disable=not progress):
        loss = kl_from_log_p(log_p, s, tau, exclude_diagonal)
        curve.append(float(loss.detach()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        curve.append(float(kl_from_log_p(log_p, s, tau, exclude_diagonal)))
    return s.detach(), curve


def kl_summary(
    vectors: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor] | Any,
    upper_steps: int = 500,
    draws: int = 5,
    tau: float = 1.0,
    exclude_diagonal: bool = False,
) -> dict[str, dict[str, float]]:
    """The three numbers of the paper's §3.4 for every layer and their mean over layers.

    Args:
        vectors: ``{layer: (C, K)}`` learned vectors (e.g. ``NeuronEmbedding.vectors``).
        targets: ``{layer: (C, N)}`` IoU, or a :class:`~skdlib.dissect.DissectionResult`.
        upper_steps: Adam steps of :func:`upper_bound`; draws: random sets of
            :func:`random_baseline`.

    Returns:
        ``{"learned": {layer: kl, ..., "mean": kl}, "random": {...}, "upper": {...}}``.

    Example:
        >>> t = {"l": torch.rand(6, 9)}
        >>> out = kl_summary({"l": torch.randn(6, 4)}, t, upper_steps=20, draws=2)
        >>> sorted(out), sorted(out["upper"])
        (['learned', 'random', 'upper'], ['l', 'mean'])
    """
    iou = getattr(targets, "iou", targets)
    dims = {name: vectors[name].shape[1] for name in iou if name in vectors}
    learned = kl_by_layer(vectors, iou, tau, exclude_diagonal)
    random = {
        name: random_baseline(t, dims[name], draws, tau=tau, exclude_diagonal=exclude_diagonal)
        for name, t in iou.items()
    }
    upper = {
        name: upper_bound(
            t,
            dims[name],
            steps=upper_steps,
            tau=tau,
            exclude_diagonal=exclude_diagonal,
            progress=False,
        )[1][-1]
        for name, t in iou.items()
    }
    for table in (random, upper):
        table["mean"] = sum(table.values()) / len(iou)
    return {"learned": learned, "random": random, "upper": upper}
