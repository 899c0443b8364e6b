"""Capture the outputs of named modules ("layers") with forward hooks.

A *layer name* is a key of ``model.named_modules()``, e.g. ``"layer4"`` or ``"layer4.1.conv2"``
for a torchvision ResNet. :func:`capture` registers one forward hook per name for the duration of a
``with`` block and removes every hook on exit, also when the block raises::

    with capture(model, ["layer1", "layer4"]) as acts:
        model(images)
    acts["layer4"].shape            # (B, 512, 7, 7) for ResNet18 at 224x224

After each forward call the dict holds that call's outputs (later calls overwrite earlier ones).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["module_names", "resolve_modules", "capture", "layer_channels"]


def module_names(model: nn.Module) -> list[str]:
    """All addressable layer names of ``model`` (``named_modules`` without the root ``""``).

    Example:
        >>> module_names(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()))
        ['0', '1']
    """
    return [name for name, _ in model.named_modules() if name]


def resolve_modules(model: nn.Module, names: Sequence[str]) -> dict[str, nn.Module]:
    """Map layer names to modules, or raise a ``KeyError`` that lists the nearest valid names.

    Args:
        model: any ``nn.Module``.
        names: layer names, as in ``model.named_modules()``.

    Example:
        >>> resolve_modules(nn.Sequential(nn.ReLU()), ["0"])
        {'0': ReLU()}
    """
    if isinstance(names, str):
        names = [names]
    table = dict(model.named_modules())
    table.pop("", None)
    resolved = {}
    for name in names:
        if name not in table:
            close = difflib.get_close_matches(name, list(table), n=6, cutoff=0.5)
            top = [n for n in table if "." not in n]
            hint = f"close matches: {', '.join(close)}" if close else "no close match"
            raise KeyError(
                f"{type(model).__name__} has no module named {name!r} ({hint}); "
                f"top-level modules: {', '.join(top[:20])}. "
                "Valid names are those of model.named_modules(); see skdlib.hooks.module_names."
            )
        resolved[name] = table[name]
    return resolved


@contextmanager
def capture(
    model: nn.Module, names: Sequence[str], detach: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of the named modules during forward passes inside the ``with`` block.

    Args:
        model: any ``nn.Module`` (torchvision models included).
        names: layer names (see :func:`module_names`); an unknown name raises ``KeyError`` before
            any hook is registered, listing close matches.
        detach: store ``output.detach()`` instead of the output (for frozen models that should not
            keep the autograd graph alive).

    Yields:
        A dict ``{name: output}`` filled by each forward pass; its keys follow ``names``' order.
        A module whose output is not a tensor raises ``TypeError`` naming the module.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        >>> with capture(net, ["1"]) as acts:
        ...     _ = net(torch.randn(2, 3, 5, 5))
        >>> acts["1"].shape
        torch.Size([2, 8, 3, 3])
    """
    modules = resolve_modules(model, names)
    outputs: dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs, output) -> None:
            if not isinstance(output, torch.Tensor):
                raise TypeError(
                    f"layer {name!r} returned {type(output).__name__}, not a tensor; "
                    "capture a submodule whose output is a single tensor"
                )
            outputs[name] = output.detach() if detach else output

        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def layer_channels(
    model: nn.Module, names: Sequence[str], input_shape: Sequence[int] = (3, 224, 224)
) -> dict[str, int]:
    """Channel count (dim 1) of each named layer's output, from one dry forward pass.

    The pass uses a zero input of shape ``(1, *input_shape)`` on the model's device, in eval mode
    and without gradient; the model's train/eval mode is restored afterwards.

    Example:
        >>> layer_channels(nn.Sequential(nn.Conv2d(3, 8, 3)), ["0"], (3, 5, 5))
        {'0': 8}
    """
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), capture(model, names) as acts:
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
    missing = [n for n in names if n not in acts]
    if missing:
        raise RuntimeError(f"layers {missing} were not called during the forward pass")
    return {name: int(acts[name].shape[1]) for name in names}
