"""Training a student (or a teacher) under the CRD protocol with any registered method.

:class:`DistillTrainer` knows no method by name: it asks the method's registry entry
(:mod:`skdlib.distill.methods`) for the loss weights, the tensors to hook, and whether the
teacher runs. For a static method (SKD) the teacher model is never built, loaded or run: the
targets are the constant semantic vectors of its embedding. The method's hooks, features,
trainable modules and term are a :class:`~skdlib.distill.method_term.MethodTerm`; a method with
an initialisation stage (AB, FT, FSP) runs it first (:mod:`skdlib.distill.init_stage`).

Runs are reproducible and resumable: each epoch reseeds torch's global RNG from
``(seed, epoch)`` before the data loader is iterated, and the model, optimizer, scheduler and
metrics are saved atomically after every epoch (a diverged epoch stops the run unsaved);
restarting with the same output folder continues where the run stopped, bit for bit on the CPU.
A run folder holds ``checkpoint.pt``, ``metrics.json`` / ``metrics.csv`` (per-epoch rows, last-
and best-epoch top-1), ``best.pt`` and, when finished, ``model.pt``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from .. import filenames
from ..embedding import NeuronEmbedding
from ..hooks import layer_channels
from ..models import ARCHITECTURES, classifier, load_model, save_model
from ..progress import epoch_lines, show_bars, tqdm
from ..runtime import resolve_device
from ..schedule import epoch_seed
from .baselines import kd_loss
from .config import DistillConfig
from .distributed import Distributed, rank_slice
from .evaluate import check_finite_epoch, evaluate
from .features import FeatureSpec, feature_spec
from .init_stage import InitStageRunner
from .method_term import MethodTerm
from .methods import get_method
from .run_files import RunFiles, RunSummary

__all__ = ["DistillTrainer"]


class DistillTrainer(RunFiles):
    """Train a student (or a teacher, with ``method="none"``) under the CRD protocol.

    Args:
        student: the model to train, e.g. ``create_model("resnet8x4")``.
        config: :class:`~skdlib.distill.DistillConfig` (method, schedule, loss weights).
        student_arch: the student's architecture (recorded; chooses SKD's β for vgg13→vgg8).
        teacher_model: for methods that run the teacher (:attr:`Method.teacher_forward`): an
            ``nn.Module`` or a model file (:func:`~skdlib.models.load_model`). **Ignored, never
            loaded and never called** otherwise (``none``, ``skd``).
        teacher_arch: the teacher's architecture (needed to load a RepDistiller checkpoint;
            recorded; chooses β; read from the embedding when not given).
        embedding: for static methods (``skd``, ``skd+kd``): the teacher's
            :class:`~skdlib.embedding.NeuronEmbedding`, a path to one, or a ``{layer: (C, K)}``
            dict. Its layers are paired with the student's modules of the same name; every
            pair must have equal channel counts.
        device: ``None``/``"auto"``: CUDA when present.
        train_targets: ``(N,)`` labels of the training set by sample index, for methods that
            keep one entry per training image (CRD's memory bank; ``train_model`` passes the
            training loader's ``dataset.targets``).

    Raises:
        ValueError: a method without what it needs, or a layer pairing that does not fit; the
            message names the layers and both channel counts.

    Example:
        >>> from skdlib.models import create_model
        >>> cfg = DistillConfig(method="skd", epochs=1)
        >>> vecs = {n: torch.randn(c, 16) for n, c in zip(["layer1", "layer2", "layer3"],
        ...                                               [16, 32, 64])}
        >>> t = DistillTrainer(create_model("resnet20"), cfg, "resnet20", embedding=vecs,
        ...                    device="cpu")
        >>> sorted(t.train_step(torch.randn(4, 3, 32, 32), torch.arange(4)))
        ['ce', 'correct', 'distill', 'kd', 'loss']
        >>> t.optimizer.param_groups[0]["params"] == list(t.student.parameters())  # no modules
        True
    """

    def __init__(
        self,
        student: nn.Module,
        config: DistillConfig | None = None,
        student_arch: str | None = None,
        teacher_model: nn.Module | str | os.PathLike | None = None,
        teacher_arch: str | None = None,
        embedding: NeuronEmbedding | str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        device: str | torch.device | None = None,
        distributed: Distributed | None = None,
        train_targets: Sequence[int] | torch.Tensor | None = None,
    ) -> None:
        self.config = config or DistillConfig()
        self.method = get_method(self.config.method)
        self.dist = distributed or Distributed(device=resolve_device(device))
        self.device = self.dist.device
        self.dist.rank_batch(self.config.batch_size)  # a global batch must split evenly
        m = self.method
        if self.dist.world > 1 and (m.modules or m.init or m.needs_index):
            raise ValueError(
                f"method {m.name!r} has trainable modules, an initialisation stage or a memory "
                "bank, which are not synchronised across processes yet: run it on one process"
            )
        self.student = student.to(self.device)
        if self.config.channels_last:
            self.student.to(memory_format=torch.channels_last)
        self.student_arch = student_arch or type(student).__name__.lower()
        self.teacher_arch = teacher_arch
        self.spec = feature_spec(student)
        self.teacher_model: nn.Module | None = None
        self.teacher_spec: FeatureSpec | None = None
        if self.method.needs_teacher:
            self._load_teacher(teacher_model)
        self.vectors: dict[str, torch.Tensor] = {}
        self.embedding_meta: dict[str, Any] = {}
        if self.method.static:
            self._load_vectors(embedding)
        self.weights = self.config.weights(self.teacher_arch, self.student_arch)
        self.settings = self.config.method_settings(self.teacher_arch, self.student_arch)

        cfg = self.config
        self.term = MethodTerm(
            self.method, cfg, self.student, self.spec, self.teacher_model, self.teacher_spec,
            self.vectors, self.settings, train_targets, self.device,
        )  # fmt: skip
        self.optimizer = cfg.make_optimizer(
            [*self.student.parameters(), *self.term.main_parameters()]
        )
        self.scheduler = cfg.make_scheduler(self.optimizer)
        self.init_stage = InitStageRunner(self) if self.method.init is not None else None
        self.epoch = 0
        self.summary = RunSummary()
        self.model: nn.Module = self.student  # what a step runs forward: DDP on several ranks
        if self.dist.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.student, device_ids=ids)
        if cfg.compile:
            self.model = torch.compile(self.model)

    # -- set-up ---------------------------------------------------------------------------------
    def _load_teacher(self, teacher_model) -> None:
        name = self.method.name
        if teacher_model is None:
            raise ValueError(
                f"method {name!r} needs the teacher model: pass teacher_model= (a model or a "
                "model file)"
            )
        self.teacher_model = load_model(teacher_model, self.teacher_arch).to(self.device).eval()
        if self.config.channels_last:
            self.teacher_model.to(memory_format=torch.channels_last)
        for p in self.teacher_model.parameters():
            p.requires_grad_(False)
        self.teacher_spec = feature_spec(self.teacher_model)
        s_out, t_out = (
            classifier(self.student)[1].out_features,
            classifier(self.teacher_model)[1].out_features,
        )
        if s_out != t_out:
            raise ValueError(
                f"teacher {self.teacher_arch} has {t_out} classes, student {self.student_arch} "
                f"has {s_out}; distillation needs the same classes"
            )
        if {self.teacher_arch, self.student_arch} <= set(ARCHITECTURES):
            problem = self.method.pair_problem(self.teacher_arch, self.student_arch)
            if problem:
                raise ValueError(
                    f"{self.method.label} cannot distil {self.teacher_arch} into "
                    f"{self.student_arch}: {problem}"
                )
        if self.method.taps is not None:
            s_taps, t_taps = (
                self.method.tap_names(self.spec),
                self.method.tap_names(self.teacher_spec),
            )
            if len(s_taps) != len(t_taps):
                raise ValueError(
                    f"{self.method.label} pairs features by position: student "
                    f"{self.student_arch} has {s_taps}, teacher {self.teacher_arch} has {t_taps}"
                )

    def _load_vectors(self, embedding) -> None:
        if embedding is None:
            raise ValueError(
                f"method {self.method.name!r} needs the teacher's neuron embedding: pass "
                "embedding= (a NeuronEmbedding, its file, or {layer: (C, K)}); make it with "
                "embed_teacher()"
            )
        if isinstance(embedding, (str, os.PathLike)):
            embedding = NeuronEmbedding.load(embedding)
        if isinstance(embedding, NeuronEmbedding):
            self.embedding_meta = {
                k: embedding.meta.get(k) for k in ("arch", "layers", "channels", "dim")
            }
            self.teacher_arch = self.teacher_arch or embedding.meta.get("arch")
            vectors = embedding.vectors
        else:
            vectors = dict(embedding)
        self._check_static_pairing(vectors)
        self.embedding_meta["digest"] = NeuronEmbedding(dict(vectors)).digest()
        self.vectors = {
            k: v.detach().to(self.device, torch.float32).clone() for k, v in vectors.items()
        }

    def _check_static_pairing(self, vectors: Mapping[str, torch.Tensor]) -> None:
        teacher = self.teacher_arch or "the teacher"
        missing = [n for n in vectors if n not in dict(self.student.named_modules())]
        if missing or not vectors:
            raise ValueError(
                f"{self.method.label} pairs layers by name: the embedding of {teacher} has layers "
                f"{list(vectors)}, but student {self.student_arch} has no "
                f"{', '.join(map(repr, missing)) or 'layers'} (its stage outputs: "
                f"{list(self.spec.stages)}). Use a teacher/student pair of the same family "
                "(see skdlib.models.PAPER_PAIRS)."
            )
        widths = layer_channels(self.student, list(vectors), (3, 32, 32))
        wrong = [
            f"student {self.student_arch} layer {n!r} has {widths[n]} channels but teacher "
            f"{teacher} layer {n!r} has {v.shape[0]} semantic vectors"
            for n, v in vectors.items()
            if widths[n] != v.shape[0]
        ]
        if wrong:
            raise ValueError(
                "; ".join(wrong) + f". {self.method.label} needs equal widths in every paired "
                "layer: use a pair whose stage widths match (skdlib.models.PAPER_PAIRS)."
            )

    def close(self) -> None:
        """Remove the method's forward hooks (``fit`` does this when it returns)."""
        self.term.close()

    # -- one step -------------------------------------------------------------------------------
    def train_step(
        self, images: torch.Tensor, targets: torch.Tensor, index: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """One SGD step on a batch; the student should be in train mode (``fit`` sees to it).

        Args:
            images: ``(B, 3, 32, 32)`` normalised images.
            targets: ``(B,)`` class ids.
            index: ``(B,)`` the images' indices in the training set (methods with
                ``needs_index``: CRD).

        Returns:
            Detached scalars: ``loss`` (the total), ``ce``, ``kd``, ``distill`` (the unweighted
            terms; 0 when unused) and ``correct`` (top-1 hits in the batch).
        """
        images = images.to(self.device, non_blocking=True)
        targets = targets.to(self.device, non_blocking=True)
        if self.config.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        self.term.ensure_hooks()
        w = self.weights
        bf16 = self.config.precision == "bf16"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = self.model(images).float()
        ce = F.cross_entropy(logits, targets)
        loss = ce if w["ce"] == 1.0 else w["ce"] * ce
        zero = torch.zeros((), device=self.device)
        kd = distill = zero
        t_logits = None
        if self.teacher_model is not None and self.method.teacher_forward:
            with torch.no_grad(), torch.autocast(self.device.type, torch.bfloat16, enabled=bf16):
                t_logits = self.teacher_model(images).float()
            if w["kd"]:
                kd = kd_loss(logits, t_logits, self.config.kd_temperature)
                loss = loss + w["kd"] * kd
        if w["beta"] and self.method.loss is not None:
            step = self.term.step_inputs(
                logits=logits, teacher_logits=t_logits, labels=targets, index=index,
                epoch=self.epoch + 1,
            )  # fmt: skip
            distill = self.term.loss(step)
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

    # -- training -------------------------------------------------------------------------------
    def fit(
        self,
        train_loader: Iterable,
        test_loader: Iterable,
        out_dir: str | os.PathLike | None = None,
        until: int | None = None,
        progress: bool | str = True,
    ) -> dict[str, Any]:
        """Train for ``config.epochs`` epochs (or up to epoch ``until``), testing after each.

        Args:
            train_loader: ``(images, targets)`` batches with augmentation
                (:func:`~skdlib.distill.cifar.cifar_loader`); ``(images, targets, index)``
                for methods with ``needs_index`` (``with_index=True``).
            test_loader: the test split, evaluated after every epoch.
            out_dir: run folder; if it holds a checkpoint of this run, training resumes there.
                ``None`` keeps everything in memory.
            until: stop after this epoch (the run can be continued later from ``out_dir``);
                0: after the initialisation stage.
            progress: tqdm bars over epochs and batches; ``"epochs"``: one printed line per
                epoch instead; ``False``: silent.

        Returns:
            The summary: ``last_top1``, ``best_top1``, ``best_epoch``, ``epochs_done``,
            ``complete``, ``seconds``, ``history`` (one dict per epoch), ``init_epochs_done``,
            ``init_seconds`` (an initialisation stage's, first; ``init_stage.history``).
        """
        cfg = self.config
        out = Path(out_dir) if out_dir is not None else None
        if out is not None and (out / filenames.CHECKPOINT).exists():
            self._resume(out / filenames.CHECKPOINT)
        stop = cfg.epochs if until is None else min(int(until), cfg.epochs)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        try:
            while self.init_stage is not None and not self.init_stage.done:
                row = self.init_stage.run_epoch(train_loader, progress)
                self.summary.init_epochs_done = self.init_stage.epoch
                self.summary.init_seconds += row["seconds"]
                self._record_init(out)
                if epoch_lines(progress) and self.dist.main:
                    print(
                        f"{self.method.name} {self.student_arch}: init epoch {row['init_epoch']}/"
                        f"{self.init_stage.epochs} loss {row['init_loss']:.4f}",
                        flush=True,
                    )
        finally:
            self.close()
        bar = tqdm(
            range(self.epoch + 1, stop + 1),
            desc=f"{self.method.name} {self.student_arch}",
            unit="epoch",
            initial=self.epoch,
            total=cfg.epochs,
            disable=not (show_bars(progress) and self.dist.main),
        )
        try:
            for epoch in bar:
                row = self._train_epoch(train_loader, epoch, progress)
                test = evaluate(self.student, test_loader, self.device)
                row.update(test_loss=test["loss"], test_top1=test["top1"], test_top5=test["top5"])
                check_finite_epoch(
                    self.student, row, epoch, f"{self.method.name} {self.student_arch}"
                )
                self.epoch = epoch
                self._record(row, out)
                bar.set_postfix(top1=f"{test['top1']:.2f}", best=f"{self.summary.best_top1:.2f}")
                if epoch_lines(progress) and self.dist.main:  # batch logs: a line per epoch
                    print(
                        f"{self.method.name} {self.student_arch}: epoch {epoch}/{cfg.epochs} "
                        f"top-1 {test['top1']:.2f} best {self.summary.best_top1:.2f}",
                        flush=True,
                    )
        finally:
            self.close()
        done = out is not None and self.summary.complete and not (out / filenames.MODEL).exists()
        if done and self.dist.main:
            save_model(self.student, self.student_arch, out / filenames.MODEL, **self._model_info())
        self.dist.barrier()
        return asdict(self.summary)

    def _train_epoch(self, loader: Iterable, epoch: int, progress: bool | str) -> dict[str, float]:
        torch.manual_seed(epoch_seed(self.config.seed, epoch))
        lr = self.optimizer.param_groups[0]["lr"]
        sums = torch.zeros(5, dtype=torch.float64, device=self.device)
        n = 0
        start = time.perf_counter()
        self.term.set_modes("main")
        sampler = getattr(loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):  # already sharded: one order per epoch
            sampler.set_epoch(epoch_seed(self.config.seed, epoch) % 2**62)
        elif self.dist.world > 1:  # global batches: each rank trains on its slice
            loader = rank_slice(loader, self.dist)
        shown = show_bars(progress) and self.dist.main
        batches = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not shown)
        for step, (images, targets, *index) in enumerate(batches, 1):
            r = self.train_step(images, targets, *index)
            b = targets.shape[0]
            n += b
            sums[:4] += torch.stack([r["loss"] * b, r["ce"] * b, r["kd"] * b, r["distill"] * b])
            sums[4] += r["correct"]
            if shown and step % 25 == 0:
                batches.set_postfix(loss=f"{float(sums[0]) / n:.4f}")
        totals = self.dist.sum(torch.cat([sums, sums.new_tensor([n])]))  # over every rank
        if totals[5] == 0:
            raise ValueError("the training loader yielded no batches")
        self.scheduler.step()
        mean = (totals[:5] / totals[5]).tolist()
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
