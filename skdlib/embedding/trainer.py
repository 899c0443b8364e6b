"""Training the semantic vectors of a frozen network's neurons (paper Eq. 1).

Two ways to fit the same objective (``docs/method.md`` §2):

* :meth:`EmbeddingTrainer.fit` — the paper's procedure: mini-batches, one network forward per
  step, checkpointed after every epoch and resumable;
* :meth:`EmbeddingTrainer.fit_dataset_mean` — the whole-data loss fitted exactly: one forward
  pass over the data, then cheap steps on the ``(C, K)`` vectors alone.

Typical use::

    trainer = EmbeddingTrainer(model, ["layer1", "layer2", "layer3", "layer4"],
                               EmbeddingConfig(epochs=100), arch="resnet18")
    emb = trainer.fit(loader, checkpoint="runs/embed.ckpt")   # resumes if the file exists
    emb.save("runs/embedding.pt")
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import __version__, filenames
from ..checkpoint import atomic_save, load_checkpoint
from ..hooks import capture, check_finite, layer_channels, resolve_modules
from ..losses import activation_target, embedding_loss_over_layers, relation_cross_entropy_to
from ..progress import epoch_lines, show_bars, tqdm
from ..runtime import frozen, resolve_device
from ..schedule import epoch_seed
from .artifact import NeuronEmbedding
from .callbacks import Callback
from .config import EmbeddingConfig
from .vectors import SemanticVectors

__all__ = ["EmbeddingTrainer"]


def _batch_images(batch: Any) -> torch.Tensor:
    """Images from a loader batch: a tensor, or the first element of a tuple/list/dict."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    if isinstance(batch, Mapping) and isinstance(batch.get("image"), torch.Tensor):
        return batch["image"]
    raise TypeError(
        "the data loader must yield image tensors (B, 3, H, W), (images, targets) pairs or "
        f"dicts with an 'image' key; got {type(batch).__name__}"
    )


def _check_finite(acts: dict[str, torch.Tensor], layers: Sequence[str], where: str) -> None:
    """Stop with the layer, units and batch positions whose activations hold NaN or inf."""
    check_finite(
        acts,
        layers,
        where,
        advice="nothing was saved. Check those images for NaN/inf pixels and the model's weights "
        "(a diverged network?)",
    )


def _check_loss(loss: torch.Tensor, where: str) -> None:
    if not bool(torch.isfinite(loss)):
        raise FloatingPointError(
            f"the embedding loss became {float(loss.detach())} in {where}; nothing was saved. The "
            "activations were finite, so the vectors diverged: lower the learning rate"
        )


class EmbeddingTrainer:
    """Learn semantic vectors for the neurons of a frozen model's layers (paper Eq. 1).

    Args:
        model: any ``nn.Module``; it is put in eval mode, its parameters are not touched (they get
            ``requires_grad=False`` for the run and are restored afterwards), and it is moved to
            ``device``.
        layers: names of the modules whose outputs are embedded (``model.named_modules()`` keys).
            For torchvision ResNets the paper's "end of each block" is
            ``["layer1", "layer2", "layer3", "layer4"]``.
        config: :class:`EmbeddingConfig` (paper defaults).
        device: ``None``/``"auto"`` for CUDA when present, else CPU.
        arch: the architecture's name, recorded in the artifact (default: the model's class
            name, lower case).
        data_info: description of the data (e.g. its folder and number of images), recorded in
            the artifact and part of the run's identity: a checkpoint made on other data is
            never resumed.

    The data loader decides the batch size (paper: 64). Determinism: the vectors are initialised
    from ``config.seed`` and each epoch reseeds torch's global RNG from ``(seed, epoch)`` before
    iterating the loader, so shuffling is reproducible and a resumed run matches an uninterrupted
    one exactly on the CPU.
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str],
        config: EmbeddingConfig | None = None,
        device: str | torch.device | None = None,
        arch: str | None = None,
        data_info: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(layers, str):
            layers = [layers]
        if not layers:
            raise ValueError("choose at least one layer to embed")
        resolve_modules(model, layers)  # unknown names fail here, with suggestions
        self.model = model
        self.layers = list(layers)
        self.config = config or EmbeddingConfig()
        self.device = resolve_device(device)
        self.arch = arch or type(model).__name__.lower()
        self.data_info = dict(data_info or {})
        self.vectors: SemanticVectors | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self.history: dict[str, list[float]] = {"epoch": [], "loss": [], "lr": [], "seconds": []}
        self.epoch = 0
        self.input_shape: tuple[int, ...] | None = None

    # -- set-up ---------------------------------------------------------------------------------
    def prepare(self, input_shape: Sequence[int]) -> None:
        """Build the vectors, optimizer and lr schedule for inputs of shape ``(3, H, W)``.

        Layer widths come from one dry forward pass. :meth:`fit` calls this itself; call it
        directly only to use :meth:`train_step` on your own loop.
        """
        self.input_shape = tuple(int(s) for s in input_shape)
        self.model.to(self.device)
        channels = layer_channels(self.model, self.layers, self.input_shape)
        cfg = self.config
        self.vectors = SemanticVectors(channels, cfg.dim, seed=cfg.seed).to(self.device)
        self.optimizer = cfg.make_optimizer(self.vectors.parameters())
        self.scheduler = cfg.make_scheduler(self.optimizer)

    def _prepare_from(self, loader: Iterable) -> None:
        """:meth:`prepare` for the image shape of ``loader``'s first batch."""
        first = next(iter(loader), None)
        if first is None:
            raise ValueError("the data loader yielded no batches")
        self.prepare(_batch_images(first).shape[1:])

    def train_step(self, images: torch.Tensor) -> torch.Tensor:
        """One step of Eq. 1 on a batch ``(B, 3, H, W)``: frozen forward, loss, update.

        The model should be in eval mode (``fit`` takes care of it). Returns the detached loss.
        """
        with torch.no_grad(), capture(self.model, self.layers, detach=True) as acts:
            self.model(images.to(self.device, non_blocking=True))
        _check_finite(acts, self.layers, f"the batch of epoch {self.epoch + 1}")
        cfg = self.config
        loss = embedding_loss_over_layers(
            acts, self.vectors.as_dict(), cfg.tau, cfg.exclude_diagonal
        )
        _check_loss(loss, f"epoch {self.epoch + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def _run_signature(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "layers": self.layers,
            "channels": dict(self.vectors.channels),
            "config": self.config.to_dict(),
            "data": dict(self.data_info),
            "input_shape": list(self.input_shape or ()),
        }

    def _save_checkpoint(self, path: Path, callbacks) -> None:
        atomic_save(
            {
                "format": filenames.EMBEDDING_CHECKPOINT_FORMAT,
                "signature": self._run_signature(),
                "epoch": self.epoch,
                "vectors": {k: v.detach().cpu() for k, v in self.vectors.as_dict().items()},
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "history": self.history,
                "callbacks": [
                    cb.state_dict() if hasattr(cb, "state_dict") else None for cb in callbacks
                ],
            },
            path,
        )

    def _resume(self, path: Path, callbacks) -> None:
        state = load_checkpoint(
            path,
            filenames.EMBEDDING_CHECKPOINT_FORMAT,
            self._run_signature(),
            "embedding checkpoint",
            "delete it or pass another checkpoint path",
        )
        with torch.no_grad():
            for name, value in state["vectors"].items():
                self.vectors[name].copy_(value)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = state["history"]
        self.epoch = int(state["epoch"])
        for cb, cb_state in zip(callbacks, state.get("callbacks", []), strict=False):
            if cb_state is not None and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(cb_state)

    # -- training -------------------------------------------------------------------------------
    def train(
        self,
        loader: Iterable,
        checkpoint: str | os.PathLike | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool | str = True,
    ) -> NeuronEmbedding:
        """Train the way ``config.mode`` says: :meth:`fit` (``"minibatch"``, the paper's,
        checkpointed to ``checkpoint`` and resumable) or :meth:`fit_dataset_mean`
        (``"dataset_mean"``, ``config.steps`` steps; it needs no checkpoint).
        """
        if self.config.mode == "dataset_mean":
            return self.fit_dataset_mean(
                loader, steps=self.config.steps, callbacks=callbacks, progress=progress
            )
        return self.fit(loader, checkpoint=checkpoint, callbacks=callbacks, progress=progress)

    def fit(
        self,
        loader: Iterable,
        checkpoint: str | os.PathLike | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool | str = True,
    ) -> NeuronEmbedding:
        """Train the vectors over ``loader`` for ``config.epochs`` epochs.

        Args:
            loader: iterable of image batches ``(B, 3, H, W)`` (or ``(images, targets)``), e.g. a
                ``torch.utils.data.DataLoader``; preprocessing is the loader's job.
            checkpoint: file written atomically after every epoch. If it exists when ``fit``
                starts, training resumes from it (a checkpoint of a different run is an error).
            callbacks: :class:`Callback` objects (e.g. the KL-metric logger).
            progress: show tqdm progress bars; ``"epochs"``: one printed line per epoch
                instead; ``False``: silent.

        Returns:
            The trained :class:`NeuronEmbedding`.
        """
        callbacks = list(callbacks)
        self._prepare_from(loader)
        ckpt = Path(checkpoint) if checkpoint is not None else None
        if ckpt is not None and ckpt.exists():
            self._resume(ckpt, callbacks)

        cfg = self.config
        with frozen(self.model):
            for cb in callbacks:
                cb.on_train_start(self)
            epochs = tqdm(
                range(self.epoch + 1, cfg.epochs + 1),
                desc="embedding",
                unit="epoch",
                initial=self.epoch,
                total=cfg.epochs,
                disable=not show_bars(progress),
            )
            for epoch in epochs:
                self.epoch = epoch - 1
                mean_loss, seconds = self._train_epoch(loader, callbacks, progress)
                lr = self._end_epoch(epoch, mean_loss, seconds, callbacks)
                epochs.set_postfix(loss=f"{mean_loss:.5f}", lr=f"{lr:.3g}")
                if epoch_lines(progress):  # batch logs: one line per epoch instead of bars
                    print(
                        f"embedding: epoch {epoch}/{cfg.epochs} loss {mean_loss:.5f} lr {lr:.3g}",
                        flush=True,
                    )
                if ckpt is not None:
                    self._save_checkpoint(ckpt, callbacks)
            for cb in callbacks:
                cb.on_train_end(self)
        emb = self.result(loader)
        emb.meta["training"]["mode"] = "minibatch"  # what ran
        return emb

    def _end_epoch(self, epoch: int, mean_loss: float, seconds: float, callbacks) -> float:
        """Step the lr schedule, record the epoch in :attr:`history`, run the callbacks.

        Returns the learning rate the epoch trained with.
        """
        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        self.epoch = epoch
        for key, value in zip(self.history, (epoch, mean_loss, lr, seconds), strict=True):
            self.history[key].append(value)
        for cb in callbacks:
            cb.on_epoch_end(self, epoch, {"loss": mean_loss, "lr": lr})
        return lr

    def _train_epoch(self, loader, callbacks, progress) -> tuple[float, float]:
        torch.manual_seed(epoch_seed(self.config.seed, self.epoch + 1))
        total = torch.zeros((), device=self.device)
        steps = 0
        start = time.perf_counter()
        batches = tqdm(
            loader, desc=f"epoch {self.epoch + 1}", leave=False, disable=not show_bars(progress)
        )
        for batch in batches:
            loss = self.train_step(_batch_images(batch))
            steps += 1
            total += loss
            for cb in callbacks:
                cb.on_step_end(self, steps, loss)
        if steps == 0:
            raise ValueError("the data loader yielded no batches")
        return float(total) / steps, time.perf_counter() - start

    @torch.no_grad()
    def dataset_targets(self, loader: Iterable, progress: bool = True) -> dict[str, torch.Tensor]:
        """``{layer: (C, C)}``: the mean of the per-image targets ``h(D_A)`` over the data.

        Eq. 1's prediction ``q`` is shared by all images and the cross-entropy is linear in the
        target, so the loss over the whole data set equals ``CE(P̄, q)`` with ``P̄`` this mean:
        one forward pass fixes the objective that mini-batch SGD optimises stochastically.
        """
        cfg = self.config
        sums: dict[str, torch.Tensor] = {}
        count = 0
        with frozen(self.model), capture(self.model, self.layers, detach=True) as acts:
            shown = show_bars(progress)
            for batch in tqdm(loader, desc="dataset targets", leave=False, disable=not shown):
                images = _batch_images(batch).to(self.device, non_blocking=True)
                self.model(images)
                _check_finite(acts, self.layers, f"the batch starting at image {count}")
                for name in self.layers:
                    p = activation_target(acts[name], cfg.tau, cfg.exclude_diagonal)
                    sums[name] = sums.get(name, 0) + p * len(images)
                count += len(images)
        if count == 0:
            raise ValueError("the data loader yielded no batches")
        return {name: total / count for name, total in sums.items()}

    def fit_dataset_mean(
        self,
        loader: Iterable,
        steps: int = 500,
        callbacks: Sequence[Callback] = (),
        progress: bool | str = True,
    ) -> NeuronEmbedding:
        """Train on the exact whole-data objective ``CE(P̄, q)`` (see :meth:`dataset_targets`).

        One forward pass over ``loader``, then ``steps`` full-objective optimiser steps, each
        costing only the ``(C, K)`` vectors' similarity: converged vectors in seconds, where
        mini-batch training needs one network forward per step. The learning-rate schedule and
        callbacks treat every ``steps // config.epochs`` steps as an epoch. The minimiser is the
        same as :meth:`fit`'s; only the optimisation path differs (no sampling noise).
        """
        self._prepare_from(loader)
        targets = self.dataset_targets(loader, progress)
        cfg = self.config
        per_epoch = max(1, steps // cfg.epochs)
        vectors = self.vectors.as_dict()
        for cb in callbacks:
            cb.on_train_start(self)
        start = time.perf_counter()
        for epoch in tqdm(
            range(1, cfg.epochs + 1),
            desc="embedding (dataset mean)",
            unit="epoch",
            disable=not show_bars(progress),
        ):
            self.epoch = epoch - 1
            total = 0.0
            for step in range(1, per_epoch + 1):
                loss = torch.stack(
                    [
                        relation_cross_entropy_to(
                            targets[n], vectors[n], cfg.tau, cfg.exclude_diagonal
                        )
                        for n in self.layers
                    ]
                ).mean()
                _check_loss(loss, f"step {step} of epoch {epoch}")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total += float(loss.detach())
                for cb in callbacks:
                    cb.on_step_end(self, step, loss.detach())
            self._end_epoch(epoch, total / per_epoch, time.perf_counter() - start, callbacks)
        for cb in callbacks:
            cb.on_train_end(self)
        emb = self.result(loader)  # what ran, in the config's spelling
        emb.meta["training"].update(
            mode="dataset_mean", steps=steps, steps_taken=per_epoch * cfg.epochs
        )
        return emb

    def result(self, loader: Iterable | None = None) -> NeuronEmbedding:
        """The current vectors as a :class:`NeuronEmbedding` with full metadata."""
        if self.vectors is None:
            raise RuntimeError("nothing trained yet: call fit() first")
        data = dict(self.data_info)
        if loader is not None:
            data.setdefault("batch_size", getattr(loader, "batch_size", None))
            dataset = getattr(loader, "dataset", None)
            if dataset is not None and hasattr(dataset, "__len__"):
                data.setdefault("n_samples", len(dataset))
        meta = {
            "arch": self.arch,
            "layers": list(self.layers),
            "channels": dict(self.vectors.channels),
            "dim": self.config.dim,
            "tau": self.config.tau,
            "exclude_diagonal": self.config.exclude_diagonal,
            "input_shape": list(self.input_shape or ()),
            "data": data,
            "training": {**self.config.to_dict(), "epochs_done": self.epoch},
            "history": self.history,
            "library_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        vectors = {k: v.detach().cpu().clone() for k, v in self.vectors.as_dict().items()}
        return NeuronEmbedding(vectors, meta)
