"""Where and how a model runs: the compute device, and modes that restore themselves.

Every part of skdlib that runs someone else's model — the embedding trainer, dissection, the
figures, evaluation — must leave the model as it found it. :func:`eval_mode` and :func:`frozen`
are the one way to do that: they switch the model for the duration of a ``with`` block and
restore its train/eval mode (and, for :func:`frozen`, its parameters' ``requires_grad``) on exit,
also when the block raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = [
    "resolve_device",
    "model_device",
    "eval_mode",
    "frozen",
    "cpu_threads",
]


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"`` gives ``cuda`` when available, else ``cpu``; anything else is parsed.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device} was requested but CUDA is not available here")
    return device


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (the CPU for a model without parameters).

    Example:
        >>> model_device(nn.Linear(2, 2))
        device(type='cpu')
    """
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode for the block; its previous train/eval mode is restored after.

    Example:
        >>> net = nn.Dropout().train()
        >>> with eval_mode(net):
        ...     net.training
        False
        >>> net.training
        True
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """:func:`eval_mode`, and no gradient for the parameters that had one; both restored after.

    Example:
        >>> net = nn.Linear(2, 2)
        >>> with frozen(net):
        ...     net.weight.requires_grad
        False
        >>> net.weight.requires_grad
        True
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    try:
        with eval_mode(model):
            yield model
    finally:
        for p in trainable:
            p.requires_grad_(True)


@contextmanager
def cpu_threads(n: int) -> Iterator[int]:
    """Limit torch's CPU intra-op threads to ``n`` inside a ``with`` block, restored on exit.

    For work made of many short memory-bound operations (the dissection tally): each parallel
    operation waits for all of its threads, so on a machine whose cores are shared with other
    processes every operation waits for a descheduled thread, and such work runs several times
    slower with two threads than with one (``benchmarks/bench_tally.py`` measures it).

    Example:
        >>> before = torch.get_num_threads()
        >>> with cpu_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    before = torch.get_num_threads()
    if n >= before:
        yield before
        return
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
