"""Where a CRD-zoo model's distillation features live: the module names to hook.

Feature-based methods compare tensors the model computes anyway. CRD (Tian et al. 2020) reads
them from a ``forward(is_feat=True)`` list; skdlib hooks the same modules instead
(:func:`skdlib.hooks.capture`), so the models stay plain. A method's entry in
:mod:`skdlib.distill.methods` picks which of these it compares.
"""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass

from torch import nn

from ..hooks import input_of
from ..models import architecture_of, classifier

__all__ = ["FeatureSpec", "Preact", "feature_spec"]

#: One pre-activation stage output: the sum of the hooked ``parts``, then the module ``then``
#: applied to it (``None``: nothing), as the model's ``preact_taps`` declares it.
Preact = tuple[tuple[str, ...], str | None]


@dataclass(frozen=True)
class FeatureSpec:
    """The distillation features of one model, as module names for hooks.

    Attributes:
        stages: every stage-output module (:func:`skdlib.models.stage_names`).
        feature_stages: the stages feature baselines compare (CRD's ``feat[1:-1]``: vgg's first
            block, a stem, is left out).
        last_stage: the last stage (what SP compares).
        preactivation: the hooks see pre-ReLU stage outputs (vgg); methods that compare
            activations (AT, SP) apply the ReLU CRD applies.
        classifier: the final linear layer; its input is the pooled feature (RKD, PKT),
            :attr:`pooled`.
        stem: CRD's ``feat[0]`` (resnet's stem ReLU, wrn's first conv, vgg's ``block0``), or
            ``None`` when the architecture declares none.
        head: modules outside CRD's feature modules (frozen in an initialisation stage).
        preact: per feature stage, how CRD's ``preact=True`` output is hooked (:data:`Preact`);
            empty when the architecture declares none.
        input_size: the side of the square images the model takes (32 for the CIFAR zoo).
    """

    stages: tuple[str, ...]
    feature_stages: tuple[str, ...]
    last_stage: str
    preactivation: bool
    classifier: str
    stem: str | None = None
    head: tuple[str, ...] = ()
    preact: tuple[Preact, ...] = ()
    input_size: int = 32

    @property
    def pooled(self) -> str:
        """The classifier's input, the pooled and flattened feature (:func:`input_of`)."""
        return input_of(self.classifier)

    @property
    def hint_stage(self) -> str:
        """FitNet's hint: CRD's ``feat[hint_layer=2]``, the second feature stage (resnet
        ``layer2``, wrn ``block2``, vgg ``block2``)."""
        return self.feature_stages[1]

    @property
    def stem_and_stages(self) -> tuple[str, ...]:
        """CRD's ``feat[:-1]``: the stem, then the feature stages (what FSP pairs up)."""
        if self.stem is None:
            raise ValueError(
                "this architecture declares no stem (CRD's feat[0]); FSP needs it: declare "
                "`stem` in its skdlib.models.registry entry"
            )
        return (self.stem, *self.feature_stages)


def feature_spec(model: nn.Module) -> FeatureSpec:
    """The :class:`FeatureSpec` of a model built by :func:`skdlib.models.create_model`, read
    from its entry in the registry (:mod:`skdlib.models.registry`).

    Example:
        >>> from skdlib.models import create_model
        >>> feature_spec(create_model("vgg8")).feature_stages
        ('block1', 'block2', 'block3', 'block4')
        >>> feature_spec(create_model("resnet20")).classifier
        'fc'
    """
    arch = architecture_of(model)
    head, _ = classifier(model)
    preact = pkgutil.resolve_name(arch.preact_taps)(model) if arch.preact_taps else ()
    return FeatureSpec(
        stages=arch.stages,
        feature_stages=arch.feature_stages,
        last_stage=arch.stages[-1],
        preactivation=arch.preactivation,
        classifier=head,
        stem=arch.stem,
        head=arch.head or (head,),
        preact=tuple(preact),
        input_size=224 if arch.family == "torchvision" else 32,
    )
