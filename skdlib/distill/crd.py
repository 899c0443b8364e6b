"""Contrastive representation distillation (CRD; Tian et al. 2020): the memory bank of
embeddings for the whole training set, its negatives, and the NCE loss — as RepDistiller
(``crd/memory.py``, ``crd/criterion.py``, ``dataset/cifar100.py``) computes them.

Per training image ``i`` (its index in the training set), both networks' pooled features are
embedded (``Linear`` → L2 normalisation, 128-d, :mod:`skdlib.distill.method_modules`) into
``v_s`` and ``v_t``. Two memories hold one 128-d row per training image: ``memory_s`` (the
student's embeddings) and ``memory_t`` (the teacher's). For each image, ``K = 16384`` negatives
are drawn among the images **of other classes** (without replacement; with replacement only
when a class has fewer than ``K`` others), the image itself first::

    out_s[b, k] = exp(memory_t[idx[b, k]] · v_s[b] / T) / Z_s      (student anchor)
    out_t[b, k] = exp(memory_s[idx[b, k]] · v_t[b] / T) / Z_t      (teacher anchor)
    loss = NCE(out_s) + NCE(out_t)

with ``T = 0.07`` (as float32 stores it) and each ``Z`` fixed once, at the first batch, to the
mean score times ``N`` (the scores of random initial memories), then kept — in the checkpoint.
After the scores, the rows of the batch's images move: ``m ← normalise(0.5 m + 0.5 v)``.
``NCE(x) = −(Σ_b log(x_b0 / (x_b0 + K/N + ε)) + Σ_{b, k>0} log((K/N) / (x_bk + K/N + ε))) / B``.

The scores are one ``(N, 128) @ (128, B)`` product gathered at the indices — the same numbers
as RepDistiller's per-sample gather and batched product, up to float rounding, at a fraction of
the memory traffic.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ContrastMemory", "contrast_loss", "NCE_EPS"]

#: RepDistiller's ``eps`` in the NCE loss.
NCE_EPS = 1e-7


class ContrastMemory(nn.Module):
    """The two memories, the negative sampler and the normalisers ``Z`` of CRD.

    Args:
        dim: embedding size (128).
        labels: ``(N,)`` class of every training image, by index (draws the negatives).
        nce_k: negatives per image (16384).
        nce_t: temperature (0.07; used as float32 rounds it, as RepDistiller does).
        momentum: memory momentum (0.5).

    Buffers (saved with the state dict): ``memory_s``, ``memory_t`` ``(N, dim)``, initialised
    uniformly in ``±1/sqrt(dim/3)`` (student side drawn first), and ``z`` ``(2,)``: ``Z_s``,
    ``Z_t``, negative until the first batch sets them.

    Example:
        >>> mem = ContrastMemory(4, torch.tensor([0, 0, 1, 1, 2]), nce_k=3)
        >>> idx = mem.sample(torch.tensor([0, 2]), torch.tensor([0, 1]))
        >>> idx[:, 0].tolist(), bool((torch.tensor([0, 0, 1, 1, 2])[idx[0, 1:]] != 0).all())
        ([0, 2], True)
    """

    def __init__(
        self,
        dim: int,
        labels: torch.Tensor,
        nce_k: int = 16384,
        nce_t: float = 0.07,
        momentum: float = 0.5,
    ) -> None:
        super().__init__()
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        n = labels.numel()
        if n < 2 or int(nce_k) < 1:
            raise ValueError(f"CRD needs >= 2 training images and nce_k >= 1, got {n}, {nce_k}")
        self.k = int(nce_k)
        self.temperature = torch.tensor(nce_t, dtype=torch.float32).item()
        self.momentum = float(momentum)
        stdv = 1.0 / math.sqrt(dim / 3)
        self.register_buffer("memory_s", torch.rand(n, dim).mul_(2 * stdv).add_(-stdv))
        self.register_buffer("memory_t", torch.rand(n, dim).mul_(2 * stdv).add_(-stdv))
        self.register_buffer("z", torch.full((2,), -1.0))
        order = torch.argsort(labels, stable=True)
        counts = torch.bincount(labels)
        self.register_buffer("labels", labels, persistent=False)
        self.register_buffer("order", order, persistent=False)
        self.register_buffer("counts", counts, persistent=False)
        self.register_buffer("starts", torch.cumsum(counts, 0) - counts, persistent=False)

    @property
    def n_data(self) -> int:
        """``N``, the number of training images."""
        return self.memory_s.shape[0]

    def sample(self, index: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``(B,) -> (B, K + 1)`` memory rows: each image's own index, then ``K`` negatives
        drawn uniformly among the images of the other classes — without replacement, or with
        replacement when fewer than ``K`` exist (RepDistiller's rule) — from torch's global
        RNG (reseeded per epoch by the trainer, so a resumed run draws the same)."""
        index = index.reshape(-1).to(self.order.device)
        labels = labels.reshape(-1).to(self.order.device)
        if not torch.equal(self.labels[index], labels):
            raise ValueError(
                "CRD: the batch's labels are not those of its sample indices in the training "
                "set the memory bank was built for; pass the training set's labels "
                "(train_targets) and a loader that yields each image's index in it"
            )
        b, n, k = index.numel(), self.n_data, self.k
        pool = n - self.counts[labels]  # images of other classes, per row
        negatives = torch.empty(b, k, dtype=torch.long, device=index.device)
        exact = pool >= k
        if exact.any():  # without replacement: the k smallest of uniform keys
            keys = torch.rand(int(exact.sum()), n, device=index.device)
            keys[self.labels[None, :] == labels[exact, None]] = 2.0
            negatives[exact] = keys.topk(k, dim=1, largest=False).indices
        if (~exact).any():  # with replacement: uniform positions in the other classes' block
            rows = ~exact
            u = torch.rand(int(rows.sum()), k, device=index.device)
            pos = (u * pool[rows, None]).long().clamp_max(pool[rows, None] - 1)
            start, count = self.starts[labels[rows], None], self.counts[labels[rows], None]
            negatives[rows] = self.order[pos + count * (pos >= start)]
        return torch.cat([index[:, None], negatives], dim=1)

    def forward(
        self, v_s: torch.Tensor, v_t: torch.Tensor, index: torch.Tensor, contrast: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalised scores ``(out_s, out_t)``, each ``(B, K + 1)``, then the memory
        update of the batch's rows (the scores use the memory before it).

        Args:
            v_s, v_t: ``(B, dim)`` L2-normalised embeddings of student and teacher.
            index: ``(B,)`` the images' indices; contrast: ``(B, K + 1)`` from :meth:`sample`.
        """
        t = self.temperature
        scores_s = (self.memory_t @ v_s.T).T.gather(1, contrast)  # memory_t[idx] · v_s
        scores_t = (self.memory_s @ v_t.T).T.gather(1, contrast)
        out_s, out_t = torch.exp(scores_s / t), torch.exp(scores_t / t)
        if self.z[0] < 0:
            with torch.no_grad():
                self.z[0] = out_s.mean() * self.n_data
        if self.z[1] < 0:
            with torch.no_grad():
                self.z[1] = out_t.mean() * self.n_data
        out_s, out_t = out_s / self.z[0].item(), out_t / self.z[1].item()
        with torch.no_grad():  # out of place: the scores' backward still reads the old memory
            for name, v in (("memory_s", v_s), ("memory_t", v_t)):
                memory = getattr(self, name)
                rows = memory[index] * self.momentum + v * (1 - self.momentum)
                rows = rows / rows.pow(2).sum(1, keepdim=True).pow(0.5)
                setattr(self, name, memory.index_copy(0, index, rows))
        return out_s, out_t


def contrast_loss(scores: torch.Tensor, n_data: int, eps: float = NCE_EPS) -> torch.Tensor:
    """CRD's NCE loss (its Eq. 18) of ``(B, K + 1)`` normalised scores, the positive first.

    Example:
        >>> round(float(contrast_loss(torch.ones(2, 5), 100)), 4)  # -log(1/1.04) - 4 log(0.04/1.04)
        13.0716
    """
    b, m = scores.shape[0], scores.shape[1] - 1
    noise = m / float(n_data)
    pos = scores[:, 0]
    log_d1 = torch.log(pos / (pos + (noise + eps)))
    log_d0 = torch.log(torch.full_like(scores[:, 1:], noise) / (scores[:, 1:] + (noise + eps)))
    return -(log_d1.sum() + log_d0.sum()) / b
