"""Network Dissection (Bau et al. 2017) of a model: two passes over a Broden data set.

1. **thresholds** — run the model over the data set; per unit, the ``quantile`` (0.995) of its
   activations over every image and position (exact, streaming:
   :class:`~skdlib.dissect.quantile.StreamingQuantile`);
2. **tally** — run it again (or reuse the first pass's activations when they fit in
   ``cache_bytes``) and count masks against labels (:class:`~skdlib.dissect.tally.IoUTally`);
3. **IoU** — ``I / (A[k, primary(l)] + G[l] - I + 1e-10)`` for every unit and concept, returned
   as a :class:`~skdlib.dissect.result.DissectionResult`.

Everything runs on ``device`` (the GPU when present). ``docs/method.md`` §5 gives the procedure
and where it differs from NetDissect-Lite.

Example (the paper's setting; :func:`dissect` has one on generated data)::

    model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
    result = dissect(model, ["layer3", "layer4"], "data/broden1_224")
    result.interpretable("layer4"), result.best_concepts("layer4")[:2]
    result.save("runs/dissect")
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from ..data.normalise import IMAGENET_MEAN, IMAGENET_STD
from ..hooks import resolve_modules
from ..loaders import make_loader
from ..runtime import eval_mode, resolve_device
from .broden import (
    BrodenDataset,
    IncompleteBrodenError,
    collate_broden,
    missing_image_files,
)
from .label_sets import label_sets
from .quantile import StreamingQuantile, exact_quantile
from .reader import Reader, one_thread
from .result import DissectionResult
from .resume import DissectCheckpoint, fingerprint
from .rules import AREA_MODES, DEFAULT_QUANTILE, IOU_EPS, THRESHOLD_METHODS
from .tally import IoUTally, categories_present, label_area
from .top_images import DEFAULT_TOP_K, TopImages, TopImagesTracker

__all__ = ["dissect"]


def _thresholds(
    reader: Reader,
    n_images: int,
    quantile: float,
    method: str,
    cache_bytes: int,
    top: TopImagesTracker | None = None,
) -> tuple[list[torch.Tensor], list[list[torch.Tensor]] | None]:
    """Pass 1: per-layer ``(U,)`` thresholds, and the activations when they fit the cache;
    ``top`` sees every batch."""
    streaming = method == "streaming"
    estimators: list[Any] = []
    cache: list[list[torch.Tensor]] | None = None
    for step, batch in enumerate(reader.batches("dissect 1/2: thresholds")):
        acts = reader.forward(batch, f"batch {step + 1} of the first pass (thresholds)")
        if not estimators:
            per_image = sum(a[0].numel() * a.element_size() for a in acts)
            cache = [[] for _ in acts] if per_image * n_images <= cache_bytes else None
            for a in acts:
                total = n_images * a.shape[2] * a.shape[3]
                estimators.append(
                    StreamingQuantile(quantile, a.shape[1], total, reader.device)
                    if streaming
                    else []
                )
        with reader.clock("threshold"), one_thread(reader.device):
            for i, a in enumerate(acts):
                if streaming:  # a (U, B, h, w) view: the estimator reads it without a copy
                    estimators[i].update(a.transpose(0, 1))
                else:
                    estimators[i].append(a.transpose(0, 1).reshape(a.shape[1], -1))
                if cache is not None:
                    cache[i].append(a)
        if top is not None:
            with reader.clock("top_images"), one_thread(reader.device):
                top.update(acts, batch["index"])
    with reader.clock("threshold"):
        if streaming:
            thresholds = [est.result() for est in estimators]
        else:
            thresholds = [exact_quantile(torch.cat(v, 1), quantile) for v in estimators]
    return thresholds, cache


def _tally(
    reader: Reader,
    ds: BrodenDataset,
    thresholds: list[torch.Tensor],
    cache: list[list[torch.Tensor]] | None,
    activation_area: str,
    chunk_elements: int | None,
    ckpt: DissectCheckpoint | None = None,
    state: Mapping[str, Any] | None = None,
) -> tuple[list[IoUTally], torch.Tensor]:
    """Pass 2: one :class:`IoUTally` per layer, and the label areas ``G`` ``(label_space,)``.

    With ``state`` (a checkpoint's), the tally continues after its ``step`` batches (the
    reader's loader then starts there); with ``ckpt``, it is saved as it goes.
    """
    device = reader.device
    lut = ds.category_lut().to(device)
    n_cat = len(ds.categories)
    tallies = [
        IoUTally(t.to(device), lut, n_cat, activation_area, chunk_elements) for t in thresholds
    ]
    areas = torch.zeros(ds.label_space, dtype=torch.int64, device=device)
    start = 0
    if state is not None and state["intersection"] is not None:
        start = int(state["step"])
        for tally, inter, area in zip(
            tallies, state["intersection"], state["activation_area"], strict=True
        ):
            tally.intersection.copy_(inter)
            tally.activation_area.copy_(area)
        areas.copy_(state["label_area"])
    done = start
    for step, batch in enumerate(reader.batches("dissect 2/2: tally"), start=start):
        where = f"batch {step + 1} of the second pass (tally)"
        acts = [c[step] for c in cache] if cache is not None else reader.forward(batch, where)
        with reader.clock("tally"), one_thread(device):
            pixel = batch["pixel_labels"].to(device, non_blocking=True)
            whole = batch["image_labels"].to(device, non_blocking=True)
            sets = label_sets(pixel)
            areas += label_area(pixel, whole, ds.label_space, sets)
            present = categories_present(pixel, whole, lut, sets)
            for tally, a in zip(tallies, acts, strict=True):
                tally.update(a, pixel, whole, present, sets)
        if ckpt is not None:
            ckpt.save(thresholds, step + 1, *_counts(tallies), areas)
        done = step + 1
    if ckpt is not None and ckpt.saved_step != done:  # the complete tally, whatever the clock
        ckpt.save(thresholds, done, *_counts(tallies), areas, force=True)
    return tallies, areas


def _counts(tallies: list[IoUTally]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return [t.intersection for t in tallies], [t.activation_area for t in tallies]


def _result(
    ds: BrodenDataset,
    layers: list[str],
    tallies: list[IoUTally],
    thresholds: list[torch.Tensor],
    areas: torch.Tensor,
    meta: dict[str, Any],
) -> DissectionResult:
    """IoU of every unit with every concept (the concepts' columns in ``ds.concepts`` order)."""
    numbers = [c.number for c in ds.concepts]
    cols = torch.tensor(numbers, dtype=torch.int64)
    cat_index = {c: i for i, c in enumerate(ds.categories)}
    concept_cat = torch.tensor([cat_index[c.category] for c in ds.concepts], dtype=torch.int64)
    g = areas.cpu()[cols]
    result = DissectionResult(
        layers=layers,
        iou={},
        intersection={},
        activation_area={},
        label_area=g,
        thresholds={},
        concept_numbers=numbers,
        concept_names=[c.name for c in ds.concepts],
        concept_categories=[c.category for c in ds.concepts],
        categories=list(ds.categories),
        meta=meta,
    )
    for layer, tally, t in zip(layers, tallies, thresholds, strict=True):
        inter = tally.intersection.cpu()[:, cols]
        area = tally.activation_area.cpu()
        union = area[:, concept_cat] + g.unsqueeze(0) - inter
        result.intersection[layer] = inter
        result.activation_area[layer] = area
        result.iou[layer] = inter.double() / (union.double() + IOU_EPS)
        result.thresholds[layer] = t.cpu()
    return result


def dissect(
    model: nn.Module,
    layers: Sequence[str],
    dataset: BrodenDataset | str | os.PathLike,
    *,
    quantile: float = DEFAULT_QUANTILE,
    threshold_method: str = "streaming",
    activation_area: str = "annotated",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    batch_size: int = 32,
    num_workers: int | None = None,
    device: str | torch.device | None = None,
    cache_bytes: int = 1 << 30,
    chunk_elements: int | None = None,
    arch: str | None = None,
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_seconds: float = 300.0,
    checkpoint_batches: int | None = None,
    top_k: int = DEFAULT_TOP_K,
) -> DissectionResult:
    """Dissect the units of ``layers`` of ``model`` on a Broden data set.

    Args:
        model: any ``nn.Module`` taking ``(B, 3, H, W)`` float images; it is moved to ``device``
            and run in eval mode without gradients (its mode is restored afterwards).
        layers: module names (``model.named_modules()`` keys) whose outputs are
            ``(B, units, h, w)``; e.g. ``["layer1", "layer2", "layer3", "layer4"]`` for ResNets.
        dataset: a :class:`~skdlib.dissect.BrodenDataset` or the path of a Broden folder.
        quantile: per-unit threshold quantile (0.995 in Network Dissection). Note that a unit
            whose top ``1 - quantile`` of activations exactly covers a concept of pixel coverage
            ``f`` can reach at most ``min(f, 1 - q) / max(f, 1 - q)``: concepts must be rare.
        threshold_method: ``"streaming"`` (exact, keeps the top ``1 - q`` tail; default) or
            ``"exact"`` (keeps every activation; for checks on small data).
        activation_area: ``"annotated"`` (default) or ``"overlap"`` (NetDissect-Lite's code),
            see :mod:`skdlib.dissect.tally`.
        mean, std: the model's own input normalisation, applied to the ``[0, 1]`` RGB images:
            ImageNet's by default, as torchvision models expect (NetDissect-Lite instead
            subtracts one fixed mean and divides every channel by 255·0.224, whatever the
            weights; ``docs/method.md`` §5).
        batch_size, num_workers: data loading; ``num_workers=None`` decodes in
            :func:`skdlib.loaders.default_workers` processes (none on a 2-core machine).
        device: ``None``/``"auto"`` for CUDA when present, else the CPU.
        cache_bytes: keep the activations of the first pass for the second when they fit in this
            many bytes (0: always run the model twice).
        chunk_elements: memory bound of the tally (upsampled values per step; ``None``: the
            :class:`~skdlib.dissect.tally.IoUTally` default for the device).
        arch: the architecture's name, recorded in the result.
        progress: tqdm bars.
        checkpoint: a file, or a folder for ``dissection.ckpt``, to make a crash resumable
            (:mod:`skdlib.dissect.resume`): the thresholds are saved after the first pass, the
            running tally every ``checkpoint_seconds`` (or ``checkpoint_batches`` batches) of
            the second and when it ends, each save atomic. The same call again (same weights,
            layers, data folder and size, settings) skips the first pass and the saved batches
            and returns a result identical to an uninterrupted run's. A checkpoint of another
            dissection is not used: a printed note names what differs and the run starts over
            (rather than stopping: the file cannot serve this run anyway). ``result.save()``
            removes the file (:attr:`DissectionResult.checkpoint`).
        top_k: keep each unit's ``top_k`` top images and its maps on them during the first pass
            (:mod:`skdlib.dissect.top_images`; the report draws them), in
            :attr:`DissectionResult.top_images`; 0: none.

    Raises:
        IncompleteBrodenError: files ``index.csv`` names are missing (checked before the first
            pass, by listing the folders).
        NonFiniteActivationError: (a ``ValueError``) a layer's activations hold NaN or ±inf after
            a forward pass of either pass: names the layer, the units, the images (files and
            ``index.csv`` lines) of that batch, and what to check
            (:func:`skdlib.hooks.check_finite`; one ``isfinite().all()`` per layer and batch).

    Returns:
        A :class:`DissectionResult`; ``result.meta["seconds"]`` splits the time into ``data``,
        ``forward``, ``threshold``, ``top_images`` (with ``top_k``) and ``tally``.

    Example:
        >>> from skdlib.data import make_synthetic_broden, planted_concept_model
        >>> root = make_synthetic_broden("/tmp/skd-doc/b4", 16, size=64, progress=False)
        >>> r = dissect(planted_concept_model(root), ["units"], root, quantile=0.5, progress=False)
        >>> r.best_concepts("units")[0][:2]
        ('red', 'color')
    """
    if threshold_method not in THRESHOLD_METHODS:
        raise ValueError(
            f"threshold_method must be one of {THRESHOLD_METHODS}, got {threshold_method!r}"
        )
    if activation_area not in AREA_MODES:
        raise ValueError(f"activation_area must be one of {AREA_MODES}, got {activation_area!r}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise ValueError("choose at least one layer to dissect")
    resolve_modules(model, layers)
    ds = dataset if isinstance(dataset, BrodenDataset) else BrodenDataset(dataset)
    if len(ds) == 0:
        raise ValueError(f"{ds!r} has no images to dissect")
    missing, total = missing_image_files(ds.root, ds.records)  # fail now, not midway
    if missing:
        raise IncompleteBrodenError(ds.root, missing, total)
    device = resolve_device(device)

    def loader(first: int = 0, image: bool = True, labels: bool = True) -> DataLoader:
        view = ds.reading(image=image, labels=labels)  # decode what the pass needs
        return make_loader(
            view if first == 0 else Subset(view, range(first, len(ds))),
            batch_size,
            workers=num_workers,
            device=device,
            collate_fn=collate_broden,
        )

    reader = Reader(model, layers, loader(labels=False), device, mean, std, progress, ds)
    settings = {
        "quantile": quantile,
        "threshold_method": threshold_method,
        "activation_area": activation_area,
        "mean": list(mean),
        "std": list(std),
        "batch_size": batch_size,
        "split": ds.split,
        "categories": list(ds.categories),
        "top_k": top_k,
    }
    tracker = TopImagesTracker(layers, top_k) if top_k else None
    ckpt = state = top = None
    if checkpoint is not None:
        mark = fingerprint(model, layers, str(Path(ds.root).resolve()), len(ds), settings)
        ckpt = DissectCheckpoint(checkpoint, mark, checkpoint_seconds, checkpoint_batches)
        state = ckpt.load()
    model.to(device)
    with eval_mode(model):
        if state is None:
            thresholds, cache = _thresholds(
                reader, len(ds), quantile, threshold_method, cache_bytes, tracker
            )
            top = tracker and tracker.finish([r.image for r in ds.records])
            reader.loader = loader(image=cache is None)  # pass 2 reads the labels
            if ckpt is not None:
                ckpt.top_images = top and top.state()  # in every later save
                ckpt.save(thresholds, 0, force=True)
        else:  # resumed: pass 1 is done; pass 2 starts after the saved batches
            thresholds, cache = [t.to(device) for t in state["thresholds"]], None
            top = state["top_images"] and TopImages.from_state(state["top_images"])
            reader.loader = loader(int(state["step"]) * batch_size)
        tallies, areas = _tally(
            reader, ds, thresholds, cache, activation_area, chunk_elements, ckpt, state
        )
    meta = {
        "quantile": quantile,
        "threshold_method": threshold_method,
        "activation_area": activation_area,
        "mean": list(mean),
        "std": list(std),
        "data": str(ds.root),
        "split": ds.split,
        "n_images": len(ds),
        "arch": arch or type(model).__name__.lower(),
        "device": str(device),
        "cached_activations": cache is not None,
        "seconds": dict(reader.clock.seconds),
    }
    result = _result(ds, layers, tallies, thresholds, areas, meta)
    result.top_images = top
    result.checkpoint = None if ckpt is None else ckpt.path  # removed by result.save()
    return result
