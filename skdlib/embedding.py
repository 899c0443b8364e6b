"""Neuron embedding (paper Eq. 1): a K-dim semantic vector for every channel of chosen layers.

The network is frozen; for each chosen layer ``L`` with ``C_L`` channels a matrix
``S^L`` of shape ``(C_L, K)`` is trained so that the cosine-similarity structure of the vectors
matches that of the neurons' activation maps (see :mod:`skdlib.losses`). Neurons that fire on the
same image regions end up with similar vectors, like words that appear in the same contexts.

Typical use::

    trainer = EmbeddingTrainer(model, ["layer1", "layer2", "layer3", "layer4"],
                               EmbeddingConfig(epochs=100), model_name="resnet18")
    emb = trainer.fit(loader, checkpoint="runs/embed.ckpt")   # resumes if the file exists
    emb.save("runs/embedding.pt")
    emb.nearest("layer4", 17, k=3)           # [(unit, cosine), ...]
    emb.additive("layer4", 3, 5)             # s_3 + s_5 -> nearest other neuron

The result, :class:`NeuronEmbedding`, is one artifact holding the vectors and every setting
needed to interpret or reproduce them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestNeighbors
from torch import nn
from tqdm.auto import tqdm

from . import __version__
from .checkpoint import atomic_save, load_artifact, load_checkpoint
from .hooks import capture, layer_channels, resolve_modules
from .losses import activation_target, embedding_loss_over_layers, relation_cross_entropy_to
from .runtime import resolve_device
from .schedule import epoch_seed

__all__ = [
    "EmbeddingConfig",
    "SemanticVectors",
    "Callback",
    "EmbeddingTrainer",
    "NeuronEmbedding",
]

ARTIFACT_FORMAT = "skdlib.neuron-embedding/1"
CHECKPOINT_FORMAT = "skdlib.embedding-checkpoint/1"


@dataclass
class EmbeddingConfig:
    """Settings of a neuron-embedding run; defaults are the paper's (§4.1).

    Attributes:
        dim: K, the length of each semantic vector (paper: 16).
        tau: softmax temperature of both similarity distributions (paper: 1).
        exclude_diagonal: drop self-similarity from the distributions (paper: keep it).
        epochs: passes over the data (paper: 100).
        lr, momentum, weight_decay: SGD settings (paper: 0.1, 0.9, 5e-4).
        milestones: epochs, as fractions of ``epochs``, at which the learning rate is multiplied by
            ``gamma`` (paper: 50/75/90 of 100 epochs, i.e. ``(0.5, 0.75, 0.9)``).
        gamma: learning-rate decay factor (paper: 0.1).
        seed: seeds the vectors' initialisation and each epoch's data order.
        optimizer: ``"sgd"`` (paper) or ``"adam"``. The gradient of Eq. 1 is small — each row of
            ``q - p`` is a difference of near-uniform distributions over C neurons, so it shrinks
            roughly as ``C^-1.5`` — and SGD at lr 0.1 needs the paper's ~10^5 steps; Adam (lr
            ~0.01) is insensitive to that scale and converges in a few hundred steps, which is
            what short offline runs use.
    """

    dim: int = 16
    tau: float = 1.0
    exclude_diagonal: bool = False
    epochs: int = 100
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestones: tuple[float, ...] = (0.5, 0.75, 0.9)
    gamma: float = 0.1
    seed: int = 0
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.dim < 1 or self.epochs < 1:
            raise ValueError(f"dim and epochs must be >= 1, got {self.dim} and {self.epochs}")

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """The configured optimizer over ``params``."""
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(
            params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
        )

    def milestone_epochs(self) -> list[int]:
        """The decay epochs as integers, e.g. ``[50, 75, 90]`` for 100 epochs."""
        return sorted({max(1, round(f * self.epochs)) for f in self.milestones})

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["milestones"] = list(self.milestones)
        return out


class SemanticVectors(nn.Module):
    """One trainable ``(C_l, K)`` matrix per layer, initialised uniformly on the unit sphere.

    The paper only says "randomly initialise". Only directions matter to the cosine, and unit rows
    make the paper's learning rate of 0.1 a step of sensible size (the gradient of a cosine scales
    as ``1 / |s|``).

    Layer names may contain dots (``"layer4.1.conv2"``), so the matrices live in a
    ``ParameterList`` in the order of :attr:`layer_names`; index by name with ``vectors[name]``.

    Example:
        >>> s = SemanticVectors({"layer1": 64, "layer2": 128}, dim=16, seed=0)
        >>> s["layer2"].shape
        torch.Size([128, 16])
    """

    def __init__(self, channels: Mapping[str, int], dim: int = 16, seed: int = 0) -> None:
        super().__init__()
        if not channels:
            raise ValueError("SemanticVectors needs at least one layer")
        self.layer_names = list(channels)
        self.channels = {name: int(c) for name, c in channels.items()}
        self.dim = int(dim)
        generator = torch.Generator().manual_seed(seed)
        self.matrices = nn.ParameterList(
            nn.Parameter(F.normalize(torch.randn(c, self.dim, generator=generator), dim=1))
            for c in self.channels.values()
        )

    def __getitem__(self, name: str) -> nn.Parameter:
        return self.matrices[self.layer_names.index(name)]

    def as_dict(self) -> dict[str, torch.Tensor]:
        """``{layer: (C_l, K)}`` of the live parameters (gradients flow)."""
        return dict(zip(self.layer_names, self.matrices, strict=True))


class Callback:
    """Hooks into :meth:`EmbeddingTrainer.fit`; override what you need.

    ``trainer.vectors`` (a :class:`SemanticVectors`) holds the current vectors at every call.
    A callback that keeps state across a resume implements ``state_dict``/``load_state_dict``;
    the trainer stores it in the checkpoint.
    """

    def on_train_start(self, trainer: EmbeddingTrainer) -> None:
        """Called once before the first epoch (also after a resume)."""

    def on_step_end(self, trainer: EmbeddingTrainer, step: int, loss: torch.Tensor) -> None:
        """Called after each optimiser step; ``loss`` is a detached scalar tensor."""

    def on_epoch_end(self, trainer: EmbeddingTrainer, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch (1-based), before its checkpoint is written (so the callback's
        ``state_dict`` includes this epoch); ``logs`` has the epoch's mean loss and its lr."""

    def on_train_end(self, trainer: EmbeddingTrainer) -> None:
        """Called once after the last epoch."""


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
        model_name: recorded in the artifact (default: the model's class name, lower case).
        data_info: free-form description of the data recorded in the artifact.

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
        model_name: str | None = None,
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
        self.model_name = model_name or type(model).__name__.lower()
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
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=cfg.milestone_epochs(), gamma=cfg.gamma
        )

    def _prepare_from(self, loader: Iterable) -> None:
        """:meth:`prepare` for the image shape of ``loader``'s first batch."""
        first = next(iter(loader), None)
        if first is None:
            raise ValueError("the data loader yielded no batches")
        self.prepare(_batch_images(first).shape[1:])

    @contextmanager
    def _frozen_model(self):
        """Eval mode and no parameter gradients for the block; both restored afterwards."""
        frozen = [p for p in self.model.parameters() if p.requires_grad]
        was_training = self.model.training
        for p in frozen:
            p.requires_grad_(False)
        self.model.eval()
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)
            self.model.train(was_training)

    def train_step(self, images: torch.Tensor) -> torch.Tensor:
        """One step of Eq. 1 on a batch ``(B, 3, H, W)``: frozen forward, loss, update.

        The model should be in eval mode (``fit`` takes care of it). Returns the detached loss.
        """
        with torch.no_grad(), capture(self.model, self.layers, detach=True) as acts:
            self.model(images.to(self.device, non_blocking=True))
        cfg = self.config
        loss = embedding_loss_over_layers(
            acts, self.vectors.as_dict(), cfg.tau, cfg.exclude_diagonal
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def _run_signature(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "layers": self.layers,
            "channels": dict(self.vectors.channels),
            "config": self.config.to_dict(),
        }

    def _save_checkpoint(self, path: Path, callbacks) -> None:
        atomic_save(
            {
                "format": CHECKPOINT_FORMAT,
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
            CHECKPOINT_FORMAT,
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
    def fit(
        self,
        loader: Iterable,
        checkpoint: str | os.PathLike | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
    ) -> NeuronEmbedding:
        """Train the vectors over ``loader`` for ``config.epochs`` epochs.

        Args:
            loader: iterable of image batches ``(B, 3, H, W)`` (or ``(images, targets)``), e.g. a
                ``torch.utils.data.DataLoader``; preprocessing is the loader's job.
            checkpoint: file written atomically after every epoch. If it exists when ``fit``
                starts, training resumes from it (a checkpoint of a different run is an error).
            callbacks: :class:`Callback` objects (e.g. the KL-metric logger).
            progress: show tqdm progress bars.

        Returns:
            The trained :class:`NeuronEmbedding`.
        """
        callbacks = list(callbacks)
        self._prepare_from(loader)
        ckpt = Path(checkpoint) if checkpoint is not None else None
        if ckpt is not None and ckpt.exists():
            self._resume(ckpt, callbacks)

        cfg = self.config
        with self._frozen_model():
            for cb in callbacks:
                cb.on_train_start(self)
            epochs = tqdm(
                range(self.epoch + 1, cfg.epochs + 1),
                desc="embedding",
                unit="epoch",
                initial=self.epoch,
                total=cfg.epochs,
                disable=not progress,
            )
            for epoch in epochs:
                self.epoch = epoch - 1
                mean_loss, seconds = self._train_epoch(loader, callbacks, progress)
                lr = self._end_epoch(epoch, mean_loss, seconds, callbacks)
                epochs.set_postfix(loss=f"{mean_loss:.5f}", lr=f"{lr:.3g}")
                if ckpt is not None:
                    self._save_checkpoint(ckpt, callbacks)
            for cb in callbacks:
                cb.on_train_end(self)
        return self.result(loader)

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
        batches = tqdm(loader, desc=f"epoch {self.epoch + 1}", leave=False, disable=not progress)
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
        with self._frozen_model(), capture(self.model, self.layers, detach=True) as acts:
            for batch in tqdm(loader, desc="dataset targets", leave=False, disable=not progress):
                images = _batch_images(batch).to(self.device, non_blocking=True)
                self.model(images)
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
        progress: bool = True,
    ) -> NeuronEmbedding:
        """Train on the exact whole-data objective ``CE(P̄, q)`` (see :meth:`dataset_targets`).

        One forward pass over ``loader``, then ``steps`` full-objective optimiser steps, each
        costing only the ``(C, K)`` vectors' similarity: converged vectors in seconds, where
        mini-batch training needs one network forward per step. The learning-rate schedule and
        callbacks treat every ``steps // config.epochs`` steps as an epoch. The minimiser is the
        same as :meth:`fit`'s; only the optimisation path differs (no sampling noise).
        """
        self._prepare_from(loader)
        with self._frozen_model():
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
            disable=not progress,
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
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total += float(loss.detach())
                for cb in callbacks:
                    cb.on_step_end(self, step, loss.detach())
            self._end_epoch(epoch, total / per_epoch, time.perf_counter() - start, callbacks)
        for cb in callbacks:
            cb.on_train_end(self)
        emb = self.result(loader)
        emb.meta["training"]["mode"] = f"dataset-mean, {per_epoch * cfg.epochs} steps"
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
            "model_name": self.model_name,
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


@dataclass
class NeuronEmbedding:
    """Trained semantic vectors of a model's neurons, with the settings that produced them.

    Attributes:
        vectors: ``{layer: (C_l, K)}`` float tensors on the CPU.
        meta: ``model_name``, ``layers``, ``channels``, ``dim`` (K), ``tau``,
            ``exclude_diagonal``, ``input_shape``, ``data``, ``training``, ``history``,
            ``library_version``.
    """

    vectors: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def layers(self) -> list[str]:
        return list(self.vectors)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the artifact atomically (one ``torch.save`` file)."""
        return atomic_save(
            {"format": ARTIFACT_FORMAT, "vectors": self.vectors, "meta": self.meta}, path
        )

    @classmethod
    def load(cls, path: str | os.PathLike, model: nn.Module | None = None) -> NeuronEmbedding:
        """Read an artifact; with ``model``, also check it fits (see :meth:`check_model`)."""
        state = load_artifact(path, "neuron embedding")
        if state.get("format") != ARTIFACT_FORMAT:
            raise ValueError(
                f"{path} is not a neuron-embedding artifact (format {state.get('format')!r}, "
                f"expected {ARTIFACT_FORMAT!r})"
            )
        emb = cls(dict(state["vectors"]), dict(state["meta"]))
        if model is not None:
            emb.check_model(model, source=str(path))
        return emb

    def check_model(self, model: nn.Module, source: str = "this embedding") -> None:
        """Raise ``ValueError`` unless ``model`` has every embedded layer with the same width.

        Widths are read from one dry forward pass at the artifact's recorded input shape.
        """
        try:
            resolve_modules(model, self.layers)
        except KeyError as exc:
            raise ValueError(
                f"{source} was learned for {self.meta.get('model_name')} layers {self.layers}, "
                f"which this model does not have: {exc.args[0]}"
            ) from exc
        shape = self.meta.get("input_shape") or (3, 224, 224)
        found = layer_channels(model, self.layers, shape)
        wrong = {
            n: (found[n], v.shape[0]) for n, v in self.vectors.items() if found[n] != v.shape[0]
        }
        if wrong:
            detail = "; ".join(
                f"layer {n!r}: model has {m} channels, embedding has {e}"
                for n, (m, e) in wrong.items()
            )
            raise ValueError(
                f"{source} (learned for {self.meta.get('model_name')}) does not fit this model: "
                f"{detail}"
            )

    # -- queries --------------------------------------------------------------------------------
    def _layer(self, layer: str) -> np.ndarray:
        if layer not in self.vectors:
            raise KeyError(f"no layer {layer!r} in this embedding; layers: {self.layers}")
        return self.vectors[layer].double().numpy()

    def _check_unit(self, layer: str, unit: int) -> None:
        c = self._layer(layer).shape[0]
        if not 0 <= unit < c:
            raise IndexError(f"layer {layer!r} has units 0..{c - 1}, got {unit}")

    def similarity(self, layer: str) -> torch.Tensor:
        """``(C, C)`` cosine similarity of the layer's semantic vectors."""
        from .losses import pairwise_cosine

        return pairwise_cosine(self.vectors[layer].double()).float()

    def _neighbours(
        self, layer: str, query: np.ndarray, k: int, exclude: set[int]
    ) -> list[tuple[int, float]]:
        data = self._layer(layer)
        k_all = min(len(data), k + len(exclude))
        index = NearestNeighbors(n_neighbors=k_all, metric="cosine", algorithm="brute").fit(data)
        dist, idx = index.kneighbors(query[None, :])
        hits = [(int(i), float(1.0 - d)) for d, i in zip(dist[0], idx[0], strict=True)]
        return [(i, s) for i, s in hits if i not in exclude][:k]

    def nearest(self, layer: str, unit: int, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` neurons of ``layer`` whose vectors are closest to ``unit``'s (by cosine).

        Returns:
            ``[(unit_index, cosine), ...]`` sorted by decreasing cosine, ``unit`` itself excluded.

        Example:
            >>> emb = NeuronEmbedding({"l": torch.tensor([[1.0, 0], [0.9, 0.1], [0, 1]])})
            >>> [u for u, _ in emb.nearest("l", 0, k=2)]
            [1, 2]
        """
        self._check_unit(layer, unit)
        return self._neighbours(layer, self._layer(layer)[unit], k, {unit})

    def additive(self, layer: str, a: int, b: int, k: int = 1) -> list[tuple[int, float]]:
        """Additive relation (paper Fig. 3): neurons nearest to ``s_a + s_b``, other than a and b.

        Returns:
            ``[(unit_index, cosine), ...]`` of the ``k`` best ``c``.

        Example:
            >>> emb = NeuronEmbedding({"l": torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, -1]])})
            >>> emb.additive("l", 0, 1)[0][0]
            2
        """
        self._check_unit(layer, a)
        self._check_unit(layer, b)
        data = self._layer(layer)
        return self._neighbours(layer, data[a] + data[b], k, {a, b})
