"""CIFAR-100 model zoo of the CRD benchmark (Tian et al. 2020), used for the paper's Table 1.

Ten architectures in three families, all taking ``(B, 3, 32, 32)`` images and returning
``(B, num_classes)`` logits from a plain ``forward``:

========== ============================ ======================== ===================
family      names                        stage modules            stage widths
========== ============================ ======================== ===================
resnet      resnet20/32/56/110           ``layer1..layer3``       16/32/64
resnet x4   resnet8x4, resnet32x4        ``layer1..layer3``       64/128/256
wrn         wrn_16_2, wrn_40_2           ``block1..block3``       32/64/128
vgg         vgg8, vgg13                  ``block0..block4``       64/128/256/512/512
========== ============================ ======================== ===================

Stage spatial sizes are 32/16/8 (resnet, wrn) and 32/16/8/4/4 (vgg). What a forward hook on a
stage module sees: resnet -> post-ReLU block output; wrn -> pre-activation residual sum (the
BN + ReLU comes in the next group / the head); vgg -> pre-ReLU BN output.

Example:
    >>> import torch
    >>> from skdlib.distill.models import create_model, stage_names
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

import difflib
from collections.abc import Callable

from torch import nn

from skdlib.distill.models.cifar_resnet import (
    CifarResNet,
    resnet8x4,
    resnet20,
    resnet32,
    resnet32x4,
    resnet56,
    resnet110,
)
from skdlib.distill.models.vgg import VGG, vgg8, vgg13
from skdlib.distill.models.wrn import WideResNet, wrn_16_2, wrn_40_2

__all__ = [
    "MODEL_NAMES",
    "PAPER_PAIRS",
    "CifarResNet",
    "VGG",
    "WideResNet",
    "create_model",
    "stage_channels",
    "stage_names",
]

_BUILDERS: dict[str, Callable[[int], nn.Module]] = {
    "resnet8x4": resnet8x4,
    "resnet32x4": resnet32x4,
    "resnet20": resnet20,
    "resnet32": resnet32,
    "resnet56": resnet56,
    "resnet110": resnet110,
    "wrn_16_2": wrn_16_2,
    "wrn_40_2": wrn_40_2,
    "vgg8": vgg8,
    "vgg13": vgg13,
}

#: Names accepted by :func:`create_model`.
MODEL_NAMES: tuple[str, ...] = tuple(_BUILDERS)

#: ``(teacher, student)`` pairs of the paper's Table 1 (CIFAR-100, same-family distillation).
PAPER_PAIRS: tuple[tuple[str, str], ...] = (
    ("wrn_40_2", "wrn_16_2"),
    ("resnet56", "resnet20"),
    ("resnet110", "resnet20"),
    ("resnet110", "resnet32"),
    ("resnet32x4", "resnet8x4"),
    ("vgg13", "vgg8"),
)

_RESNET_STAGES = ["layer1", "layer2", "layer3"]
_WRN_STAGES = ["block1", "block2", "block3"]
_VGG_STAGES = ["block0", "block1", "block2", "block3", "block4"]

_STAGES: dict[str, tuple[list[str], list[int]]] = {
    "resnet8x4": (_RESNET_STAGES, [64, 128, 256]),
    "resnet32x4": (_RESNET_STAGES, [64, 128, 256]),
    "resnet20": (_RESNET_STAGES, [16, 32, 64]),
    "resnet32": (_RESNET_STAGES, [16, 32, 64]),
    "resnet56": (_RESNET_STAGES, [16, 32, 64]),
    "resnet110": (_RESNET_STAGES, [16, 32, 64]),
    "wrn_16_2": (_WRN_STAGES, [32, 64, 128]),
    "wrn_40_2": (_WRN_STAGES, [32, 64, 128]),
    "vgg8": (_VGG_STAGES, [64, 128, 256, 512, 512]),
    "vgg13": (_VGG_STAGES, [64, 128, 256, 512, 512]),
}


def _check_name(name: str) -> str:
    if name in _BUILDERS:
        return name
    close = difflib.get_close_matches(name, MODEL_NAMES, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown model {name!r}.{hint} Valid names: {', '.join(MODEL_NAMES)}")


def create_model(name: str, num_classes: int = 100) -> nn.Module:
    """Build a freshly initialised CRD-benchmark model.

    Args:
        name: one of :data:`MODEL_NAMES`.
        num_classes: number of logits (100 for CIFAR-100).

    Returns:
        An ``nn.Module`` mapping ``(B, 3, 32, 32)`` float images to ``(B, num_classes)`` logits,
        with a ``stage_names`` attribute (see :func:`stage_names`).

    Raises:
        ValueError: unknown ``name``; the message suggests close matches and lists valid names.

    Example:
        >>> import torch
        >>> create_model("wrn_16_2")(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 100])
    """
    return _BUILDERS[_check_name(name)](num_classes)


def stage_names(name_or_model: str | nn.Module) -> list[str]:
    """Module names (as in ``model.named_modules()``) of the model's stage outputs.

    Register forward hooks on ``model.get_submodule(n)`` for ``n`` in the result to capture the
    stage feature maps ``(B, C_k, H_k, W_k)`` without changing the model.

    Args:
        name_or_model: a name from :data:`MODEL_NAMES` or a model built by :func:`create_model`.

    Returns:
        ``["layer1", "layer2", "layer3"]`` for resnets, ``["block1", "block2", "block3"]`` for
        WRNs, ``["block0", ..., "block4"]`` for VGGs.

    Example:
        >>> stage_names("vgg8")
        ['block0', 'block1', 'block2', 'block3', 'block4']
    """
    if isinstance(name_or_model, nn.Module):
        names = getattr(name_or_model, "stage_names", None)
        if names is None:
            raise TypeError(f"{type(name_or_model).__name__} has no `stage_names` attribute")
        return list(names)
    return list(_STAGES[_check_name(name_or_model)][0])


def stage_channels(name_or_model: str | nn.Module) -> list[int]:
    """Channel counts ``C_k`` of the stage outputs named by :func:`stage_names`.

    Example:
        >>> stage_channels("resnet32x4")
        [64, 128, 256]
    """
    if isinstance(name_or_model, nn.Module):
        widths = []
        for n in stage_names(name_or_model):
            convs = [
                m for m in name_or_model.get_submodule(n).modules() if isinstance(m, nn.Conv2d)
            ]
            widths.append(convs[-1].out_channels)
        return widths
    return list(_STAGES[_check_name(name_or_model)][1])
