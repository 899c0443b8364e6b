"""Capture the outputs of named modules ("layers") with forward hooks.

A *layer name* is a key of ``model.named_modules()``, e.g. ``"layer4"`` or ``"layer4.1.conv2"``
for a torchvision ResNet. :func:`capture` registers one forward hook per name for the duration of a
``with`` block and removes every hook on exit, also when the block raises::

    with capture(model, ["layer1", "layer4"]) as acts:
        model(images)
    acts["layer4"].shape            # (B, 512, 7, 7) for ResNet18 at 224x224

After each forward call the dict holds that call's outputs (later calls overwrite earlier ones).

A module's *input* is recorded by naming it :func:`input_of` the module, e.g. ``"fc:input"``
for the pooled feature a ResNet's classifier receives. This one mechanism serves the embedding,
Network Dissection, the figures and the distillation baselines.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from .runtime import eval_mode, model_device

__all__ = [
    "module_names",
    "resolve_modules",
    "input_of",
    "capture",
    "layer_channels",
    "check_finite",
    "NonFiniteActivationError",
]

#: Suffix of a name that asks :func:`capture` for a module's input instead of its output.
INPUT_SUFFIX = ":input"


def input_of(name: str) -> str:
    """The :func:`capture` name of ``name``'s input (its first positional argument).

    Example:
        >>> input_of("fc")
        'fc:input'
    """
    return name + INPUT_SUFFIX


def _module_name(name: str) -> str:
    return name[: -len(INPUT_SUFFIX)] if name.endswith(INPUT_SUFFIX) else name


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
        module = _module_name(name)
        if module not in table:
            close = difflib.get_close_matches(module, list(table), n=6, cutoff=0.5)
            top = [n for n in table if "." not in n]
            hint = f"close matches: {', '.join(close)}" if close else "no close match"
            raise KeyError(
                f"{type(model).__name__} has no module named {module!r} ({hint}); "
                f"top-level modules: {', '.join(top[:20])}. "
                "Valid names are those of model.named_modules(); see skdlib.hooks.module_names."
            )
        resolved[name] = table[module]
    return resolved


@contextmanager
def capture(
    model: nn.Module, names: Sequence[str], detach: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of the named modules during forward passes inside the ``with`` block.

    Args:
        model: any ``nn.Module`` (torchvision models included).
        names: layer names (see :func:`module_names`), or :func:`input_of` a layer to record its
            input; an unknown name raises ``KeyError`` before any hook is registered, listing
            close matches.
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
        >>> with capture(net, [input_of("1")]) as acts:
        ...     _ = net(torch.randn(2, 3, 5, 5))
        >>> acts["1:input"].shape                 # what the ReLU received
        torch.Size([2, 8, 3, 3])
    """
    modules = resolve_modules(model, names)
    outputs: dict[str, torch.Tensor] = {}
    handles = []

    def store(name: str, value) -> None:
        if not isinstance(value, torch.Tensor):
            what = "received" if name.endswith(INPUT_SUFFIX) else "returned"
            raise TypeError(
                f"layer {_module_name(name)!r} {what} {type(value).__name__}, not a tensor; "
                "capture a submodule whose output is a single tensor"
            )
        outputs[name] = value.detach() if detach else value

    def make_hook(name: str):
        if name.endswith(INPUT_SUFFIX):
            return lambda _module, inputs: store(name, inputs[0] if inputs else None)
        return lambda _module, _inputs, output: store(name, output)

    try:
        for name, module in modules.items():
            register = (
                module.register_forward_pre_hook
                if name.endswith(INPUT_SUFFIX)
                else module.register_forward_hook
            )
            handles.append(register(make_hook(name)))
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
    with eval_mode(model), torch.no_grad(), capture(model, names) as acts:
        model(torch.zeros(1, *input_shape, device=model_device(model)))
    missing = [n for n in names if n not in acts]
    if missing:
        raise RuntimeError(f"layers {missing} were not called during the forward pass")
    return {name: int(acts[name].shape[1]) for name in names}


class NonFiniteActivationError(FloatingPointError, ValueError):
    """Captured activations hold NaN or ±inf (raised by :func:`check_finite`)."""


def _listed(items: Sequence, shown: int) -> str:
    more = f" ... ({len(items)} in all)" if len(items) > shown else ""
    return f"[{', '.join(str(i) for i in items[:shown])}]{more}"


def check_finite(
    acts: Mapping[str, torch.Tensor],
    layers: Sequence[str],
    where: str,
    images: Callable[[list[int]], Sequence[str]] | None = None,
    advice: str = "check the model's weights and its inputs",
) -> None:
    """Raise :class:`NonFiniteActivationError` if a layer's captured activations hold NaN/±inf.

    The check the embedding trainer and :func:`~skdlib.dissect.dissect` run after every forward
    pass. When everything is finite it costs one ``torch.aminmax`` per layer and a single
    device-to-host sync for all of them; the details are computed only on failure.

    Args:
        acts: ``{layer: (B, units, ...)}`` as filled by :func:`capture`.
        layers: the layers to check, in order (the first non-finite one is reported).
        where: which batch, for the message (e.g. ``"batch 3 of the first pass"``).
        images: turns batch positions into image names (file paths, data-set rows); without
            it the message gives the positions only.
        advice: the end of the message, after a semicolon: what to do.

    Raises:
        NonFiniteActivationError: naming the layer, how many images and which (their batch
            positions, and ``images(...)`` of the first five), the kinds (``NaN``, ``+inf``,
            ``-inf``) and the units (dim 1) where they occur, then ``advice``.

    Example:
        >>> a = torch.zeros(3, 4, 2, 2); a[1, 2, 0, 0] = float("inf")
        >>> check_finite({"x": a}, ["x"], "batch 1", advice="check the weights")
        Traceback (most recent call last):
        ...
        skdlib.hooks.NonFiniteActivationError: layer 'x': non-finite activations (NaN or inf) \
on 1 image(s) of batch 1, at batch positions [1]; +inf in unit(s) [2]; check the weights
    """
    # a NaN makes both extremes NaN and an inf is one of them: finite iff min and max are,
    # one reduction per layer with no tensor of flags (17x faster than isfinite(a).all())
    extremes = [
        torch.stack(torch.aminmax(a)) if a.numel() else a.new_zeros(2)
        for a in (acts[name].detach() for name in layers)
    ]
    flags = torch.stack([torch.isfinite(e).all() for e in extremes])
    if bool(flags.all()):
        return
    name = layers[int((~flags).nonzero()[0])]
    a = acts[name].detach()
    bad = ~torch.isfinite(a)
    positions = bad.flatten(1).any(1).nonzero().flatten().tolist()
    units = bad.transpose(0, 1).flatten(1).any(1).nonzero().flatten().tolist()
    kinds = [
        kind
        for kind, mask in (("NaN", a.isnan()), ("+inf", a == torch.inf), ("-inf", a == -torch.inf))
        if bool(mask.any())
    ]
    named = ""
    if images is not None:
        shown = list(images(positions[:5]))
        named = ": " + ", ".join(shown) + (" ..." if len(positions) > 5 else "")
    raise NonFiniteActivationError(
        f"layer {name!r}: non-finite activations (NaN or inf) on {len(positions)} image(s) of "
        f"{where}, at batch positions {_listed(positions, 10)}{named}; {' and '.join(kinds)} in "
        f"unit(s) {_listed(units, 10)}; {advice}"
    )
