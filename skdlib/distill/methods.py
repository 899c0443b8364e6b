"""The distillation methods, one registry: each method is one entry that knows its features,
its loss and its default weights.

A training step of :class:`~skdlib.distill.DistillTrainer` computes::

    loss = ce_weight · CE(student logits, labels)
         + kd_weight · KD(student logits, teacher logits, T)          (kd_weight > 0)
         + beta · method.loss(student features, targets, config)     (the method has a loss)

The *features* are the tensors named by the method's ``taps`` on each model (hooked, see
:mod:`skdlib.distill.features`). The *targets* are the teacher's features on the same batch,
or — for a **static** method — the teacher's frozen semantic vectors: the teacher is then never
run. Whether a teacher forward pass happens follows from the entry alone
(:attr:`Method.teacher_forward`); there is no list of method names anywhere else.

=========== ============================================ ========== ==================
method       loss                                         weights    teacher forward
=========== ============================================ ========== ==================
``none``     CE                                           —          no
``kd``       0.1 CE + 0.9 KD(T=4)                         CRD        yes
``skd``      CE + β SKD (paper Eq. 2–3)                   β 0.5      **no**
``skd+kd``   CE + KD(T=4) + β SKD                         β 0.5      yes (for KD)
``sp``       CE + β SP (last stage)                       β 3000     yes
``rkd``      CE + β (25 distance + 50 angle), pooled      β 1        yes
``at``       CE + β Σ AT (stage outputs)                  β 1000     yes
``pkt``      CE + β PKT (pooled feature)                  β 30000    yes
=========== ============================================ ========== ==================

SKD's β is 0.05 for vgg13 → vgg8 (paper §3.2). Adding a method is one :func:`register` call
with its loss (``docs/adding-a-method.md``).

The table is plain data: a loss is named by ``"module:function"`` and imported when a run first
computes it, and taps by a :class:`~skdlib.distill.features.FeatureSpec` field, so the command
line lists the methods without loading torch.

Example:
    >>> get_method("skd").teacher_forward, get_method("kd").teacher_forward
    (False, True)
    >>> get_method("skd").default_beta("vgg13", "vgg8")
    0.05
"""

from __future__ import annotations

import functools
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from .config import DistillConfig
    from .features import FeatureSpec

    Features = Mapping[str, torch.Tensor]
    #: ``(student features, targets, config) -> scalar``; both mappings are ``{name: tensor}``.
    FeatureLoss = Callable[[Features, Features, DistillConfig], torch.Tensor]
    #: Which tensors of a model (hook names, :func:`skdlib.hooks.capture`) the loss compares.
    Taps = Callable[[FeatureSpec], Sequence[str]]

__all__ = ["Method", "METHODS", "register", "get_method"]


@functools.cache
def _import(ref: str):
    return pkgutil.resolve_name(ref)


def _resolve(ref):
    """A callable as it is; a ``"module:function"`` name imported (once)."""
    return _import(ref) if isinstance(ref, str) else ref


@dataclass(frozen=True, eq=False)
class Method:
    """One distillation method: its loss, the tensors it compares, and its default weights.

    Attributes:
        name: the key (``DistillConfig.method``, ``--method``, Table-1 configs).
        label: the row label in tables.
        description: one line for help texts.
        loss: the feature term — a :data:`FeatureLoss` or its ``"module:function"`` name,
            imported when first computed — or ``None`` (CE and KD only).
        taps: the features a teacher-guided loss compares: a field of
            :class:`~skdlib.distill.features.FeatureSpec` (``"feature_stages"``,
            ``"last_stage"``, ``"pooled"``, ...) or a function of the spec; the same taps are
            applied to the student's and the teacher's spec (paired by position). Static
            methods compare the embedded layers instead.
        static: the targets are the teacher's semantic vectors, paired with the student's
            layers by name: the teacher is never run for the feature term.
        relu: apply a ReLU to pre-activation features (CRD does, for AT and SP).
        beta: default weight of the feature term; ``beta_by_pair`` overrides it for
            ``(teacher, student)`` architecture pairs.
        ce_weight, kd_weight: default weights of cross-entropy and of KD (T from the config).
    """

    name: str
    label: str
    description: str
    loss: FeatureLoss | str | None = None
    taps: Taps | str | None = None
    static: bool = False
    relu: bool = False
    beta: float = 0.0
    beta_by_pair: Mapping[tuple[str, str], float] = field(default_factory=dict)
    ce_weight: float = 1.0
    kd_weight: float = 0.0

    @property
    def teacher_forward(self) -> bool:
        """Whether a training step runs the teacher (for KD, or for teacher features)."""
        return self.kd_weight > 0 or (self.loss is not None and not self.static)

    def default_beta(self, teacher: str | None = None, student: str | None = None) -> float:
        """β of the feature term for a ``(teacher, student)`` pair."""
        return self.beta_by_pair.get((teacher, student), self.beta)

    def tap_names(self, spec: FeatureSpec) -> list[str]:
        """The hook names this method compares on a model with features ``spec`` (no
        repeats, in order); ``[]`` for a method without taps."""
        if self.taps is None:
            return []
        names = getattr(spec, self.taps) if isinstance(self.taps, str) else self.taps(spec)
        names = [names] if isinstance(names, str) else list(names)
        return list(dict.fromkeys(names))

    def feature_loss(
        self, student: Features, targets: Features, config: DistillConfig
    ) -> torch.Tensor:
        """The feature term on one batch (the loss imported on first use)."""
        if self.loss is None:
            raise ValueError(f"method {self.name!r} has no feature loss")
        return _resolve(self.loss)(student, targets, config)


#: Every registered method by name, in registration order.
METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS` (its name must be new); returns it."""
    if method.name in METHODS:
        raise ValueError(f"a distillation method named {method.name!r} is already registered")
    if method.loss is not None and not method.static and method.taps is None:
        raise ValueError(f"method {method.name!r}: a teacher-guided loss needs taps")
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """The registered method ``name``; an unknown name lists the known ones.

    Example:
        >>> get_method("pkt").beta
        30000.0
    """
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; expected one of {', '.join(METHODS)}") from None


_LOSSES = "skdlib.distill.feature_losses"
_SKD_BETA_BY_PAIR = {("vgg13", "vgg8"): 0.05}

register(Method("none", "Student", "cross-entropy alone (a teacher, or the plain student)"))
register(Method("kd", "KD", "Hinton's KD: 0.1 CE + 0.9 KD(T)", ce_weight=0.1, kd_weight=0.9))
register(
    Method(
        "skd", "SKD", "static KD: the teacher's semantic vectors, no teacher forward (Eq. 2-3)",
        loss=f"{_LOSSES}:skd", static=True, beta=0.5, beta_by_pair=_SKD_BETA_BY_PAIR,
    )
)  # fmt: skip
register(
    Method(
        "skd+kd", "SKD+KD", "SKD and KD together (CE + KD + beta SKD)",
        loss=f"{_LOSSES}:skd", static=True, beta=0.5, beta_by_pair=_SKD_BETA_BY_PAIR,
        kd_weight=1.0,
    )
)  # fmt: skip
register(
    Method(
        "sp", "SP", "similarity-preserving: batch Gram of the last stage",
        loss=f"{_LOSSES}:sp", taps="last_stage", relu=True, beta=3000.0,
    )
)  # fmt: skip
register(
    Method(
        "rkd", "RKD", "relational KD: distances and angles of the pooled feature",
        loss=f"{_LOSSES}:rkd", taps="pooled", beta=1.0,
    )
)  # fmt: skip
register(
    Method(
        "at", "AT", "attention transfer over the stage outputs",
        loss=f"{_LOSSES}:at", taps="feature_stages", relu=True, beta=1000.0,
    )
)  # fmt: skip
register(
    Method(
        "pkt", "PKT", "probabilistic KT: cosine-kernel conditionals of the pooled feature",
        loss=f"{_LOSSES}:pkt", taps="pooled", beta=30000.0,
    )
)  # fmt: skip
