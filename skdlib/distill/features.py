"""Where a CRD-zoo model's distillation features live: the module names to hook.

Feature-based methods compare tensors the model computes anyway. CRD (Tian et al. 2020) reads
them from a ``forward(is_feat=True)`` list; skdlib hooks the same modules instead
(:func:`skdlib.hooks.capture`), so the models stay plain. A method's entry in
:mod:`skdlib.distill.methods` picks which of these it compares.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .models import VGG, stage_names

__all__ = ["FeatureSpec", "feature_spec", "classifier"]


@dataclass(frozen=True)
class FeatureSpec:
    """The distillation features of one model, as module names for hooks.

    Attributes:
        stages: every stage-output module (:func:`skdlib.distill.models.stage_names`).
        feature_stages: the stages feature baselines compare (CRD's ``feat[1:-1]``: vgg's first
            block, a stem, is left out).
        last_stage: the last stage (what SP compares).
        preactivation: the hooks see pre-ReLU stage outputs (vgg); methods that compare
            activations (AT, SP) apply the ReLU CRD applies.
        classifier: the final linear layer; its input is the pooled feature (RKD, PKT).
    """

    stages: tuple[str, ...]
    feature_stages: tuple[str, ...]
    last_stage: str
    preactivation: bool
    classifier: str


def classifier(model: nn.Module) -> tuple[str, nn.Linear]:
    """The model's classifier, its last ``nn.Linear``: ``(module name, module)``.

    Example:
        >>> from skdlib.distill.models import create_model
        >>> name, fc = classifier(create_model("resnet20"))
        >>> name, fc.out_features
        ('fc', 100)
    """
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f"{type(model).__name__} has no nn.Linear classifier")
    return linears[-1]


def feature_spec(model: nn.Module) -> FeatureSpec:
    """The :class:`FeatureSpec` of a model built by :func:`skdlib.distill.models.create_model`.

    Example:
        >>> from skdlib.distill.models import create_model
        >>> feature_spec(create_model("vgg8")).feature_stages
        ('block1', 'block2', 'block3', 'block4')
        >>> feature_spec(create_model("resnet20")).classifier
        'fc'
    """
    stages = tuple(stage_names(model))
    head, _ = classifier(model)
    is_vgg = isinstance(model, VGG)
    return FeatureSpec(
        stages=stages,
        feature_stages=stages[1:] if is_vgg else stages,
        last_stage=stages[-1],
        preactivation=is_vgg,
        classifier=head,
    )
