"""Training on CIFAR-100 under the CRD protocol: teachers, the teacher embedding, and students.

The three steps of static knowledge distillation (paper §3.2, Table 1):

1. **teacher**: plain training (``method="none"``), :func:`train_model`;
2. **embedding**: semantic vectors of the teacher's neurons at its stage outputs, learned on
   the training images (:func:`embed_teacher`, via :mod:`skdlib.embedding`), saved as one
   artifact;
3. **student**: :func:`train_model` with ``method="skd"`` and ``embedding=`` that artifact. The
   teacher model is never built, loaded or run: the SKD target is the constant ``(C, C)``
   similarity of the teacher's vectors.

For comparison the same trainer runs the teacher-guided baselines of :mod:`skdlib.kd_losses`
(``kd``, ``sp``, ``rkd``, ``at``, ``pkt``) and ``skd+kd``, with the CRD loss weights:

=========== =================================================== =============================
method       loss                                                teacher forward per step
=========== =================================================== =============================
``none``     CE                                                  no
``kd``       0.1 CE + 0.9 KD(T=4)                                yes
``skd``      CE + β SKD, β 0.5 (0.05 for vgg13→vgg8)             **no**
``skd+kd``   CE + KD(T=4) + β SKD (CRD's "+KD" weights; ours)    yes
``sp``       CE + 3000 SP (last stage)                           yes
``rkd``      CE + 1 · (25 distance + 50 angle) (pooled feature)  yes
``at``       CE + 1000 Σ AT (stage outputs)                      yes
``pkt``      CE + 30000 PKT (pooled feature)                     yes
=========== =================================================== =============================

Features follow CRD's ``is_feat=True`` lists: resnet ``layer1..3`` (post-ReLU), wrn
``block1..3`` (pre-activation), vgg ``relu(block1..4)`` for AT and ``relu(block4)`` for SP; the
"pooled feature" is the classifier's input. SKD uses every stage output the embedding has
(vgg: ``block0..4`` as the hooks see them, pre-ReLU), paired with the student's by name.

Runs are reproducible and resumable: the model is initialised from ``seed``, each epoch reseeds
torch's global RNG from ``(seed, epoch)`` before the data loader is iterated, and the model,
optimizer, scheduler and metrics are saved atomically after every epoch; restarting with the
same output folder continues where the run stopped, bit for bit on the CPU (on CUDA up to the
nondeterminism of cuDNN's kernels). Each run folder holds
``checkpoint.pt``, ``metrics.json`` / ``metrics.csv`` (per-epoch rows, last- and best-epoch
top-1), ``best.pt`` and, when finished, ``model.pt``.

Example::

    train, test = load_split("cifar100", True), load_split("cifar100", False)
    tl, vl = make_loader(train, 64, train=True), make_loader(test, 256, train=False)
    teacher = train_model("resnet32x4", tl, vl, DistillConfig(), out_dir="runs/t")
    emb = embed_teacher("runs/t/model.pt", train, out_dir="runs/t")
    student = train_model("resnet8x4", tl, vl, DistillConfig(method="skd"),
                          out_dir="runs/s", embedding="runs/t/embedding.pt")
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import __version__
from .checkpoint import (
    atomic_save,
    atomic_write_text,
    csv_text,
    load_artifact,
    load_checkpoint,
)
from .cifar import make_loader
from .embedding import EmbeddingConfig, EmbeddingTrainer, NeuronEmbedding
from .hooks import capture, layer_channels
from .kd_losses import at_loss_over_layers, kd_loss, pkt_loss, rkd_loss, sp_loss
from .losses import skd_loss_over_layers
from .models import VGG, create_model, stage_names
from .runtime import resolve_device
from .schedule import epoch_seed

__all__ = [
    "DEFAULT_BETA",
    "METHODS",
    "DistillConfig",
    "DistillTrainer",
    "FeatureSpec",
    "default_beta",
    "embed_teacher",
    "evaluate",
    "feature_spec",
    "load_model",
    "save_model",
    "train_model",
]

#: Training methods of :class:`DistillTrainer`.
METHODS: tuple[str, ...] = ("none", "kd", "skd", "skd+kd", "sp", "rkd", "at", "pkt")
#: Methods whose loss needs the teacher's output for every batch.
TEACHER_METHODS = frozenset({"kd", "skd+kd", "sp", "rkd", "at", "pkt"})
#: Methods that need the teacher's neuron embedding.
EMBEDDING_METHODS = frozenset({"skd", "skd+kd"})
#: β of each method's distillation term (CRD's βs; SKD's from the paper).
DEFAULT_BETA: dict[str, float] = {
    "none": 0.0,
    "kd": 0.0,
    "skd": 0.5,
    "skd+kd": 0.5,
    "sp": 3000.0,
    "rkd": 1.0,
    "at": 1000.0,
    "pkt": 30000.0,
}
#: SKD's β for specific (teacher, student) pairs (paper §4.1).
SKD_BETA_BY_PAIR: dict[tuple[str, str], float] = {("vgg13", "vgg8"): 0.05}

MODEL_FORMAT = "skdlib.cifar-model/1"
CHECKPOINT_FORMAT = "skdlib.distill-checkpoint/1"


def default_beta(method: str, teacher: str | None = None, student: str | None = None) -> float:
    """β of ``method``'s distillation term for a (teacher, student) pair.

    Example:
        >>> default_beta("skd", "resnet32x4", "resnet8x4"), default_beta("skd", "vgg13", "vgg8")
        (0.5, 0.05)
    """
    _check_method(method)
    if method in EMBEDDING_METHODS and (teacher, student) in SKD_BETA_BY_PAIR:
        return SKD_BETA_BY_PAIR[(teacher, student)]
    return DEFAULT_BETA[method]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


@dataclass
class DistillConfig:
    """Settings of one training run; defaults are the CRD protocol (paper Table 1).

    Attributes:
        method: one of :data:`METHODS` (``"none"`` trains without a teacher, e.g. a teacher).
        epochs: passes over the training set (CRD: 240).
        batch_size: recorded, and used by runners to build the loader (CRD: 64).
        lr, momentum, weight_decay: SGD (CRD: 0.05, 0.9, 5e-4).
        milestones: fractions of ``epochs`` after which the lr is multiplied by ``lr_decay``
            (CRD: 150/180/210 of 240 = ``(0.625, 0.75, 0.875)``), so short runs keep the shape.
        lr_decay: 0.1.
        seed: model initialisation and per-epoch data order / augmentation.
        beta: weight of the distillation term; ``None`` = :func:`default_beta` for the pair.
        ce_weight, kd_weight: weights of CE and of the KD term; ``None`` = the method's
            (``kd``: 0.1 and 0.9; ``skd+kd``: 1 and 1; others: 1 and 0).
        kd_temperature: KD's T (CRD: 4).
        skd_tau, skd_exclude_diagonal: SKD's softmax temperature and diagonal (paper: 1, keep).
    """

    method: str = "none"
    epochs: int = 240
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestones: tuple[float, ...] = (0.625, 0.75, 0.875)
    lr_decay: float = 0.1
    seed: int = 0
    beta: float | None = None
    ce_weight: float | None = None
    kd_weight: float | None = None
    kd_temperature: float = 4.0
    skd_tau: float = 1.0
    skd_exclude_diagonal: bool = False

    def __post_init__(self) -> None:
        _check_method(self.method)
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            )
        self.milestones = tuple(float(m) for m in self.milestones)

    def milestone_epochs(self) -> list[int]:
        """Epochs after which the lr decays, e.g. ``[150, 180, 210]`` for 240 epochs."""
        return sorted({max(1, round(f * self.epochs)) for f in self.milestones})

    def weights(self, teacher: str | None = None, student: str | None = None) -> dict[str, float]:
        """``{"ce", "kd", "beta"}`` — the loss weights this config resolves to for a pair.

        Example:
            >>> DistillConfig(method="kd").weights()
            {'ce': 0.1, 'kd': 0.9, 'beta': 0.0}
        """
        ce, kd = {"kd": (0.1, 0.9), "skd+kd": (1.0, 1.0)}.get(self.method, (1.0, 0.0))
        return {
            "ce": ce if self.ce_weight is None else float(self.ce_weight),
            "kd": kd if self.kd_weight is None else float(self.kd_weight),
            "beta": default_beta(self.method, teacher, student)
            if self.beta is None
            else float(self.beta),
        }

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["milestones"] = list(self.milestones)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DistillConfig:
        """Build from a dict (e.g. JSON); unknown keys are an error naming them."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown DistillConfig keys {unknown}; valid: {sorted(known)}")
        return cls(**dict(values))


# --------------------------------------------------------------------------------------------
# Which tensors each loss compares
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSpec:
    """Where a CRD-zoo model's distillation features live (module names for hooks).

    Attributes:
        stages: stage-output modules (:func:`skdlib.models.stage_names`).
        at_stages: the stages AT compares (CRD's ``feat[1:-1]``; vgg skips ``block0``).
        sp_stage: the stage SP compares (the last).
        relu: the hooks see pre-ReLU outputs (vgg) and AT/SP apply the ReLU CRD applies.
        classifier: the final linear layer; its input is the pooled feature (RKD, PKT).
    """

    stages: tuple[str, ...]
    at_stages: tuple[str, ...]
    sp_stage: str
    relu: bool
    classifier: str


def feature_spec(model: nn.Module) -> FeatureSpec:
    """The :class:`FeatureSpec` of a model built by :func:`skdlib.models.create_model`.

    Example:
        >>> feature_spec(create_model("vgg8")).at_stages
        ('block1', 'block2', 'block3', 'block4')
    """
    stages = tuple(stage_names(model))
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f"{type(model).__name__} has no nn.Linear classifier")
    is_vgg = isinstance(model, VGG)
    return FeatureSpec(
        stages=stages,
        at_stages=stages[1:] if is_vgg else stages,
        sp_stage=stages[-1],
        relu=is_vgg,
        classifier=linears[-1],
    )


class _Tap:
    """Forward hooks recording the named stage outputs and (optionally) the classifier input."""

    def __init__(self, model: nn.Module, layers: Iterable[str], classifier: str | None) -> None:
        self._stack = ExitStack()
        layers = list(dict.fromkeys(layers))
        self.out: dict[str, torch.Tensor] = {}
        if layers:
            self.out = self._stack.enter_context(capture(model, layers))
        if classifier is not None:
            out = self.out

            def pre_hook(_module: nn.Module, inputs: tuple) -> None:
                out["<pooled>"] = inputs[0]

            handle = model.get_submodule(classifier).register_forward_pre_hook(pre_hook)
            self._stack.callback(handle.remove)

    def close(self) -> None:
        self._stack.close()


# --------------------------------------------------------------------------------------------
# Models on disk
# --------------------------------------------------------------------------------------------


def save_model(model: nn.Module, name: str, path: str | os.PathLike, **info: Any) -> Path:
    """Write ``model``'s weights as an skdlib model artifact (atomically).

    Example:
        >>> p = save_model(create_model("resnet20"), "resnet20", "/tmp/skd-doc/r20.pt")
        >>> type(load_model(p)).__name__
        'CifarResNet'
    """
    num_classes = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return atomic_save(
        {
            "format": MODEL_FORMAT,
            "arch": name,
            "num_classes": num_classes,
            "state_dict": state,
            "info": info,
            "library_version": __version__,
        },
        path,
    )


def load_model(
    source: nn.Module | str | os.PathLike, name: str | None = None, num_classes: int = 100
) -> nn.Module:
    """A model from an skdlib model artifact or a RepDistiller checkpoint (``{"model": ...}``).

    Args:
        source: a path, or an ``nn.Module`` (returned unchanged).
        name: the architecture (:data:`skdlib.models.MODEL_NAMES`); read from skdlib artifacts,
            required for RepDistiller checkpoints.
        num_classes: for RepDistiller checkpoints.
    """
    if isinstance(source, nn.Module):
        return source
    state = load_artifact(source, "model checkpoint")
    if state.get("format") == MODEL_FORMAT:
        saved = state["arch"]
        if name is not None and name != saved:
            raise ValueError(f"{source} holds a {saved}, not a {name}")
        name, num_classes, weights = saved, state["num_classes"], state["state_dict"]
    elif isinstance(state.get("model"), Mapping):
        weights = state["model"]
        if name is None:
            raise ValueError(f"{source} is a RepDistiller checkpoint: pass the model name too")
    else:
        raise ValueError(
            f"{source} is neither an skdlib model artifact nor a checkpoint with a 'model' state "
            f"dict (keys: {sorted(state)[:8]})"
        )
    model = create_model(name, num_classes)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise ValueError(f"the weights in {source} do not fit a {name}: {exc}") from exc
    return model


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable, device: str | torch.device | None = None
) -> dict[str, float]:
    """Top-1 / top-5 accuracy (%) and mean cross-entropy of ``model`` over ``loader``.

    The model is put in eval mode and restored afterwards.

    Args:
        model: maps ``(B, 3, H, W)`` to ``(B, K)`` logits.
        loader: iterable of ``(images, targets)``.

    Returns:
        ``{"top1", "top5", "loss", "n"}``.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
        >>> r = evaluate(net, [(torch.zeros(4, 3, 2, 2), torch.zeros(4, dtype=torch.long))])
        >>> r["n"], r["top5"]
        (4, 100.0)
    """
    device = resolve_device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    n = 0
    try:
        for images, targets in loader:
            images = images.to(device, non_blocking=True)
            targets = targets.to(device, non_blocking=True)
            logits = model(images)
            k = min(5, logits.shape[1])
            top = logits.topk(k, dim=1).indices
            hit = top == targets[:, None]
            sums += torch.stack(
                [
                    hit[:, 0].sum(),
                    hit.any(1).sum(),
                    F.cross_entropy(logits, targets, reduction="sum"),
                ]
            ).double()
            n += targets.shape[0]
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    top1, top5, loss = (sums / n).tolist()
    return {"top1": 100.0 * top1, "top5": 100.0 * top5, "loss": loss, "n": n}


def _model_device(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


# --------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------


@dataclass
class _Summary:
    last_top1: float | None = None
    best_top1: float | None = None
    best_epoch: int | None = None
    epochs_done: int = 0
    complete: bool = False
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


class DistillTrainer:
    """Train a student (or a teacher, with ``method="none"``) under the CRD protocol.

    Args:
        student: the model to train, e.g. ``create_model("resnet8x4")``.
        config: :class:`DistillConfig` (method, schedule, loss weights).
        student_name: architecture name (recorded; chooses SKD's β for vgg13→vgg8).
        teacher: for the teacher-guided methods (``kd``, ``skd+kd``, ``sp``, ``rkd``, ``at``,
            ``pkt``): an ``nn.Module`` or a model file (:func:`load_model`). **Ignored, never
            loaded and never called** for ``none`` and ``skd``.
        teacher_name: the teacher's architecture (needed to load a RepDistiller checkpoint;
            recorded; chooses β).
        embedding: for ``skd`` / ``skd+kd``: the teacher's :class:`NeuronEmbedding`, a path to
            one, or a ``{layer: (C, K)}`` dict. Its layers are paired with the student's modules
            of the same name; every pair must have equal channel counts.
        device: ``None``/``"auto"``: CUDA when present.

    Raises:
        ValueError: a method without what it needs, or a layer pairing that does not fit; the
            message names the layers and both channel counts.

    Example:
        >>> cfg = DistillConfig(method="skd", epochs=1)
        >>> vecs = {n: torch.randn(c, 16) for n, c in zip(["layer1", "layer2", "layer3"],
        ...                                               [16, 32, 64])}
        >>> t = DistillTrainer(create_model("resnet20"), cfg, "resnet20", embedding=vecs,
        ...                    device="cpu")
        >>> sorted(t.train_step(torch.randn(4, 3, 32, 32), torch.arange(4)))
        ['ce', 'correct', 'distill', 'kd', 'loss']
    """

    def __init__(
        self,
        student: nn.Module,
        config: DistillConfig | None = None,
        student_name: str | None = None,
        teacher: nn.Module | str | os.PathLike | None = None,
        teacher_name: str | None = None,
        embedding: NeuronEmbedding | str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.config = config or DistillConfig()
        self.method = self.config.method
        self.device = resolve_device(device)
        self.student = student.to(self.device)
        self.student_name = student_name or type(student).__name__.lower()
        self.teacher_name = teacher_name
        self.weights = self.config.weights(teacher_name, student_name)
        self.needs_teacher = self.method in TEACHER_METHODS
        self.spec = feature_spec(student)
        self.teacher: nn.Module | None = None
        if self.needs_teacher:
            if teacher is None:
                raise ValueError(
                    f"method {self.method!r} needs the teacher model: pass teacher= (a model or "
                    "a model file)"
                )
            self.teacher = load_model(teacher, teacher_name).to(self.device).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)
            self.teacher_spec = feature_spec(self.teacher)
            self._check_teacher_pairing()
        self.vectors: dict[str, torch.Tensor] = {}
        self.embedding_meta: dict[str, Any] = {}
        if self.method in EMBEDDING_METHODS:
            self._load_vectors(embedding)

        cfg = self.config
        self.optimizer = torch.optim.SGD(
            self.student.parameters(),
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=cfg.milestone_epochs(), gamma=cfg.lr_decay
        )
        self.epoch = 0
        self.summary = _Summary()
        self._taps: tuple[_Tap | None, _Tap | None] | None = None

    # -- set-up ---------------------------------------------------------------------------------
    def _load_vectors(self, embedding) -> None:
        if embedding is None:
            raise ValueError(
                f"method {self.method!r} needs the teacher's neuron embedding: pass embedding= "
                "(a NeuronEmbedding, its file, or {layer: (C, K)}); make it with embed_teacher()"
            )
        if isinstance(embedding, (str, os.PathLike)):
            embedding = NeuronEmbedding.load(embedding)
        if isinstance(embedding, NeuronEmbedding):
            self.embedding_meta = {
                k: embedding.meta.get(k) for k in ("arch", "layers", "channels", "dim")
            }
            self.teacher_name = self.teacher_name or embedding.meta.get("arch")
            if self.config.beta is None:
                self.weights["beta"] = default_beta(
                    self.method, self.teacher_name, self.student_name
                )
            vectors = embedding.vectors
        else:
            vectors = dict(embedding)
        self._check_skd_pairing(vectors)
        self.vectors = {
            k: v.detach().to(self.device, torch.float32).clone() for k, v in vectors.items()
        }

    def _check_skd_pairing(self, vectors: Mapping[str, torch.Tensor]) -> None:
        teacher = self.teacher_name or "the teacher"
        missing = [n for n in vectors if n not in dict(self.student.named_modules())]
        if missing or not vectors:
            raise ValueError(
                f"SKD pairs layers by name: the embedding of {teacher} has layers "
                f"{list(vectors)}, but student {self.student_name} has no "
                f"{', '.join(map(repr, missing)) or 'layers'} (its stage outputs: "
                f"{list(self.spec.stages)}). Use a teacher/student pair of the same family "
                "(see skdlib.models.PAPER_PAIRS)."
            )
        widths = layer_channels(self.student, list(vectors), (3, 32, 32))
        wrong = [
            f"student {self.student_name} layer {n!r} has {widths[n]} channels but teacher "
            f"{teacher} layer {n!r} has {v.shape[0]} semantic vectors"
            for n, v in vectors.items()
            if widths[n] != v.shape[0]
        ]
        if wrong:
            raise ValueError(
                "; ".join(wrong) + ". SKD needs equal widths in every paired layer: use a pair "
                "whose stage widths match (see skdlib.models.PAPER_PAIRS)."
            )

    def _check_teacher_pairing(self) -> None:
        s_out = [m for m in self.student.modules() if isinstance(m, nn.Linear)][-1].out_features
        t_out = [m for m in self.teacher.modules() if isinstance(m, nn.Linear)][-1].out_features
        if s_out != t_out:
            raise ValueError(
                f"teacher {self.teacher_name} has {t_out} classes, student {self.student_name} "
                f"has {s_out}; distillation needs the same classes"
            )
        if self.method == "at" and len(self.spec.at_stages) != len(self.teacher_spec.at_stages):
            raise ValueError(
                f"AT pairs stages by position: student {self.student_name} has "
                f"{list(self.spec.at_stages)}, teacher {self.teacher_name} has "
                f"{list(self.teacher_spec.at_stages)}"
            )

    def _tap_plan(self, spec: FeatureSpec, student: bool) -> tuple[list[str], str | None]:
        """Which stage outputs and whether the pooled feature to hook, for student or teacher."""
        if self.method in EMBEDDING_METHODS:
            return (list(self.vectors) if student else []), None
        if self.method == "at":
            return list(spec.at_stages), None
        if self.method == "sp":
            return [spec.sp_stage], None
        if self.method in ("rkd", "pkt"):
            return [], spec.classifier
        return [], None

    def _ensure_taps(self) -> tuple[_Tap | None, _Tap | None]:
        if self._taps is None:
            layers, cls = self._tap_plan(self.spec, student=True)
            student_tap = _Tap(self.student, layers, cls) if layers or cls else None
            teacher_tap = None
            if self.needs_teacher and self.method != "kd":
                layers, cls = self._tap_plan(self.teacher_spec, student=False)
                teacher_tap = _Tap(self.teacher, layers, cls) if layers or cls else None
            self._taps = (student_tap, teacher_tap)
        return self._taps

    def close(self) -> None:
        """Remove the forward hooks (``fit`` does this when it returns)."""
        if self._taps is not None:
            for tap in self._taps:
                if tap is not None:
                    tap.close()
            self._taps = None

    # -- one step -------------------------------------------------------------------------------
    def _features(self, feats: dict[str, torch.Tensor], names, relu: bool):
        return [F.relu(feats[n]) if relu else feats[n] for n in names]

    def distill_loss(self, s_feats: dict, t_feats: dict | None) -> torch.Tensor:
        """The method's feature term from the hooked student (and teacher) tensors."""
        m = self.method
        if m in EMBEDDING_METHODS:
            cfg = self.config
            acts = {n: s_feats[n] for n in self.vectors}
            return skd_loss_over_layers(acts, self.vectors, cfg.skd_tau, cfg.skd_exclude_diagonal)
        s, t = self.spec, self.teacher_spec
        if m == "at":
            return at_loss_over_layers(
                self._features(s_feats, s.at_stages, s.relu),
                self._features(t_feats, t.at_stages, t.relu),
            )
        if m == "sp":
            return sp_loss(
                self._features(s_feats, [s.sp_stage], s.relu)[0],
                self._features(t_feats, [t.sp_stage], t.relu)[0],
            )
        if m == "rkd":
            return rkd_loss(s_feats["<pooled>"], t_feats["<pooled>"])
        if m == "pkt":
            return pkt_loss(s_feats["<pooled>"], t_feats["<pooled>"])
        raise AssertionError(m)

    def train_step(self, images: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """One SGD step on a batch; the student should be in train mode (``fit`` sees to it).

        Args:
            images: ``(B, 3, 32, 32)`` normalised images.
            targets: ``(B,)`` class ids.

        Returns:
            Detached scalars: ``loss`` (the total), ``ce``, ``kd``, ``distill`` (the unweighted
            terms; 0 when unused) and ``correct`` (top-1 hits in the batch).
        """
        images = images.to(self.device, non_blocking=True)
        targets = targets.to(self.device, non_blocking=True)
        student_tap, teacher_tap = self._ensure_taps()
        w = self.weights
        logits = self.student(images)
        ce = F.cross_entropy(logits, targets)
        loss = ce if w["ce"] == 1.0 else w["ce"] * ce
        zero = torch.zeros((), device=self.device)
        kd = distill = zero
        if self.needs_teacher:
            with torch.no_grad():
                t_logits = self.teacher(images)
            if w["kd"]:
                kd = kd_loss(logits, t_logits, self.config.kd_temperature)
                loss = loss + w["kd"] * kd
        if w["beta"] and self.method not in ("none", "kd"):
            distill = self.distill_loss(
                student_tap.out, teacher_tap.out if teacher_tap is not None else None
            )
            loss = loss + w["beta"] * distill
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        correct = (logits.detach().argmax(1) == targets).sum()
        return {
            "loss": loss.detach(),
            "ce": ce.detach(),
            "kd": kd.detach(),
            "distill": distill.detach(),
            "correct": correct,
        }

    # -- checkpoints ----------------------------------------------------------------------------
    def signature(self) -> dict[str, Any]:
        """What identifies a run: a checkpoint only resumes a run with the same signature."""
        return {
            "student": self.student_name,
            "teacher": self.teacher_name,
            "method": self.method,
            "weights": dict(self.weights),
            "config": self.config.to_dict(),
        }

    def _save_checkpoint(self, path: Path) -> None:
        atomic_save(
            {
                "format": CHECKPOINT_FORMAT,
                "signature": self.signature(),
                "epoch": self.epoch,
                "student": self.student.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "summary": asdict(self.summary),
            },
            path,
        )

    def _resume(self, path: Path) -> None:
        state = load_checkpoint(
            path,
            CHECKPOINT_FORMAT,
            self.signature(),
            "training checkpoint",
            "delete the folder or choose another out_dir",
        )
        self.student.load_state_dict(state["student"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.summary = _Summary(**state["summary"])
        self.epoch = int(state["epoch"])

    def _write_metrics(self, out: Path) -> None:
        info = {
            "run": self.signature(),
            "embedding": self.embedding_meta or None,
            "device": str(self.device),
            "library_version": __version__,
        }
        summary = asdict(self.summary)
        history = summary.pop("history")
        atomic_write_text(
            out / "metrics.json", json.dumps({**info, **summary, "history": history}, indent=1)
        )
        atomic_write_text(out / "metrics.csv", csv_text(history))

    # -- training -------------------------------------------------------------------------------
    def fit(
        self,
        train_loader: Iterable,
        test_loader: Iterable,
        out_dir: str | os.PathLike | None = None,
        until: int | None = None,
        progress: bool = True,
    ) -> dict[str, Any]:
        """Train for ``config.epochs`` epochs (or up to epoch ``until``), testing after each.

        Args:
            train_loader: ``(images, targets)`` batches with augmentation (:func:`make_loader`).
            test_loader: the test split, evaluated after every epoch.
            out_dir: run folder; if it holds a checkpoint of this run, training resumes there.
                ``None`` keeps everything in memory.
            until: stop after this epoch (the run can be continued later from ``out_dir``).
            progress: tqdm bars over epochs and batches.

        Returns:
            The summary: ``last_top1``, ``best_top1``, ``best_epoch``, ``epochs_done``,
            ``complete``, ``seconds``, ``history`` (one dict per epoch).
        """
        cfg = self.config
        out = Path(out_dir) if out_dir is not None else None
        if out is not None and (out / "checkpoint.pt").exists():
            self._resume(out / "checkpoint.pt")
        stop = cfg.epochs if until is None else min(int(until), cfg.epochs)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        desc = f"{self.method} {self.student_name}"
        bar = tqdm(
            range(self.epoch + 1, stop + 1),
            desc=desc,
            unit="epoch",
            initial=self.epoch,
            total=cfg.epochs,
            disable=not progress,
        )
        try:
            for epoch in bar:
                row = self._train_epoch(train_loader, epoch, progress)
                test = evaluate(self.student, test_loader, self.device)
                row.update(test_loss=test["loss"], test_top1=test["top1"], test_top5=test["top5"])
                self.epoch = epoch
                self._record(row, out)
                bar.set_postfix(top1=f"{test['top1']:.2f}", best=f"{self.summary.best_top1:.2f}")
        finally:
            self.close()
        if out is not None and self.summary.complete and not (out / "model.pt").exists():
            save_model(self.student, self.student_name, out / "model.pt", **self._model_info())
        return asdict(self.summary)

    def _model_info(self) -> dict[str, Any]:
        s = self.summary
        return {"method": self.method, "epochs": s.epochs_done, "last_top1": s.last_top1}

    def _train_epoch(self, loader: Iterable, epoch: int, progress: bool) -> dict[str, float]:
        torch.manual_seed(epoch_seed(self.config.seed, epoch))
        self.student.train()
        lr = self.optimizer.param_groups[0]["lr"]
        sums = torch.zeros(5, dtype=torch.float64, device=self.device)
        n = 0
        start = time.perf_counter()
        batches = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
        for step, (images, targets) in enumerate(batches, 1):
            r = self.train_step(images, targets)
            b = targets.shape[0]
            n += b
            sums[:4] += torch.stack([r["loss"] * b, r["ce"] * b, r["kd"] * b, r["distill"] * b])
            sums[4] += r["correct"]
            if progress and step % 25 == 0:
                batches.set_postfix(loss=f"{float(sums[0]) / n:.4f}")
        if n == 0:
            raise ValueError("the training loader yielded no batches")
        self.scheduler.step()
        mean = (sums / n).tolist()
        return {
            "epoch": epoch,
            "lr": lr,
            "train_loss": mean[0],
            "train_ce": mean[1],
            "train_kd": mean[2],
            "train_distill": mean[3],
            "train_top1": 100.0 * mean[4],
            "seconds": time.perf_counter() - start,
        }

    def _record(self, row: dict[str, float], out: Path | None) -> None:
        s = self.summary
        s.history.append(row)
        s.epochs_done = self.epoch
        s.last_top1 = row["test_top1"]
        s.seconds += row["seconds"]
        improved = s.best_top1 is None or row["test_top1"] > s.best_top1
        if improved:
            s.best_top1, s.best_epoch = row["test_top1"], self.epoch
        s.complete = self.epoch >= self.config.epochs
        if out is None:
            return
        if improved:
            save_model(self.student, self.student_name, out / "best.pt", **self._model_info())
        self._save_checkpoint(out / "checkpoint.pt")
        self._write_metrics(out)


# --------------------------------------------------------------------------------------------
# The three steps as functions
# --------------------------------------------------------------------------------------------


def train_model(
    name: str,
    train_loader: Iterable,
    test_loader: Iterable,
    config: DistillConfig | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    teacher: nn.Module | str | os.PathLike | None = None,
    teacher_name: str | None = None,
    embedding: NeuronEmbedding | str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
    num_classes: int = 100,
    device: str | torch.device | None = None,
    until: int | None = None,
    progress: bool = True,
) -> DistillTrainer:
    """Build ``name`` (initialised from ``config.seed``) and train it with :class:`DistillTrainer`.

    A teacher is this with ``method="none"``; its ``out_dir/model.pt`` is what students and
    :func:`embed_teacher` load. Returns the trainer (``.student``, ``.summary``).

    Example:
        >>> from skdlib.cifar import load_split, make_loader
        >>> ds = load_split("synthetic", train=False, n_per_class=1)
        >>> loader = make_loader(ds, 50, train=False, device="cpu")
        >>> t = train_model("resnet20", loader, loader, DistillConfig(epochs=1), progress=False)
        >>> t.summary.epochs_done
        1
    """
    config = config or DistillConfig()
    torch.manual_seed(config.seed)
    student = create_model(name, num_classes)
    trainer = DistillTrainer(
        student,
        config,
        student_name=name,
        teacher=teacher,
        teacher_name=teacher_name,
        embedding=embedding,
        device=device,
    )
    trainer.fit(train_loader, test_loader, out_dir=out_dir, until=until, progress=progress)
    return trainer


def embed_teacher(
    teacher: nn.Module | str | os.PathLike,
    dataset: Any,
    config: EmbeddingConfig | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    teacher_name: str | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    pipeline: str = "auto",
    progress: bool = True,
) -> NeuronEmbedding:
    """Learn semantic vectors for the teacher's neurons at every stage output (paper Eq. 1).

    The training images are shown without augmentation (normalised, shuffled each epoch). With
    ``out_dir`` the run checkpoints to ``embedding.ckpt`` (and resumes from it) and the result is
    saved as ``out_dir/embedding.pt``; if that file exists it is loaded instead of retrained.

    Args:
        teacher: a trained model or its file (:func:`load_model`).
        dataset: the training split from :func:`skdlib.cifar.load_split`.
        config: :class:`~skdlib.embedding.EmbeddingConfig`; default the paper's (SGD lr 0.1,
            100 epochs, K = 16). ``optimizer="adam", lr=0.01`` converges in far fewer steps.
        teacher_name: recorded in the artifact (read from skdlib model files).

    Returns:
        The :class:`NeuronEmbedding` (``.vectors``: ``{stage: (C, K)}``).
    """
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and (out / "embedding.pt").exists():
        return NeuronEmbedding.load(out / "embedding.pt")
    if teacher_name is None and isinstance(teacher, (str, os.PathLike)):
        teacher_name = load_artifact(teacher, "model checkpoint").get("arch")
    model = load_model(teacher, teacher_name)
    device = resolve_device(device)
    loader = make_loader(
        dataset, batch_size, train=False, shuffle=True, device=device, pipeline=pipeline
    )
    data_info = {
        "name": type(dataset).__name__,
        "split": "train" if getattr(dataset, "train", True) else "test",
        "n_images": len(dataset),
        "augmentation": "none",
    }
    trainer = EmbeddingTrainer(
        model,
        stage_names(model),
        config or EmbeddingConfig(),
        device=device,
        arch=teacher_name,
        data_info=data_info,
    )
    checkpoint = out / "embedding.ckpt" if out is not None else None
    emb = trainer.fit(loader, checkpoint=checkpoint, progress=progress)
    if out is not None:
        emb.save(out / "embedding.pt")
    return emb
