"""Where a CRD-zoo model's distillation features live: the module names to hook.

Feature-based methods compare tensors the model computes anyway. CRD (Tian et al. 2020) reads
them from a ``forward(is_feat=True)`` list; skdlib hooks the same modules instead
(:func:`skdlib.hooks.capture`), so the models stay plain. A method's entry in
:mod:`skdlib.distill.methods` picks which of these it compares.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..hooks import input_of
from ..models import architecture_of, classifier

__all__ = ["FeatureSpec", "feature_spec"]


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
    """

    stages: tuple[str, ...]
    feature_stages: tuple[str, ...]
    last_stage: str
    preactivation: bool
    classifier: str

    @property
    def pooled(self) -> str:
        """The classifier's input, the pooled and flattened feature (:func:`input_of`)."""
        return input_of(self.classifier)


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
    return FeatureSpec(
        stages=arch.stages,
        feature_stages=arch.feature_stages,
        last_stage=arch.stages[-1],
        preactivation=arch.preactivation,
        classifier=head,
    )
