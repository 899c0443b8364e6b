"""The distillation methods, one registry: each method is one entry that knows its features,
its loss, its trainable modules, its initialisation stage and its default weights.

A training step of :class:`~skdlib.distill.DistillTrainer` computes::

    loss = ce_weight · CE(student logits, labels)
         + kd_weight · KD(student logits, teacher logits, T)          (kd_weight > 0)
         + beta · method.loss(student features, targets, step)       (the method has a loss)

The *features* are the tensors named by the method's ``taps`` on each model (hooked, see
:mod:`skdlib.distill.features`). The *targets* are the teacher's features on the same batch,
or — for a **static** method — the teacher's frozen semantic vectors: the teacher is then never
run. ``step`` (:class:`StepInputs`) carries the rest a loss may read: the run's config and
settings, the method's trainable modules, both models' logits, the labels, the sample indices
and the epoch. Whether a teacher forward pass happens follows from the entry alone
(:attr:`Method.teacher_forward`); there is no list of method names anywhere else.

Every default is the CRD protocol's (RepDistiller, ``scripts/run_cifar_distill.sh``; DKD:
mdistiller's configs), grouped as the paper's Table 1 groups them:

======== ========== ================================================ ========== ============
group    method     what it transfers (loss, compared tensors)       weights    modules/init
======== ========== ================================================ ========== ============
—        ``none``   nothing: CE alone                                —          —
logit    ``kd``     softened logits, 0.1 CE + 0.9 KD(T=4)            CRD        —
logit    ``pkt``    cosine-kernel conditionals of the pooled feature β 30000    —
logit    ``crd``    contrastive (NCE) match of pooled embeddings     β 0.8      embeds, memory
logit    ``dkd``    target / non-target KD, α 1, β 8 (per pair), T 4 1 · warm-up —
feature  ``fitnet`` MSE of a regressed hint (2nd feature stage)      β 100      regressor
feature  ``at``     attention maps mean_c a² of the feature stages   β 1000     —
feature  ``vid``    Gaussian likelihood of teacher maps from student β 1        regressors
feature  ``ab``     activation boundaries (pre-ReLU), init only      (β 1)      connector, init
feature  ``ft``     L1 of factors: translator vs paraphraser         β 200      both, init
feature  ``nst``    polynomial-kernel MMD of channel distributions   β 50       —
relation ``fsp``    FSP (Gram between consecutive maps), init only   (β 50)     init
relation ``sp``     batch similarity Gram of the last stage          β 3000     —
relation ``cc``     correlation congruence of linear embeddings      β 0.02     embeds
relation ``rkd``    distances (25) and angles (50), pooled feature   β 1        —
static   ``skd``    the teacher's semantic vectors (Eq. 2-3)         β 0.5      —
static   ``skd+kd`` SKD and KD together (CE + KD + β SKD)            β 0.5      —
======== ========== ================================================ ========== ============

CE weight 1 everywhere but KD. SKD's β is 0.05 for vgg13 → vgg8 (paper §3.2). DKD's term is
``min(epoch / 20, 1) · (α TCKD + β NCKD)``, β 2 for resnet56 → resnet20 and resnet110 →
resnet32, 6 for wrn_40_2 → wrn_16_2 and vgg13 → vgg8 (mdistiller's configs), else 8.

Quirks of the published code that are followed (``docs/method.md`` §6 has them all):
FitNet hints CRD's ``feat[2]`` (the second feature stage) through ``ConvReg`` (conv + BN + ReLU);
AB and FSP train only in their 30-epoch initialisation stage (student feature modules, and AB's
connector, on the *unweighted* loss) and their main stage is plain CE (RepDistiller sets the
term to 0, so their β multiplies nothing); AB thresholds pre-activation outputs at margin 1 and
weights stage ``i`` of ``n`` by ``2^(i-n+1) · 3/1000 / B``; FT's factor is AT-style
(``normalize(mean_c f²)``, L1), its paraphraser trains 30 epochs (lr 0.01 for resnet/wrn
students) and is frozen after; FSP pairs consecutive maps of ``feat[:-1]`` (stem included) and
needs equal channels; CC is RepDistiller's form (``mean_i Σ_d |Δ_i|·|Δ_{i+1}|`` over consecutive
samples, linear embeddings on both sides, both trained); CRD's negatives come from other
classes (with replacement only when too few), Z is fixed from the first batch, the temperature
is float32's 0.07, and both embeddings (the teacher's too) are trained.

Adding a method is one :func:`register` call with its loss (``docs/adding-a-method.md``).
The table is plain data: losses, module builders and pair checks are named by
``"module:function"`` and imported when first used, and taps by a
:class:`~skdlib.distill.features.FeatureSpec` field, so the command line lists the methods
without loading torch.

Example:
    >>> get_method("skd").teacher_forward, get_method("kd").teacher_forward
    (False, True)
    >>> get_method("skd").default_beta("vgg13", "vgg8")
    0.05
    >>> get_method("dkd").default_settings("resnet56", "resnet20")["beta"]
    2.0
"""

from __future__ import annotations

import functools
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .config import DistillConfig
    from .features import FeatureSpec

    Features = Mapping[str, torch.Tensor]
    #: ``(student features, targets, step) -> scalar``; both mappings are ``{name: tensor}``.
    FeatureLoss = Callable[[Features, Features, "StepInputs"], torch.Tensor]
    #: Which tensors of a model (hook names, :func:`skdlib.hooks.capture`) the loss compares.
    Taps = Callable[[FeatureSpec], Sequence[str]]

__all__ = ["GROUPS", "InitStage", "Method", "METHODS", "StepInputs", "register", "get_method"]

#: The groups of Table 1, in the paper's order, with their row headers.
GROUPS: dict[str, str] = {
    "logit": "Logit-based",
    "feature": "Feature-based",
    "relation": "Relation-based",
    "static": "Static (no teacher forward)",
}


@functools.cache
def _import(ref: str):
    return pkgutil.resolve_name(ref)


def _resolve(ref):
    """A callable as it is; a ``"module:function"`` name imported (once)."""
    return _import(ref) if isinstance(ref, str) else ref


@dataclass
class StepInputs:
    """What a method's loss may read besides the features: one training step's context.

    Attributes:
        config: the run's :class:`~skdlib.distill.DistillConfig`.
        settings: the method's settings for this run (:meth:`Method.default_settings`
            updated by ``config.settings``), e.g. CRD's ``nce_k``.
        modules: the method's trainable modules (an ``nn.ModuleDict``), or ``None``.
        logits, teacher_logits: ``(B, K)`` of the student and (when it ran) the teacher.
        labels: ``(B,)`` class ids; index: ``(B,)`` sample indices (methods with
            ``needs_index``).
        epoch: the 1-based epoch being trained (DKD's warm-up).
    """

    config: DistillConfig
    settings: Mapping[str, float] = field(default_factory=dict)
    modules: nn.ModuleDict | None = None
    logits: torch.Tensor | None = None
    teacher_logits: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    index: torch.Tensor | None = None
    epoch: int = 1


@dataclass(frozen=True)
class InitStage:
    """An initialisation stage run before the main schedule (CRD's ``init_epochs``).

    SGD with the run's momentum and weight decay at a constant lr, on the *unweighted* ``loss``
    alone (no CE, no KD), with the teacher in eval mode; resumable like the main stage.

    Attributes:
        loss: ``(student features, teacher features, step) -> scalar`` or its name.
        trains: what it trains: ``"student"`` (the student's feature modules, everything but
            its ``head``, in train mode; the head stays in eval mode) and/or names of the
            method's modules.
        taps: the compared features (as :attr:`Method.taps`); ``None``: the method's.
        student_features: the loss reads student features (False: FT's paraphraser, which
            sees only the teacher; the student is then not run).
        epochs: CRD's 30 (``DistillConfig.init_epochs`` overrides).
        lr_by_student: the lr for these student architectures (else ``DistillConfig.lr``).
    """

    loss: FeatureLoss | str
    trains: tuple[str, ...]
    taps: Taps | str | None = None
    student_features: bool = True
    epochs: int = 30
    lr_by_student: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Method:
    """One distillation method: its loss, the tensors it compares, and its default weights.

    Attributes:
        name: the key (``DistillConfig.method``, ``--method``, Table-1 configs).
        label: the row label in tables.
        description: one line for help texts.
        loss: the feature term — a :data:`FeatureLoss` or its ``"module:function"`` name,
            imported when first computed — or ``None`` (CE and KD only).
        taps: the features a teacher-guided loss compares: a field or property of
            :class:`~skdlib.distill.features.FeatureSpec` (``"feature_stages"``,
            ``"last_stage"``, ``"pooled"``, ``"hint_stage"``, ...) or a function of the spec;
            the same taps are applied to the student's and the teacher's spec (paired by
            position). Static methods compare the embedded layers instead.
        group: the Table-1 group (a key of :data:`GROUPS`), or ``None``.
        static: the targets are the teacher's semantic vectors, paired with the student's
            layers by name: the teacher is never run for the feature term.
        relu: apply a ReLU to pre-activation features (CRD does, for AT and SP).
        preact: compare CRD's pre-activation outputs (``preact=True``: AB) instead.
        logits: the loss reads logits and labels (DKD); it needs no taps.
        modules: ``(student shapes, teacher shapes, settings, train_targets) ->
            nn.ModuleDict`` or its name: trainable modules built from the tapped features'
            shapes (a dummy forward of both models, as CRD does); their parameters join the
            student's in the optimizer, the checkpoint and resume.
        frozen: names of those modules the main stage does not train (kept in eval mode).
        init: an :class:`InitStage`, or ``None``.
        needs_index: the loss needs each image's index in the training set (CRD's memory).
        settings, settings_by_pair: the method's named constants, and overrides per
            ``(teacher, student)`` pair; ``DistillConfig.settings`` overrides both.
        check: ``(teacher arch, student arch) -> reason or None`` (or its name), run from
            the registry before any training: why the method cannot distil that pair.
        beta, beta_by_pair: default weight of the feature term, and overrides per
            ``(teacher, student)`` architecture pairs.
        ce_weight, kd_weight: default weights of cross-entropy and of KD (T from the config).
    """

    name: str
    label: str
    description: str
    loss: FeatureLoss | str | None = None
    taps: Taps | str | None = None
    group: str | None = None
    static: bool = False
    relu: bool = False
    preact: bool = False
    logits: bool = False
    modules: Callable[..., Any] | str | None = None
    frozen: tuple[str, ...] = ()
    init: InitStage | None = None
    needs_index: bool = False
    settings: Mapping[str, float] = field(default_factory=dict)
    settings_by_pair: Mapping[tuple[str, str], Mapping[str, float]] = field(default_factory=dict)
    check: Callable[[str, str], str | None] | str | None = None
    beta: float = 0.0
    beta_by_pair: Mapping[tuple[str, str], float] = field(default_factory=dict)
    ce_weight: float = 1.0
    kd_weight: float = 0.0

    @property
    def teacher_forward(self) -> bool:
        """Whether a main-stage step runs the teacher (for KD, or for teacher features)."""
        return self.kd_weight > 0 or (self.loss is not None and not self.static)

    @property
    def needs_teacher(self) -> bool:
        """Whether a run needs the teacher model at all (a main-stage forward, or an
        initialisation stage, which compares teacher features)."""
        return self.teacher_forward or self.init is not None

    def default_beta(self, teacher: str | None = None, student: str | None = None) -> float:
        """β of the feature term for a ``(teacher, student)`` pair."""
        return self.beta_by_pair.get((teacher, student), self.beta)

    def default_settings(self, teacher: str | None = None, student: str | None = None) -> dict:
        """The method's settings for a ``(teacher, student)`` pair (floats by name)."""
        return {**self.settings, **self.settings_by_pair.get((teacher, student), {})}

    def tap_names(self, spec: FeatureSpec, taps: Taps | str | None = None) -> list[str]:
        """The names this method compares on a model with features ``spec`` (no repeats, in
        order; ``taps`` instead of the method's own, e.g. an init stage's); ``[]`` for none."""
        taps = self.taps if taps is None else taps
        if taps is None:
            return []
        names = getattr(spec, taps) if isinstance(taps, str) else taps(spec)
        names = [names] if isinstance(names, str) else list(names)
        return list(dict.fromkeys(names))

    def feature_loss(self, student: Features, targets: Features, step: StepInputs):
        """The feature term on one batch (the loss imported on first use)."""
        if self.loss is None:
            raise ValueError(f"method {self.name!r} has no feature loss")
        return _resolve(self.loss)(student, targets, step)

    def init_loss(self, student: Features, targets: Features, step: StepInputs):
        """The initialisation stage's loss on one batch."""
        if self.init is None:
            raise ValueError(f"method {self.name!r} has no initialisation stage")
        return _resolve(self.init.loss)(student, targets, step)

    def build_modules(self, student_shapes, teacher_shapes, settings, train_targets=None):
        """The method's trainable modules (``None`` for a method without any)."""
        if self.modules is None:
            return None
        return _resolve(self.modules)(student_shapes, teacher_shapes, settings, train_targets)

    def pair_problem(self, teacher: str, student: str) -> str | None:
        """Why this method cannot distil ``teacher`` into ``student`` (``None``: it can)."""
        return None if self.check is None else _resolve(self.check)(teacher, student)


#: Every registered method by name, in registration order (the paper's Table-1 order).
METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS` (its name must be new); returns it."""
    if method.name in METHODS:
        raise ValueError(f"a distillation method named {method.name!r} is already registered")
    guided = method.loss is not None and not method.static and not method.logits
    if guided and method.taps is None:
        raise ValueError(f"method {method.name!r}: a teacher-guided loss needs taps")
    if method.group is not None and method.group not in GROUPS:
        raise ValueError(f"method {method.name!r}: group must be one of {list(GROUPS)}")
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


_L = "skdlib.distill.feature_losses"
_M = "skdlib.distill.method_modules"
_P = "skdlib.distill.pairing"
_SKD_BETA_BY_PAIR = {("vgg13", "vgg8"): 0.05}
#: mdistiller's configs/cifar100/dkd/*.yaml that set DKD's β (the others keep 8).
_DKD_BETA_BY_PAIR = {
    ("resnet56", "resnet20"): {"beta": 2.0},
    ("resnet110", "resnet32"): {"beta": 2.0},
    ("wrn_40_2", "wrn_16_2"): {"beta": 6.0},
    ("vgg13", "vgg8"): {"beta": 6.0},
}
#: RepDistiller's init stage trains FT's paraphraser at lr 0.01 for these students.
_FT_INIT_LR = {
    a: 0.01
    for a in ("resnet20", "resnet32", "resnet56", "resnet110", "resnet8x4", "resnet32x4",
              "wrn_16_2", "wrn_40_2")
}  # fmt: skip

register(Method("none", "Student", "cross-entropy alone (a teacher, or the plain student)"))
register(
    Method("kd", "KD", "Hinton's KD: 0.1 CE + 0.9 KD(T)", group="logit", ce_weight=0.1,
           kd_weight=0.9)
)  # fmt: skip
register(
    Method(
        "pkt", "PKT", "probabilistic KT: cosine-kernel conditionals of the pooled feature",
        loss=f"{_L}:pkt", taps="pooled", group="logit", beta=30000.0,
    )
)  # fmt: skip
register(
    Method(
        "crd", "CRD", "contrastive representation distillation: NCE over a memory bank",
        loss=f"{_L}:crd", taps="pooled", group="logit", modules=f"{_M}:crd", needs_index=True,
        settings={"feat_dim": 128, "nce_k": 16384, "nce_t": 0.07, "nce_m": 0.5}, beta=0.8,
    )
)  # fmt: skip
register(
    Method(
        "dkd", "DKD", "decoupled KD: target and non-target class KD, warm-up (mdistiller)",
        loss=f"{_L}:dkd", logits=True, group="logit", beta=1.0,
        settings={"alpha": 1.0, "beta": 8.0, "temperature": 4.0, "warmup": 20},
        settings_by_pair=_DKD_BETA_BY_PAIR,
    )
)  # fmt: skip
register(
    Method(
        "fitnet", "FitNet", "hint: MSE of a regressed second feature stage",
        loss=f"{_L}:fitnet", taps="hint_stage", relu=True, group="feature",
        modules=f"{_M}:fitnet", beta=100.0,
    )
)  # fmt: skip
register(
    Method(
        "at", "AT", "attention transfer over the stage outputs",
        loss=f"{_L}:at", taps="feature_stages", relu=True, group="feature",
        check=f"{_P}:same_feature_count", beta=1000.0,
    )
)  # fmt: skip
register(
    Method(
        "vid", "VID", "variational information distillation over the stage outputs",
        loss=f"{_L}:vid", taps="feature_stages", relu=True, group="feature",
        modules=f"{_M}:vid", settings={"init_pred_var": 5.0, "eps": 1e-5},
        check=f"{_P}:same_feature_count", beta=1.0,
    )
)  # fmt: skip
register(
    Method(
        "ab", "AB", "activation boundaries: a 30-epoch init stage, then CE alone",
        taps="feature_stages", preact=True, group="feature", modules=f"{_M}:ab",
        frozen=("connector",), settings={"margin": 1.0},
        init=InitStage(f"{_L}:ab_init", trains=("connector", "student")),
        check=f"{_P}:same_feature_count", beta=1.0,
    )
)  # fmt: skip
register(
    Method(
        "ft", "FT", "factor transfer: translator vs a paraphraser trained first (30 epochs)",
        loss=f"{_L}:ft", taps="last_stage", relu=True, group="feature", modules=f"{_M}:ft",
        frozen=("paraphraser",),
        init=InitStage(f"{_L}:ft_init", trains=("paraphraser",), student_features=False,
                       lr_by_student=_FT_INIT_LR),
        beta=200.0,
    )
)  # fmt: skip
register(
    Method(
        "nst", "NST", "neuron selectivity transfer: polynomial-kernel MMD over the stages",
        loss=f"{_L}:nst", taps="feature_stages", relu=True, group="feature",
        check=f"{_P}:same_feature_count", beta=50.0,
    )
)  # fmt: skip
register(
    Method(
        "fsp", "FSP", "flow of solution procedure: a 30-epoch init stage, then CE alone",
        relu=True, group="relation",
        init=InitStage(f"{_L}:fsp_init", trains=("student",), taps="stem_and_stages"),
        check=f"{_P}:fsp_channels", beta=50.0,
    )
)  # fmt: skip
register(
    Method(
        "sp", "SP", "similarity-preserving: batch Gram of the last stage",
        loss=f"{_L}:sp", taps="last_stage", relu=True, group="relation", beta=3000.0,
    )
)  # fmt: skip
register(
    Method(
        "cc", "CC", "correlation congruence of linear embeddings of the pooled feature",
        loss=f"{_L}:cc", taps="pooled", group="relation", modules=f"{_M}:cc",
        settings={"feat_dim": 128}, beta=0.02,
    )
)  # fmt: skip
register(
    Method(
        "rkd", "RKD", "relational KD: distances and angles of the pooled feature",
        loss=f"{_L}:rkd", taps="pooled", group="relation", beta=1.0,
    )
)  # fmt: skip
register(
    Method(
        "skd", "SKD", "static KD: the teacher's semantic vectors, no teacher forward (Eq. 2-3)",
        loss=f"{_L}:skd", static=True, group="static", beta=0.5,
        beta_by_pair=_SKD_BETA_BY_PAIR, check=f"{_P}:same_stages",
    )
)  # fmt: skip
register(
    Method(
        "skd+kd", "SKD+KD", "SKD and KD together (CE + KD + beta SKD)",
        loss=f"{_L}:skd", static=True, group="static", beta=0.5,
        beta_by_pair=_SKD_BETA_BY_PAIR, check=f"{_P}:same_stages", kd_weight=1.0,
    )
)  # fmt: skip
