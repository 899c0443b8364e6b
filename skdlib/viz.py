"""Figures of the paper's §3.3: neighbour neurons (Fig. 2), additive relations (Fig. 3), and a 2-D
semantic map of the vectors.

A neuron is shown the way Network Dissection shows it: its activation map, upsampled to the image,
as a *light mask* — the image stays bright where the neuron fires and is dimmed elsewhere. Neurons
whose semantic vectors are close should light up the same regions of the same images.

All plotting functions take precomputed activations (from :func:`collect_activations`) and
display images as ``uint8`` arrays, so one forward pass serves every figure::

    acts = collect_activations(model, ["layer4"], images)           # {layer: (N, C, h, w)}
    fig = plot_neighbours(emb, "layer4", [17, 40], display, acts["layer4"], k=3)
    fig.savefig("runs/quick/neighbours.png")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from torch import nn

from .embedding import NeuronEmbedding
from .hooks import capture
from .runtime import resolve_device

__all__ = [
    "collect_activations",
    "to_display",
    "light_mask",
    "top_images",
    "most_active_units",
    "unit_masks",
    "mask_iou",
    "neighbour_agreement",
    "additive_agreement",
    "plot_loss_curve",
    "plot_kl_curves",
    "plot_neighbours",
    "plot_additive",
    "semantic_map",
    "plot_semantic_map",
    "save_figure",
]


@torch.no_grad()
def collect_activations(
    model: nn.Module,
    layers: Sequence[str],
    images: torch.Tensor | Iterable,
    device: str | torch.device | None = None,
    batch_size: int = 64,
) -> dict[str, torch.Tensor]:
    """Run ``model`` (eval mode) over ``images`` and keep the named layers' outputs on the CPU.

    Args:
        images: ``(N, 3, H, W)`` preprocessed tensor, or an iterable of such batches (or of
            ``(images, targets)`` pairs, e.g. a DataLoader).

    Returns:
        ``{layer: (N, C, h, w)}`` float tensors.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3))
        >>> collect_activations(net, ["0"], torch.rand(2, 3, 5, 5))["0"].shape
        torch.Size([2, 4, 3, 3])
    """
    device = resolve_device(device)
    if isinstance(images, torch.Tensor):
        images = images.split(batch_size)
    was_training = model.training
    model.eval().to(device)
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    try:
        with capture(model, layers, detach=True) as acts:
            for batch in images:
                x = batch[0] if isinstance(batch, (list, tuple)) else batch
                model(x.to(device))
                for name in layers:
                    parts[name].append(acts[name].float().cpu())
    finally:
        model.train(was_training)
    return {name: torch.cat(chunks) for name, chunks in parts.items()}


def to_display(
    images: torch.Tensor,
    mean: Sequence[float] = (0.485, 0.456, 0.406),
    std: Sequence[float] = (0.229, 0.224, 0.225),
) -> np.ndarray:
    """Undo the normalisation of ``(N, 3, H, W)`` images; returns ``(N, H, W, 3)`` uint8.

    Example:
        >>> to_display(torch.zeros(1, 3, 2, 2)).shape
        (1, 2, 2, 3)
    """
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    pix = (images.detach().cpu().float() * s + m).clamp(0, 1)
    return (pix.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)


def light_mask(
    image: np.ndarray, amap: torch.Tensor, low: float, high: float, floor: float = 0.25
) -> np.ndarray:
    """Overlay one activation map on one image as a light mask.

    The map ``(h, w)`` is upsampled bilinearly to the image size, scaled to ``[0, 1]`` between
    ``low`` and ``high``, and the image is kept at full brightness where the map is high and
    dimmed to ``floor`` where it is low.

    Args:
        image: ``(H, W, 3)`` uint8.
        amap: ``(h, w)`` activation map of one unit.

    Returns:
        ``(H, W, 3)`` float image in ``[0, 1]``.
    """
    h, w = image.shape[:2]
    up = F.interpolate(amap[None, None].float(), size=(h, w), mode="bilinear", align_corners=False)[
        0, 0
    ]
    weight = ((up - low) / max(high - low, 1e-12)).clamp(0, 1).numpy()[..., None]
    return image.astype(np.float32) / 255 * (floor + (1 - floor) * weight)


def _unit_range(maps: torch.Tensor, unit: int, quantile: float = 0.9) -> tuple[float, float]:
    """Display range of a unit: from its ``quantile`` over the shown maps to its maximum."""
    values = maps[:, unit].reshape(-1).float()
    return float(torch.quantile(values, quantile)), float(values.max())


def top_images(maps: torch.Tensor, unit: int, n: int = 1) -> list[int]:
    """Indices of the ``n`` images on which ``unit`` reaches its highest activation.

    Args:
        maps: ``(N, C, h, w)`` activations of one layer.

    Example:
        >>> m = torch.zeros(3, 2, 1, 1); m[2, 1] = 5
        >>> top_images(m, 1)
        [2]
    """
    peak = maps[:, unit].flatten(1).amax(1)
    return peak.topk(min(n, len(peak))).indices.tolist()


def most_active_units(maps: torch.Tensor, n: int) -> list[int]:
    """The ``n`` units with the highest peak activation over the shown images.

    Example:
        >>> m = torch.zeros(2, 3, 1, 1); m[0, 2] = 4; m[1, 0] = 2
        >>> most_active_units(m, 2)
        [2, 0]
    """
    peak = maps.flatten(2).amax(2).amax(0)
    return peak.topk(min(n, len(peak))).indices.tolist()


def unit_masks(maps: torch.Tensor, quantile: float = 0.9) -> torch.Tensor:
    """Where each unit fires: ``maps > `` its ``quantile`` over all images and positions.

    Args:
        maps: ``(N, C, h, w)``.

    Returns:
        ``(N, C, h, w)`` bool. (A NetDissect-style mask at the maps' own resolution.)
    """
    flat = maps.transpose(0, 1).reshape(maps.shape[1], -1).float()
    thresholds = torch.quantile(flat, quantile, dim=1)
    return maps > thresholds.view(1, -1, 1, 1)


def mask_iou(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """IoU of boolean masks summed over images: ``|x ∩ y| / |x ∪ y|`` along all but dim 1.

    Args:
        x, y: ``(N, P, h, w)`` bool, ``P`` pairs compared position by position.

    Returns:
        ``(P,)`` float; 0 where both masks are empty.
    """
    inter = (x & y).flatten(2).sum((0, 2)).double()
    union = (x | y).flatten(2).sum((0, 2)).double()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(union))


def neighbour_agreement(
    emb: NeuronEmbedding, layer: str, maps: torch.Tensor, quantile: float = 0.9, seed: int = 0
) -> dict[str, float]:
    """Do semantic neighbours fire on the same pixels? Mean mask IoU over all units of a layer.

    Compares every unit with its nearest neuron by semantic vector, and with a random other unit
    (the baseline). Masks from :func:`unit_masks`.

    Returns:
        ``{"nearest": mean IoU, "random": mean IoU}``.
    """
    masks = unit_masks(maps, quantile)
    c = masks.shape[1]
    nearest = [emb.nearest(layer, u, k=1)[0][0] for u in range(c)]
    g = torch.Generator().manual_seed(seed)
    other = (torch.arange(c) + torch.randint(1, c, (c,), generator=g)) % c
    return {
        "nearest": float(mask_iou(masks, masks[:, nearest]).mean()),
        "random": float(mask_iou(masks, masks[:, other]).mean()),
    }


def additive_agreement(
    emb: NeuronEmbedding,
    layer: str,
    maps: torch.Tensor,
    pairs: Sequence[tuple[int, int]],
    quantile: float = 0.9,
    seed: int = 0,
) -> dict[str, float]:
    """Does ``c = nearest(s_a + s_b)`` fire where a or b fire? Mean IoU of ``M_c`` with
    ``M_a ∪ M_b`` over ``pairs``, against a random c.

    Returns:
        ``{"additive": mean IoU, "random": mean IoU}``.
    """
    masks = unit_masks(maps, quantile)
    a, b = (list(t) for t in zip(*pairs, strict=True))
    c = [emb.additive(layer, i, j, k=1)[0][0] for i, j in pairs]
    g = torch.Generator().manual_seed(seed)
    rand = torch.randint(0, masks.shape[1], (len(pairs),), generator=g).tolist()
    union = masks[:, a] | masks[:, b]
    return {
        "additive": float(mask_iou(union, masks[:, c]).mean()),
        "random": float(mask_iou(union, masks[:, rand]).mean()),
    }


def plot_loss_curve(history: dict, title: str = "embedding loss (Eq. 1)") -> plt.Figure:
    """Loss per epoch from ``NeuronEmbedding.meta["history"]``."""
    fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    ax.plot(history["epoch"], history["loss"], marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy, mean over layers")
    ax.set_title(title)
    return fig


def plot_kl_curves(history: Mapping[str, Any], layer: str | None = None) -> plt.Figure:
    """The paper's Figure 4 from a :class:`~skdlib.dissect.KLMetricCallback` history: the KL
    metric of the learned vectors, of random vectors and of the upper bound, per training step.

    Args:
        history: ``KLMetricCallback.history``.
        layer: one layer's curves instead of the mean over layers.

    Returns:
        A figure with three labelled lines: learned, random, upper bound.
    """
    fig, ax = plt.subplots(figsize=(5, 3.5))
    src = history if layer is None else history["layers"][layer]
    steps = history["step"]
    ax.plot(steps, src["learned"], label="learned (unsupervised, Eq. 1)")
    ax.plot(steps, src["random"], "--", label="random vectors")
    ax.plot(steps, src["upper"], ":", label="upper bound (optimised on KL)")
    ax.set_xlabel("training step")
    ax.set_ylabel("KL(h(D_T) || h(D_S))")
    ax.set_title("KL to dissection targets" + (f" ({layer})" if layer else ""))
    ax.legend()
    return fig


def _grid(rows: int, cols: int, fig=None, scale: float = 2.0):
    """A ``rows x cols`` grid of bare image axes in ``fig`` (a Figure or SubFigure) or a new one."""
    if fig is None:
        fig = plt.figure(figsize=(scale * cols, scale * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def plot_neighbours(
    emb: NeuronEmbedding,
    layer: str,
    units: Sequence[int],
    images: np.ndarray,
    maps: torch.Tensor,
    k: int = 3,
    n_images: int = 1,
    concept_names: dict[int, str] | None = None,
    fig=None,
) -> plt.Figure:
    """Paper Fig. 2: each unit beside its ``k`` nearest neurons, all masks on the same image(s).

    Args:
        emb: trained embedding holding ``layer``.
        units: the query units (one block of rows each).
        images: ``(N, H, W, 3)`` uint8 display images.
        maps: ``(N, C, h, w)`` activations of ``layer`` on those images.
        k: neighbours per unit.
        n_images: rows per unit: the unit's top-activating images.
        concept_names: optional ``{unit: label}`` shown in titles (e.g. best Broden concept).
        fig: draw into this Figure or SubFigure instead of a new figure.

    Returns:
        A figure with ``len(units) * n_images`` rows and ``1 + k`` columns.
    """
    fig, axes = _grid(len(units) * n_images, 1 + k, fig)
    for block, unit in enumerate(units):
        neighbours = emb.nearest(layer, unit, k=k)
        shown = [(unit, None)] + neighbours
        for r, img in enumerate(top_images(maps, unit, n_images)):
            row = axes[block * n_images + r]
            for col, (u, cos) in enumerate(shown):
                low, high = _unit_range(maps, u)
                row[col].imshow(light_mask(images[img], maps[img, u], low, high))
                label = f"unit {u}" if cos is None else f"unit {u}  cos {cos:.2f}"
                if concept_names and u in concept_names:
                    label += f"\n{concept_names[u]}"
                if r == 0:
                    row[col].set_title(label, fontsize=8)
            row[0].set_ylabel(f"image {img}", fontsize=7)
    fig.suptitle(
        f"{layer}: neurons and their {k} nearest neighbours by semantic vector", fontsize=10
    )
    return fig


def plot_additive(
    emb: NeuronEmbedding,
    layer: str,
    a: int,
    b: int,
    images: np.ndarray,
    maps: torch.Tensor,
    n_images: int = 3,
    concept_names: dict[int, str] | None = None,
    fig=None,
) -> plt.Figure:
    """Paper Fig. 3: neurons a and b, and the neuron c nearest to ``s_a + s_b``, on shared images.

    The images are those where ``a`` or ``b`` fires most (alternating), so the viewer can check
    that c lights up what a and b light up together. ``fig``: as in :func:`plot_neighbours`.

    Returns:
        A figure with ``n_images`` rows and columns a, b, c.
    """
    (c, cos), *_ = emb.additive(layer, a, b, k=1)
    picks: list[int] = []
    for img in (
        i
        for pair in zip(top_images(maps, a, n_images), top_images(maps, b, n_images), strict=True)
        for i in pair
    ):
        if img not in picks:
            picks.append(img)
    picks = picks[:n_images]
    fig, axes = _grid(len(picks), 3, fig)
    titles = [f"a = unit {a}", f"b = unit {b}", f"c = unit {c} (cos {cos:.2f} to a+b)"]
    for col, u in enumerate((a, b, c)):
        if concept_names and u in concept_names:
            titles[col] += f"\n{concept_names[u]}"
        low, high = _unit_range(maps, u)
        for r, img in enumerate(picks):
            axes[r, col].imshow(light_mask(images[img], maps[img, u], low, high))
        axes[0, col].set_title(titles[col], fontsize=8)
    fig.suptitle(f"{layer}: s_a + s_b ≈ s_c", fontsize=10)
    return fig


def semantic_map(
    emb: NeuronEmbedding, layer: str, method: str = "tsne", seed: int = 0
) -> np.ndarray:
    """2-D coordinates of a layer's semantic vectors (scikit-learn t-SNE or PCA).

    t-SNE uses the cosine metric (the geometry of the loss) and a perplexity suited to the number
    of neurons; PCA projects the unit-normalised vectors.

    Returns:
        ``(C, 2)`` array.

    Example:
        >>> emb = NeuronEmbedding({"l": torch.randn(10, 4)})
        >>> semantic_map(emb, "l", method="pca").shape
        (10, 2)
    """
    vectors = F.normalize(emb.vectors[layer].double(), dim=1).numpy()
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(vectors)
    if method != "tsne":
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
    return TSNE(
        n_components=2, metric="cosine", perplexity=perplexity, init="pca", random_state=seed
    ).fit_transform(vectors)


def plot_semantic_map(
    coords: np.ndarray,
    labels: Sequence[str] | None = None,
    title: str = "semantic map",
    max_legend: int = 12,
) -> plt.Figure:
    """Scatter of :func:`semantic_map` coordinates, coloured by a label per neuron.

    Args:
        coords: ``(C, 2)``.
        labels: one label per neuron (e.g. its best concept, or its concept category); the most
            frequent ``max_legend`` get their own colour and legend entry, the rest are grey.
    """
    fig, ax = plt.subplots(figsize=(6.5, 5.5), layout="constrained")
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=12)
    else:
        labels = list(labels)
        names, counts = np.unique(labels, return_counts=True)
        common = [n for _, n in sorted(zip(-counts, names, strict=True))][:max_legend]
        cmap = plt.get_cmap("tab20")
        rest = [i for i, lab in enumerate(labels) if lab not in common]
        if rest:
            ax.scatter(coords[rest, 0], coords[rest, 1], s=10, color="0.75", label="other")
        for j, name in enumerate(common):
            idx = [i for i, lab in enumerate(labels) if lab == name]
            ax.scatter(coords[idx, 0], coords[idx, 1], s=14, color=cmap(j % 20), label=name)
        ax.legend(fontsize=7, loc="best", markerscale=1.5)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
