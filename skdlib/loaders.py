"""The one way skdlib builds a ``DataLoader``: workers, pinning, persistence and seeding.

Every job reads its images through :func:`make_loader`, so they all decide the same things the
same way:

* **workers** — ``None`` means :func:`default_workers`: ``$SKD_WORKERS`` if set, else the CPUs
  this process may use minus one, at most 8, and none on a machine with 2 CPUs or fewer;
* **pinning** — page-locked batches exactly when the batches go to a CUDA device;
* **persistence** — worker processes live across epochs whenever there are any;
* **seeding** — ``seed`` fixes the shuffled order (its own generator, not the global one);
  PyTorch seeds each worker's ``random``, ``numpy`` and ``torch`` from it.

Example:
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> data = TensorDataset(torch.arange(6.0))
    >>> [b[0].tolist() for b in make_loader(data, 3, shuffle=True, seed=0, workers=0)]
    [[5.0, 1.0, 0.0], [3.0, 2.0, 4.0]]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported when a loader is built: the command line reads this module
    import torch
    from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["WORKERS_ENV", "default_workers", "make_loader"]

#: Overrides :func:`default_workers` (a number of worker processes, e.g. ``SKD_WORKERS=0``).
WORKERS_ENV = "SKD_WORKERS"


def default_workers(cap: int = 8) -> int:
    """How many ``DataLoader`` worker processes to decode images with, when none was chosen.

    ``$SKD_WORKERS`` if set; else the CPUs this process may use minus one for the main process,
    at most ``cap``, and 0 (decode in the main process) on a machine with 2 CPUs or fewer, where
    a worker would only compete with the training loop for the same cores. Decoding a Broden
    JPEG and its segmentation PNGs takes about 1.6 ms, which at the paper's scale (100 epochs of
    63k images) is hours unless it overlaps with the GPU's work.

    Example:
        >>> import os
        >>> os.environ["SKD_WORKERS"] = "3"; default_workers()
        3
        >>> del os.environ["SKD_WORKERS"]
    """
    chosen = os.environ.get(WORKERS_ENV, "").strip()
    if chosen:
        try:
            value = int(chosen)
        except ValueError:
            raise ValueError(f"{WORKERS_ENV} must be a whole number >= 0, got {chosen!r}") from None
        if value < 0:
            raise ValueError(f"{WORKERS_ENV} must be a whole number >= 0, got {chosen!r}")
        return value
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return 0 if cpus <= 2 else min(cap, cpus - 1)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    workers: int | None = None,
    device: str | torch.device | None = "cpu",
    seed: int | None = None,
    sampler: Sampler | None = None,
    drop_last: bool = False,
    collate_fn: Callable[[list], Any] | None = None,
) -> DataLoader:
    """A ``DataLoader`` over ``dataset`` built by the rules of the module docstring.

    Args:
        dataset: any map-style dataset.
        batch_size: items per batch.
        shuffle: a new random order every epoch (ignored with a ``sampler``, which orders).
        workers: decoding processes; ``None`` is :func:`default_workers`.
        device: where the batches will be used (``"auto"``: the GPU when present); decides
            pinning.
        seed: seeds the shuffled order; ``None`` draws it from the global generator.
        sampler, drop_last, collate_fn: as ``DataLoader``'s.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> loader = make_loader(TensorDataset(torch.zeros(10, 2)), 4, workers=0)
        >>> len(loader), loader.pin_memory
        (3, False)
    """
    import torch
    from torch.utils.data import DataLoader

    from .runtime import resolve_device

    workers = default_workers() if workers is None else workers
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_fn,
        pin_memory=resolve_device(device).type == "cuda",
        drop_last=drop_last,
        persistent_workers=workers > 0,
        generator=generator,
    )
