"""Building a model of the registry (:mod:`skdlib.models.registry`) and asking it for its stages.

:func:`create_model` builds any declared architecture — a CIFAR-zoo model freshly initialised, or
a torchvision classifier with random or ImageNet weights — and records its name on the module
(``model.arch``), so :func:`stage_names` and :func:`stage_channels` answer for the model itself.

Example:
    >>> import torch
    >>> net = create_model("resnet8x4")
    >>> feats = {}
    >>> for n in stage_names(net):
    ...     _ = net.get_submodule(n).register_forward_hook(
    ...         lambda m, i, o, n=n: feats.__setitem__(n, o))
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 100])
    >>> [tuple(feats[n].shape[1:]) for n in stage_names(net)]
    [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
"""

from __future__ import annotations

import pkgutil

from torch import nn

from .registry import ARCHITECTURES, Architecture, get_architecture

__all__ = ["create_model", "architecture_of", "stage_names", "stage_channels", "classifier"]


def create_model(arch: str, num_classes: int | None = None, weights: str = "none") -> nn.Module:
    """Build ``arch``: a CIFAR-zoo model, or a torchvision classifier.

    Args:
        arch: a name of :data:`~skdlib.models.registry.ARCHITECTURES`, or any other torchvision
            classification model (which then has no declared stages).
        num_classes: logits (default: the architecture's, 100 for the CIFAR zoo). torchvision
            models keep their 1000 ImageNet outputs unless another number is given (then with
            random weights).
        weights: ``"none"`` (random initialisation) or ``"imagenet"`` (torchvision's published
            weights, downloaded on first use; a clear error offline). CIFAR-zoo weights are
            files: :func:`skdlib.models.model_files.load_model`.

    Returns:
        The model, with ``model.arch = arch``. CIFAR-zoo models map ``(B, 3, 32, 32)`` to
        ``(B, num_classes)``.

    Example:
        >>> import torch
        >>> create_model("wrn_16_2")(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 100])
        >>> create_model("resnet18", num_classes=52).fc.out_features
        52
    """
    entry = ARCHITECTURES.get(arch)
    if entry is not None and entry.family == "cifar":
        if weights != "none":
            raise ValueError(
                f"{arch} has no published weights here: train it (python -m skdlib distill) or "
                "load a trained file with skdlib.models.load_model"
            )
        classes = entry.num_classes if num_classes is None else num_classes
        model = pkgutil.resolve_name(entry.builder)(classes)
    else:
        from .torchvision_zoo import is_torchvision_model, load_torchvision_model

        if entry is None and not is_torchvision_model(arch):
            get_architecture(arch)  # raises, suggesting close names
        model = load_torchvision_model(arch, weights, num_classes)
    model.arch = arch
    return model


def architecture_of(model_or_arch: str | nn.Module) -> Architecture:
    """The registry entry of a name, or of a model.

    A model built by :func:`create_model` carries its name (``model.arch``). A model of your
    own declares its stages with a ``stage_names`` attribute (module names, in order): it is then
    described as an architecture of family ``"custom"`` whose widths are those of the last
    convolution of each stage.

    Example:
        >>> architecture_of(create_model("vgg8")).preactivation
        True
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
        >>> net.stage_names = ["0"]
        >>> architecture_of(net).widths
        (4,)
    """
    if not isinstance(model_or_arch, nn.Module):
        return get_architecture(model_or_arch)
    arch = getattr(model_or_arch, "arch", None)
    if arch is not None:
        return get_architecture(arch)
    stages = getattr(model_or_arch, "stage_names", None)
    if stages is None:
        raise TypeError(
            f"{type(model_or_arch).__name__} was neither built by skdlib.models.create_model nor "
            "declares its stages (a `stage_names` attribute): name its layers yourself"
        )
    widths = []
    for name in stages:
        convs = [m for m in model_or_arch.get_submodule(name).modules() if isinstance(m, nn.Conv2d)]
        widths.append(convs[-1].out_channels if convs else 0)
    return Architecture(
        name=type(model_or_arch).__name__,
        family="custom",
        stages=tuple(stages),
        widths=tuple(widths),
        builder="",
        num_classes=0,
        feature_stages=tuple(stages),
    )


def stage_names(model_or_arch: str | nn.Module) -> list[str]:
    """Module names (as in ``model.named_modules()``) of the stage outputs.

    Register forward hooks on ``model.get_submodule(n)`` for ``n`` in the result to capture the
    stage feature maps ``(B, C_k, H_k, W_k)`` without changing the model.

    Example:
        >>> stage_names("vgg8")
        ['block0', 'block1', 'block2', 'block3', 'block4']
    """
    return list(architecture_of(model_or_arch).stages)


def stage_channels(model_or_arch: str | nn.Module) -> list[int]:
    """Channel counts ``C_k`` of the stage outputs named by :func:`stage_names`.

    Example:
        >>> stage_channels("resnet32x4")
        [64, 128, 256]
    """
    return list(architecture_of(model_or_arch).widths)


def classifier(model: nn.Module) -> tuple[str, nn.Linear]:
    """The model's classifier, its last ``nn.Linear``: ``(module name, module)``.

    Example:
        >>> name, fc = classifier(create_model("resnet20"))
        >>> name, fc.out_features
        ('fc', 100)
    """
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f"{type(model).__name__} has no nn.Linear classifier")
    return linears[-1]
