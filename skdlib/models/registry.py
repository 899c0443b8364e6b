"""Every architecture skdlib can build or load, each declared once with its stages.

A *stage* is a module whose output the method taps: the embedding (Eq. 1) and Network Dissection
read a stage's channels as neurons, distillation compares student and teacher stage outputs.
Each :class:`Architecture` names its stages, their widths, how to build it and where its
weights come from; everything else asks this table (:func:`get_architecture`) instead of
spelling stage names itself. The table is plain data: reading it imports no torch, so the
command line can list the architectures at once.

============= ============== ============================ ==========================
family         names          stages                       widths
============= ============== ============================ ==========================
cifar          resnet20/32/   ``layer1..layer3``           16/32/64
               56/110
cifar          resnet8x4,     ``layer1..layer3``           64/128/256
               resnet32x4
cifar          wrn_16_2,      ``block1..block3``           32/64/128
               wrn_40_2
cifar          vgg8, vgg13    ``block0..block4``           64/128/256/512/512
torchvision    resnet18/34    ``layer1..layer4``           64/128/256/512
torchvision    resnet50       ``layer1..layer4``           256/512/1024/2048
============= ============== ============================ ==========================

The ``cifar`` family is the CRD benchmark's CIFAR-100 zoo (32x32 inputs, 100 classes, random
initialisation or a trained file, :mod:`skdlib.models.model_files`); the ``torchvision`` family
are ImageNet classifiers with torchvision's published weights
(:mod:`skdlib.models.torchvision_zoo`). Any other torchvision classification model can be
built by name too; it has no declared stages, so its caller names the layers.

Example:
    >>> get_architecture("resnet8x4").stages
    ('layer1', 'layer2', 'layer3')
    >>> get_architecture("resnet18").widths
    (64, 128, 256, 512)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = [
    "Architecture",
    "ARCHITECTURES",
    "CIFAR_ARCHS",
    "PAPER_PAIRS",
    "TORCHVISION_ARCHS",
    "get_architecture",
]


@dataclass(frozen=True)
class Architecture:
    """One architecture: how to build it and which of its modules are its stages.

    Attributes:
        name: the key everywhere (``arch`` in configs, ``--arch`` on the command line).
        family: ``"cifar"`` (the CRD zoo) or ``"torchvision"`` (ImageNet classifiers).
        stages: module names (as in ``model.named_modules()``) of the stage outputs, in order.
        widths: channels ``C_k`` of each stage output.
        builder: ``"module:function"`` taking ``num_classes`` (cifar) or ``weights``
            (torchvision); resolved only when a model is built.
        num_classes: outputs of the classifier by default (100 for CIFAR-100, 1000 ImageNet).
        feature_stages: the stages feature-based distillation compares (CRD's ``feat[1:-1]``):
            every stage but vgg's first block, which is a stem.
        preactivation: a hook on a stage sees the pre-ReLU output (vgg): methods comparing
            activations apply the ReLU that CRD applies.
        stem: the module whose output is CRD's ``feat[0]`` (the stem: resnet's stem ReLU,
            wrn's first conv, vgg's ``block0``), or ``None``; FSP compares it with the stages.
        stem_width: the channels of the stem's output.
        head: the modules outside CRD's ``get_feat_modules()`` (the classifier; wrn's final BN
            too): an initialisation stage (AB, FSP) keeps them frozen, in eval mode.
        preact_taps: ``"module:function"`` taking a built model and returning, per feature
            stage, the hooks whose outputs sum to the stage's pre-activation output (CRD's
            ``preact=True``) and the module applied to that sum, if any; ``None``: none known.
    """

    name: str
    family: str
    stages: tuple[str, ...]
    widths: tuple[int, ...]
    builder: str
    num_classes: int
    feature_stages: tuple[str, ...]
    preactivation: bool = False
    stem: str | None = None
    stem_width: int | None = None
    head: tuple[str, ...] = ()
    preact_taps: str | None = None

    def __post_init__(self) -> None:
        if len(self.stages) != len(self.widths):
            raise ValueError(f"{self.name}: {len(self.stages)} stages, {len(self.widths)} widths")
        if not set(self.feature_stages) <= set(self.stages):
            raise ValueError(f"{self.name}: feature stages {self.feature_stages} not all stages")


#: Per CIFAR family: CRD's stem module and the modules outside its ``get_feat_modules()``.
_STEM_AND_HEAD = {
    "resnet": ("relu", ("fc",)),
    "wrn": ("conv1", ("bn1", "fc")),
    "vgg": ("block0", ("classifier",)),
}


def _cifar(
    name: str, module: str, stages: tuple[str, ...], widths: tuple[int, ...], stem_width: int
):
    is_vgg = module == "vgg"
    stem, head = _STEM_AND_HEAD[module]
    return Architecture(
        name=name,
        family="cifar",
        stages=stages,
        widths=widths,
        builder=f"skdlib.models.cifar.{module}:{name}",
        num_classes=100,
        feature_stages=stages[1:] if is_vgg else stages,
        preactivation=is_vgg,
        stem=stem,
        stem_width=stem_width,
        head=head,
        preact_taps=f"skdlib.models.cifar.{module}:preact_taps",
    )


def _torchvision(name: str, widths: tuple[int, ...]) -> Architecture:
    stages = ("layer1", "layer2", "layer3", "layer4")
    return Architecture(
        name=name,
        family="torchvision",
        stages=stages,
        widths=widths,
        builder=f"torchvision.models:{name}",
        num_classes=1000,
        feature_stages=stages,
        head=("fc",),
    )


_RESNET = ("layer1", "layer2", "layer3")
_WRN = ("block1", "block2", "block3")
_VGG = ("block0", "block1", "block2", "block3", "block4")

#: Every declared architecture by name: the CRD CIFAR zoo first, then torchvision's.
ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        _cifar("resnet8x4", "resnet", _RESNET, (64, 128, 256), 32),
        _cifar("resnet32x4", "resnet", _RESNET, (64, 128, 256), 32),
        _cifar("resnet20", "resnet", _RESNET, (16, 32, 64), 16),
        _cifar("resnet32", "resnet", _RESNET, (16, 32, 64), 16),
        _cifar("resnet56", "resnet", _RESNET, (16, 32, 64), 16),
        _cifar("resnet110", "resnet", _RESNET, (16, 32, 64), 16),
        _cifar("wrn_16_2", "wrn", _WRN, (32, 64, 128), 16),
        _cifar("wrn_40_2", "wrn", _WRN, (32, 64, 128), 16),
        _cifar("vgg8", "vgg", _VGG, (64, 128, 256, 512, 512), 64),
        _cifar("vgg13", "vgg", _VGG, (64, 128, 256, 512, 512), 64),
        _torchvision("resnet18", (64, 128, 256, 512)),
        _torchvision("resnet34", (64, 128, 256, 512)),
        _torchvision("resnet50", (256, 512, 1024, 2048)),
    )
}

#: Names of the CIFAR-100 zoo (what ``distill --arch`` and Table-1 pairs take).
CIFAR_ARCHS: tuple[str, ...] = tuple(n for n, a in ARCHITECTURES.items() if a.family == "cifar")
#: Names of the declared torchvision architectures.
TORCHVISION_ARCHS: tuple[str, ...] = tuple(
    n for n, a in ARCHITECTURES.items() if a.family == "torchvision"
)

#: ``(teacher, student)`` pairs of the paper's Table 1 (CIFAR-100, same-family distillation).
PAPER_PAIRS: tuple[tuple[str, str], ...] = (
    ("wrn_40_2", "wrn_16_2"),
    ("resnet56", "resnet20"),
    ("resnet110", "resnet20"),
    ("resnet110", "resnet32"),
    ("resnet32x4", "resnet8x4"),
    ("vgg13", "vgg8"),
)


def get_architecture(name: str, family: str | None = None) -> Architecture:
    """The declared architecture ``name`` (of ``family``, when given).

    Raises:
        ValueError: an unknown name; the message suggests close matches and lists the names.

    Example:
        >>> get_architecture("vgg8").feature_stages
        ('block1', 'block2', 'block3', 'block4')
        >>> get_architecture("resnet8x5")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown architecture 'resnet8x5'. Did you mean 'resnet8x4', ...? ...
    """
    names = [n for n, a in ARCHITECTURES.items() if family is None or a.family == family]
    if name in names:
        return ARCHITECTURES[name]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    kind = f"{family} architecture" if family else "architecture"
    raise ValueError(f"unknown {kind} {name!r}.{hint} Valid names: {', '.join(names)}")
