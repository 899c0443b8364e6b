"""Training on several processes with PyTorch's own engine: ``torchrun`` and DDP.

``torchrun --nproc_per_node N -m skdlib distill ...`` starts N processes ("ranks"); each calls
:func:`init_distributed`, which joins them into one process group (NCCL on GPUs, gloo on the CPU)
from the variables ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ...). Started
without ``torchrun``, it returns a one-process :class:`Distributed` and nothing changes.

Batch semantics: ``batch_size`` in a config is the **global** batch — the one a single process
would use — and each rank trains on ``batch_size / N`` images of every global batch, so the same
config gives the same optimisation on 1 or N processes (the gradient DDP averages over ranks is the
gradient of the global batch's mean loss). The learning rate therefore needs no rescaling.
Batch-norm statistics are per rank unless the model is converted with
``torch.nn.SyncBatchNorm`` (GPU only), as in torchvision's reference recipes.

Only rank 0 writes checkpoints, models and results (atomically); every rank reads the same
checkpoint to resume, so a run killed on any rank continues with ``torchrun`` and the same
command.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..runtime import resolve_device

__all__ = ["Distributed", "init_distributed", "rank_slice"]


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in a run: its ``rank`` of ``world`` processes, and its device.

    Example:
        >>> d = Distributed()
        >>> d.world, d.main, d.rank_batch(64)
        (1, True, 64)
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes files and shows progress."""
        return self.rank == 0

    def rank_batch(self, batch_size: int) -> int:
        """This rank's share of a global batch of ``batch_size`` images.

        Raises:
            ValueError: when ``batch_size`` is not a multiple of the number of processes.
        """
        if batch_size % self.world:
            raise ValueError(
                f"the global batch size {batch_size} is not a multiple of the {self.world} "
                f"processes: choose a batch size divisible by {self.world} (each process trains "
                "on an equal share of every batch)"
            )
        return batch_size // self.world

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over every rank (in place; returned)."""
        if self.world > 1:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def barrier(self) -> None:
        """Wait until every rank gets here (rank 0 has written its files)."""
        if self.world > 1:
            dist.barrier()


def init_distributed(device: str | torch.device | None = None) -> Distributed:
    """Join the process group ``torchrun`` prepared, or return a one-process :class:`Distributed`.

    Args:
        device: ``None``/``"auto"``: with CUDA, the GPU ``LOCAL_RANK`` (NCCL); else the CPU
            (gloo).

    Example (under ``torchrun --nproc_per_node 2``)::

        d = init_distributed()   # Distributed(rank=1, world=2, local_rank=1, device=cuda:1)
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed(device=resolve_device(device))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local)
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Distributed(rank=rank, world=world, local_rank=local, device=chosen)


def rank_slice(batches: Iterator, d: Distributed) -> Iterator:
    """This rank's part of every global batch: items ``[r·b, (r+1)·b)`` of each tensor of a
    batch, with ``b = len / world``. A last, smaller global batch is split as evenly as it goes.

    Example:
        >>> d = Distributed(rank=1, world=2)
        >>> [x.tolist() for (x,) in rank_slice(iter([(torch.arange(4),)]), d)]
        [[2, 3]]
    """
    for batch in batches:
        n = batch[0].shape[0]
        per = -(-n // d.world)
        lo, hi = d.rank * per, min(n, (d.rank + 1) * per)
        yield tuple(t[lo:hi] for t in batch)
