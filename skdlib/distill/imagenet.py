"""ImageNet-size static distillation: torchvision ResNet34 → ResNet18 on an ImageFolder data set.

The standard ImageNet KD pair; their four stage outputs (``layer1..layer4``: 64, 128, 256, 512
channels) have equal widths, so SKD pairs them by name. The job (:func:`run_imagenet_job`):

1. **teacher**: torchvision's ``ResNet34_Weights.IMAGENET1K_V1`` (``teacher_weights="imagenet"``;
   a clear error offline), or random weights for offline checks;
2. **embedding**: the teacher's neurons at ``layer1..layer4``, fitted on the exact dataset-mean
   objective (:meth:`~skdlib.embedding.EmbeddingTrainer.fit_dataset_mean`) over the first
   ``embed_images`` training images (10,000 by default: 10 per class of ImageNet), unaugmented;
   the only time the teacher runs for SKD;
3. **students**: ResNet18 trained with each of ``methods`` (plain, KD, SKD) on **torchvision's
   classic ImageNet recipe**: SGD, momentum 0.9, weight decay 1e-4, lr 0.1 for a global batch of
   256, divided by 10 every 30 of 90 epochs; RandomResizedCrop(224) + horizontal flip for
   training, Resize(256) + CenterCrop(224) for validation.

Offline, the same command runs on a generated ImageFolder
(:func:`skdlib.data.make_synthetic_imagefolder`). Under ``torchrun`` each rank reads its shard
(``DistributedSampler``); the embedding is fitted once, by rank 0.

Example (a few CPU seconds; ``configs/imagenet_synthetic.json`` is a larger offline job)::

    results = run_imagenet_job({"data": "data/imagenet", "out": "runs/imagenet"})
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from torchvision import transforms as T

from .. import filenames
from ..checkpoint import atomic_write_text
from ..config import ConfigError, JsonConfig
from ..data.normalise import IMAGENET_MEAN, IMAGENET_STD
from ..data.synthetic_imagefolder import make_synthetic_imagefolder
from ..embedding import EmbeddingConfig, EmbeddingTrainer, NeuronEmbedding
from ..loaders import make_loader
from ..models import create_model, get_architecture, stage_names
from ..progress import show_bars
from .config import DistillConfig
from .distributed import Distributed, init_distributed
from .methods import get_method
from .trainer import DistillTrainer

__all__ = ["ImageNetJob", "imagenet_loaders", "run_imagenet_job"]


def _stage_widths(arch: str) -> list[tuple[str, int]]:
    entry = get_architecture(arch, family="torchvision")
    return list(zip(entry.stages, entry.widths, strict=True))


@dataclass
class ImageNetJob(JsonConfig):
    """An ImageNet-size SKD job; see the module docstring. Defaults: the standard recipe.

    Attributes:
        data: an ImageFolder root with ``train/`` and ``val/``.
        out: the job folder.
        teacher_arch, student_arch: torchvision architectures of the registry
            (:mod:`skdlib.models.registry`) with equal stage widths, e.g. ResNet34 and ResNet18.
        teacher_weights: ``"imagenet"`` or ``"none"`` (offline checks).
        methods: student methods (``none``, ``kd``, ``skd``, ...).
        epochs, batch_size, lr, weight_decay, milestones: the student recipe (90, 256 global,
            0.1, 1e-4, every 30 epochs).
        image_size: training crop (224); validation resizes to ``image_size * 8 / 7``.
        embed_images: how many (unaugmented) training images the teacher embedding reads.
        embedding: the teacher embedding (:class:`~skdlib.embedding.EmbeddingConfig`; default:
            the exact dataset-mean fit, 500 Adam steps at lr 0.01, K = 16).
        beta: SKD's weight (``None``: the method's default).
        workers: decoding processes per rank (``None``: :func:`skdlib.loaders.default_workers`).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        synthetic: offline only — if not empty, ``data`` is first generated (once) by
            :func:`skdlib.data.make_synthetic_imagefolder` with these arguments.

    Example:
        >>> ImageNetJob.from_dict({"data": "d", "out": "o"}).milestones
        (0.3333333333333333, 0.6666666666666666)
    """

    data: str
    out: str
    teacher_arch: str = "resnet34"
    student_arch: str = "resnet18"
    teacher_weights: str = "imagenet"
    methods: list[str] = field(default_factory=lambda: ["none", "kd", "skd"])
    epochs: int = 90
    batch_size: int = 256
    lr: float = 0.1
    weight_decay: float = 1e-4
    milestones: tuple[float, ...] = (1 / 3, 2 / 3)
    image_size: int = 224
    embed_images: int = 10000
    embedding: EmbeddingConfig = field(
        default_factory=lambda: EmbeddingConfig(
            optimizer="adam", lr=0.01, mode="dataset_mean", steps=500
        )
    )
    beta: float | None = None
    seed: int = 0
    workers: int | None = None
    device: str = "auto"
    synthetic: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.teacher_weights not in ("imagenet", "none"):
            raise ConfigError(
                f"key 'teacher_weights' must be 'imagenet' or 'none', got {self.teacher_weights!r}"
            )
        for method in self.methods:
            if get_method(method).needs_index:
                raise ConfigError(
                    f"key 'methods': {method!r} keeps a memory bank over the training set and "
                    "needs each image's index, which this job's loaders do not carry; run it "
                    "with the CIFAR runner (python -m skdlib distill / table1)"
                )
        teacher, student = _stage_widths(self.teacher_arch), _stage_widths(self.student_arch)
        if any(get_method(m).static for m in self.methods) and teacher != student:
            raise ConfigError(
                f"keys 'teacher_arch'/'student_arch': SKD pairs stages by name and width, but "
                f"{self.teacher_arch} has {teacher} and {self.student_arch} {student}"
            )
        self.student_config("none")  # checks epochs, lr, ... now, before any training

    def student_config(self, method: str) -> DistillConfig:
        return DistillConfig(
            method=method,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            milestones=tuple(self.milestones),
            beta=self.beta if method != "none" else None,
            seed=self.seed,
        )


def _transforms(size: int, train: bool) -> T.Compose:
    norm = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    if train:
        return T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), norm])
    return T.Compose([T.Resize(round(size * 8 / 7)), T.CenterCrop(size), T.ToTensor(), norm])


def imagenet_loaders(
    job: ImageNetJob, d: Distributed
) -> tuple[DataLoader, DataLoader, torchvision.datasets.ImageFolder]:
    """Train (this rank's shard, augmented) and validation loaders, and the unaugmented train
    set the embedding reads.

    Raises:
        FileNotFoundError: naming the folder when ``train/`` or ``val/`` is missing.
    """
    root = Path(job.data)
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise FileNotFoundError(
                f"{root / split} is missing: the ImageNet job reads an ImageFolder tree "
                f"{root}/train/<class>/*.jpg and {root}/val/<class>/*.jpg (offline: "
                "skdlib.data.make_synthetic_imagefolder writes one)"
            )
    train = torchvision.datasets.ImageFolder(root / "train", _transforms(job.image_size, True))
    val = torchvision.datasets.ImageFolder(root / "val", _transforms(job.image_size, False))
    plain = torchvision.datasets.ImageFolder(root / "train", _transforms(job.image_size, False))
    sampler = DistributedSampler(train, d.world, d.rank, seed=job.seed) if d.world > 1 else None
    train_loader = make_loader(
        train, d.rank_batch(job.batch_size), shuffle=True, sampler=sampler,
        drop_last=d.world > 1, workers=job.workers, device=d.device,
    )  # fmt: skip
    val_loader = make_loader(val, job.batch_size, workers=job.workers, device=d.device)
    return train_loader, val_loader, plain


def _embed_teacher(
    teacher: nn.Module, plain, job: ImageNetJob, d: Distributed, path: Path, progress: bool | str
) -> NeuronEmbedding:
    if d.main and not path.exists():
        subset = Subset(plain, range(min(job.embed_images, len(plain))))
        loader = make_loader(subset, 64, workers=0)
        trainer = EmbeddingTrainer(
            teacher, stage_names(job.teacher_arch), job.embedding,
            device=d.device, arch=job.teacher_arch,
            data_info={"images": len(subset), "data": str(job.data), "split": "train"},
        )  # fmt: skip
        trainer.train(loader, progress=progress).save(path)
    d.barrier()
    return NeuronEmbedding.load(path)


def _model(arch: str, weights: str, num_classes: int) -> nn.Module:
    """The registry's ``arch`` with ImageNet or random weights, for ``num_classes`` classes."""
    if weights == "imagenet":
        model = create_model(arch, weights="imagenet")
        if num_classes != model.fc.out_features:
            raise ValueError(
                f"ImageNet weights have {model.fc.out_features} classes; the data has "
                f"{num_classes}: use teacher_weights 'none' or a data set of 1000 classes"
            )
        return model
    return create_model(arch, num_classes=num_classes)


def run_imagenet_job(
    job: ImageNetJob | Mapping[str, Any] | str | os.PathLike, progress: bool | str = True
) -> dict[str, Any]:
    """Run (or continue) an ImageNet-size job; returns ``{"job", "runs": [...]}`` (also written
    to ``<out>/results.json`` by rank 0). Each run resumes from its folder's checkpoint."""
    cfg = ImageNetJob.coerce(job)
    d = init_distributed(cfg.device)
    out = Path(cfg.out)
    if cfg.synthetic and d.main:
        make_synthetic_imagefolder(cfg.data, progress=show_bars(progress), **cfg.synthetic)
    d.barrier()
    train_loader, val_loader, plain = imagenet_loaders(cfg, d)
    classes = len(plain.classes)
    teacher = _model(cfg.teacher_arch, cfg.teacher_weights, classes).to(d.device).eval()
    static = [m for m in cfg.methods if get_method(m).static]
    embedding = (
        _embed_teacher(teacher, plain, cfg, d, out / filenames.EMBEDDING, show_bars(progress))
        if static
        else None
    )
    runs = []
    for method in cfg.methods:
        torch.manual_seed(cfg.seed)
        student = _model(cfg.student_arch, "none", classes)
        uses_teacher = get_method(method).needs_teacher
        trainer = DistillTrainer(
            student, cfg.student_config(method), cfg.student_arch,
            teacher_model=teacher if uses_teacher else None, teacher_arch=cfg.teacher_arch,
            embedding=embedding if get_method(method).static else None, distributed=d,
        )  # fmt: skip
        summary = trainer.fit(train_loader, val_loader, out / method, progress=progress)
        runs.append({"method": method, **{k: v for k, v in summary.items() if k != "history"}})
    results = {"job": cfg.to_dict(), "processes": d.world, "runs": runs}
    if d.main:
        atomic_write_text(out / filenames.RESULTS, json.dumps(results, indent=1, allow_nan=False))
    d.barrier()
    return results
