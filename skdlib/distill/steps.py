"""The three steps of static knowledge distillation as functions (paper §3.2, Table 1).

1. **teacher**: plain training (``method="none"``), :func:`train_model`;
2. **embedding**: semantic vectors of the teacher's neurons at its stage outputs, learned on the
   training images (:func:`embed_teacher`, via :mod:`skdlib.embedding`), saved as one artifact;
3. **student**: :func:`train_model` with ``method="skd"`` and ``embedding=`` that artifact. The
   teacher model is never built, loaded or run.

Example::

    train, test = load_split("cifar100", True), load_split("cifar100", False)
    tl, vl = cifar_loader(train, 64, train=True), cifar_loader(test, 256, train=False)
    teacher = train_model("resnet32x4", tl, vl, DistillConfig(), out_dir="runs/t")
    emb = embed_teacher("runs/t/model.pt", train, out_dir="runs/t")
    student = train_model("resnet8x4", tl, vl, DistillConfig(method="skd"),
                          out_dir="runs/s", embedding="runs/t/embedding.pt")
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import filenames
from ..checkpoint import load_artifact
from ..embedding import EmbeddingConfig, EmbeddingTrainer, NeuronEmbedding
from ..models import create_model, load_model, stage_names
from ..runtime import resolve_device
from .cifar import cifar_loader
from .config import DistillConfig
from .distributed import Distributed
from .trainer import DistillTrainer

__all__ = ["train_model", "embed_teacher", "finished_embedding"]


def train_model(
    arch: str,
    train_loader: Iterable,
    test_loader: Iterable,
    config: DistillConfig | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    teacher_model: nn.Module | str | os.PathLike | None = None,
    teacher_arch: str | None = None,
    embedding: NeuronEmbedding | str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
    num_classes: int = 100,
    device: str | torch.device | None = None,
    until: int | None = None,
    progress: bool | str = True,
    distributed: Distributed | None = None,
    train_targets: Any = None,
) -> DistillTrainer:
    """Build ``arch`` (initialised from ``config.seed``) and train it with :class:`DistillTrainer`.

    A teacher is this with ``method="none"``; its ``out_dir/model.pt`` is what students and
    :func:`embed_teacher` load. Returns the trainer (``.student``, ``.summary``). Under
    ``torchrun``, pass :func:`~skdlib.distill.distributed.init_distributed`'s result as
    ``distributed`` (and to :func:`~skdlib.distill.cifar.cifar_loader`). ``train_targets`` (the
    training labels by index, for CRD's memory bank) default to ``train_loader.dataset.targets``;
    CRD also needs a loader made with ``with_index=True``.

    Example:
        >>> from skdlib.distill.cifar import load_split, cifar_loader
        >>> ds = load_split("synthetic", train=False, n_per_class=1)
        >>> loader = cifar_loader(ds, 50, train=False, device="cpu")
        >>> t = train_model("resnet20", loader, loader, DistillConfig(epochs=1), progress=False)
        >>> t.summary.epochs_done
        1
    """
    config = config or DistillConfig()
    if train_targets is None:
        train_targets = getattr(getattr(train_loader, "dataset", None), "targets", None)
    torch.manual_seed(config.seed)
    student = create_model(arch, num_classes)
    trainer = DistillTrainer(
        student,
        config,
        student_arch=arch,
        teacher_model=teacher_model,
        teacher_arch=teacher_arch,
        embedding=embedding,
        device=device,
        distributed=distributed,
        train_targets=train_targets,
    )
    trainer.fit(train_loader, test_loader, out_dir=out_dir, until=until, progress=progress)
    return trainer


def embed_teacher(
    teacher_model: nn.Module | str | os.PathLike,
    dataset: Any,
    config: EmbeddingConfig | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    teacher_arch: str | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    pipeline: str = "auto",
    progress: bool | str = True,
) -> NeuronEmbedding:
    """Learn semantic vectors for the teacher's neurons at every stage output (paper Eq. 1).

    The training images are shown without augmentation (normalised, shuffled each epoch). With
    ``out_dir`` the run checkpoints to ``embedding.ckpt`` (and resumes from it) and the result is
    saved as ``out_dir/embedding.pt``; if that file exists it is loaded instead of retrained —
    only when it was made with the same settings, teacher architecture and data (else a
    ``ValueError`` names what differs; a finished result is never silently replaced or reused).

    Args:
        teacher_model: a trained model or its file (:func:`skdlib.models.load_model`).
        dataset: the training split from :func:`skdlib.distill.cifar.load_split`.
        config: :class:`~skdlib.embedding.EmbeddingConfig`; default the paper's (SGD lr 0.1,
            100 epochs, K = 16, mini-batches). ``optimizer="adam", lr=0.01`` converges in far
            fewer steps; ``mode="dataset_mean"`` fits the same objective from one pass.
        teacher_arch: recorded in the artifact (read from skdlib model files).

    Returns:
        The :class:`NeuronEmbedding` (``.vectors``: ``{stage: (C, K)}``).
    """
    out = Path(out_dir) if out_dir is not None else None
    config = config or EmbeddingConfig()
    if teacher_arch is None and isinstance(teacher_model, (str, os.PathLike)):
        teacher_arch = load_artifact(teacher_model, "model checkpoint").get("arch")
    data_info = _data_info(dataset)
    if out is not None and (out / filenames.EMBEDDING).exists():
        return finished_embedding(out, dataset, config, teacher_arch)
    model = load_model(teacher_model, teacher_arch)
    device = resolve_device(device)
    loader = cifar_loader(
        dataset, batch_size, train=False, shuffle=True, device=device, pipeline=pipeline
    )
    trainer = EmbeddingTrainer(
        model,
        stage_names(model),
        config,
        device=device,
        arch=teacher_arch,
        data_info=data_info,
    )
    checkpoint = out / filenames.EMBEDDING_CHECKPOINT if out is not None else None
    emb = trainer.train(loader, checkpoint=checkpoint, progress=progress)
    if out is not None:
        emb.save(out / filenames.EMBEDDING)
    return emb


def _data_info(dataset: Any) -> dict[str, Any]:
    return {
        "name": type(dataset).__name__,
        "split": "train" if getattr(dataset, "train", True) else "test",
        "n_images": len(dataset),
        "augmentation": "none",
    }


def finished_embedding(
    out_dir: str | os.PathLike, dataset: Any, config: EmbeddingConfig, arch: str | None
) -> NeuronEmbedding | None:
    """The finished :func:`embed_teacher` result in ``out_dir`` if it was made as asked (same
    settings, teacher architecture and data), ``None`` if there is none.

    Raises:
        ValueError: when it was made otherwise, listing each difference as
            ``key: saved -> asked`` and what to do. Table-1 jobs call this for every teacher
            before any training, so a changed ``embedding`` config stops the job at once.

    Example::

        finished_embedding("runs/t", train, EmbeddingConfig(dim=32), "resnet32x4")
        # ValueError: runs/t/embedding.pt was made with other settings (dim: 16 -> 32) ...
    """
    path = Path(out_dir) / filenames.EMBEDDING
    if not path.exists():
        return None
    data_info = _data_info(dataset)
    emb = NeuronEmbedding.load(path)
    saved = {**emb.meta.get("training", {}), "arch": emb.meta.get("arch")}
    saved.update({f"data.{k}": v for k, v in emb.meta.get("data", {}).items()})
    asked: dict[str, Any] = {**config.to_dict(), "arch": arch}
    asked.update({f"data.{k}": v for k, v in data_info.items()})

    def same(a: Any, b: Any) -> bool:
        return (list(a) if isinstance(a, tuple) else a) == (list(b) if isinstance(b, tuple) else b)

    differ = [
        f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in asked.items() if not same(saved.get(k), v)
    ]
    if differ:
        raise ValueError(
            f"{path} was made with other settings ({'; '.join(differ)}), so it is not reused. "
            f"Delete {path} and {path.with_suffix('.ckpt')} to train it again with these settings, "
            "or choose another output folder."
        )
    return emb
