"""Figures of the paper's §3.3: neighbour neurons (Fig. 2) and additive relations (Fig. 3).

A neuron is shown the way Network Dissection shows it: its activation map, upsampled to the image,
as a *light mask* — the image stays bright where the neuron fires and is dimmed elsewhere. Neurons
whose semantic vectors are close should light up the same regions of the same images.

The plotting functions take display images as ``uint8`` arrays and precomputed activations
(:func:`skdlib.viz.collect_activations`)::

    fig = plot_neighbours(emb, "layer4", [17, 40], display, acts["layer4"], k=3)
    save_figure(fig, "runs/quick/figures/neighbours.png")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import atomic_write
from ..embedding import NeuronEmbedding
from .activations import shared_top_images, top_images

__all__ = [
    "light_mask",
    "dim_pixels",
    "unit_range",
    "plot_neighbours",
    "plot_additive",
    "save_figure",
]


def light_mask(
    image: np.ndarray,
    amap: torch.Tensor,
    low: float | None = None,
    high: float | None = None,
    floor: float = 0.25,
    *,
    threshold: float | np.ndarray | torch.Tensor | None = None,
    outline: tuple[float, float, float] | None = None,
    as_uint8: bool = False,
    which: np.ndarray | None = None,
    dimmed: np.ndarray | None = None,
) -> np.ndarray:
    """Overlay activation maps on images as light masks: one image, or a batch at once.

    The map ``(h, w)`` is upsampled bilinearly (``align_corners=False``) to the image size. Then
    either it is scaled to ``[0, 1]`` between ``low`` and ``high`` (the explorer's soft mask), or,
    with ``threshold``, it is the unit's thresholded mask ``upsampled > threshold`` (Network
    Dissection's, drawn by the dissection report): the image is kept at full brightness where
    the weight is 1 and dimmed to ``floor`` where it is 0. ``outline`` (an RGB colour in
    ``[0, 1]``, with ``threshold``) paints the pixels just outside the mask (8-neighbourhood).

    Args:
        image: ``(..., H, W, 3)`` uint8; with ``which``, ``(N, H, W, 3)`` images shared by
            the maps.
        amap: ``(..., h, w)`` activation maps, the same leading shape as ``image`` (or
            ``which``).
        low, high: the soft mask's range (:func:`unit_range`); not needed with ``threshold``.
        threshold: a number, or one per map (shape ``amap.shape[:-2]``).
        as_uint8: return ``uint8`` pixels (the float result times 255, rounded), computed in
            integers with a threshold: several times faster for many images (the report).
        which: ``(...)`` int, the image of each map: many maps drawn on few images without
            copying each image per map first (``light_mask(image[which], amap)`` otherwise).
        dimmed: with ``which``, ``as_uint8`` and a threshold, the shared images already dimmed
            (:func:`dim_pixels`), for many calls on the same images.

    Returns:
        ``(..., H, W, 3)`` float32 image in ``[0, 1]`` (``uint8`` with ``as_uint8``).

    Example:
        >>> img = np.full((4, 4, 3), 255, np.uint8)
        >>> m = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
        >>> px = light_mask(img, m, threshold=0.5, floor=0.2, outline=(1.0, 1.0, 0.0),
        ...                 as_uint8=True)  # inside, dimmed, on the outline:
        >>> px[3, 3].tolist(), px[0, 0].tolist(), px[2, 1].tolist()
        ([255, 255, 255], [51, 51, 51], [255, 255, 0])
    """
    h, w = image.shape[-3], image.shape[-2]
    lead = tuple(amap.shape[:-2])
    if which is not None and not (threshold is not None and as_uint8):
        image, which = image[which], None
    flat = amap.reshape(-1, 1, *amap.shape[-2:]).float()
    up = F.interpolate(flat, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    if threshold is None:
        if outline is not None:
            raise ValueError("outline draws the thresholded mask's border: give a threshold")
        if low is None or high is None:
            raise ValueError("light_mask needs low and high (the soft mask), or a threshold")
        weight = ((up - low) / max(high - low, 1e-12)).clamp(0, 1).reshape(*lead, h, w, 1)
        out = image.astype(np.float32) * ((floor + (1 - floor) * weight.numpy()) / 255)
        return (out * 255).round().astype(np.uint8) if as_uint8 else out
    inside = (up > _below(threshold).reshape(-1, 1, 1)).reshape(*lead, h, w).numpy()
    if as_uint8:
        if which is None:
            out = np.where(inside[..., None], image, dim_pixels(image, floor))
        else:  # dim the few shared images, then copy the (few) pixels inside the masks
            out = (dim_pixels(image, floor) if dimmed is None else dimmed)[which]
            at = np.flatnonzero(inside)
            maps, pixel = np.divmod(at, h * w)
            source = image.reshape(len(image), h * w, 3)[np.asarray(which).reshape(-1)[maps], pixel]
            out.reshape(-1, h * w, 3)[maps, pixel] = source
        colour = None if outline is None else np.round(np.asarray(outline) * 255).astype(np.uint8)
    else:
        out = image.astype(np.float32) * np.where(inside, np.float32(1 / 255),
                                                  np.float32(floor / 255))[..., None]  # fmt: skip
        colour = None if outline is None else np.asarray(outline, dtype=np.float32)
    if colour is not None:
        out[_dilate(inside) & ~inside] = colour
    return out


def dim_pixels(image: np.ndarray, floor: float = 0.25) -> np.ndarray:
    """``uint8`` pixels dimmed to ``floor``: ``round(image * floor)``, as :func:`light_mask`
    draws the outside of a mask.

    Example:
        >>> dim_pixels(np.array([255, 10, 3], np.uint8), 0.2).tolist()
        [51, 2, 1]
    """
    return np.round(np.arange(256) * np.float32(floor)).astype(np.uint8)[image]


def _below(threshold) -> torch.Tensor:
    """The largest float32 at or below each threshold: ``x > t`` equals ``x > _below(t)`` for
    every float32 ``x``, so the maps are compared in float32 and exactly."""
    t = torch.as_tensor(threshold, dtype=torch.float64).reshape(-1)
    low = t.float()
    return torch.where(low.double() > t, torch.nextafter(low, torch.tensor(-torch.inf)), low)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """``mask`` ``(..., H, W)`` grown by one pixel in all 8 directions."""
    rows = mask.copy()
    rows[..., 1:, :] |= mask[..., :-1, :]
    rows[..., :-1, :] |= mask[..., 1:, :]
    grown = rows.copy()
    grown[..., :, 1:] |= rows[..., :, :-1]
    grown[..., :, :-1] |= rows[..., :, 1:]
    return grown


def unit_range(maps: torch.Tensor, unit: int, quantile: float = 0.9) -> tuple[float, float]:
    """Display range of a unit: from its ``quantile`` over the shown maps to its maximum.

    Args:
        maps: ``(N, C, h, w)`` activations of one layer on the shown images.

    Returns:
        ``(low, high)``: the unit is dimmed below ``low`` and at full light at ``high``.

    Example:
        >>> maps = torch.arange(8.0).reshape(1, 2, 2, 2)
        >>> unit_range(maps, 1, quantile=0.5)
        (5.5, 7.0)
    """
    values = maps[:, unit].reshape(-1).float()
    return float(torch.quantile(values, quantile)), float(values.max())


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
        n_images: rows per unit: the images on which the unit and its neighbours fire together
            most (:func:`~skdlib.viz.activations.shared_top_images`), so the figure shows
            whether they light up the same regions.
        concept_names: optional ``{unit: label}`` shown in titles (e.g. best Broden concept).
        fig: draw into this Figure or SubFigure instead of a new figure.

    Returns:
        A figure with ``len(units) * n_images`` rows and ``1 + k`` columns.
    """
    fig, axes = _grid(len(units) * n_images, 1 + k, fig)
    for block, unit in enumerate(units):
        neighbours = emb.nearest(layer, unit, k=k)
        shown = [(unit, None)] + neighbours
        together = shared_top_images(maps, [u for u, _ in shown], n_images)
        for r, img in enumerate(together):
            row = axes[block * n_images + r]
            for col, (u, cos) in enumerate(shown):
                low, high = unit_range(maps, u)
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
        low, high = unit_range(maps, u)
        for r, img in enumerate(picks):
            axes[r, col].imshow(light_mask(images[img], maps[img, u], low, high))
        axes[0, col].set_title(titles[col], fontsize=8)
    fig.suptitle(f"{layer}: s_a + s_b ≈ s_c", fontsize=10)
    return fig


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically (folders created) and return the path."""
    return atomic_write(
        path, lambda handle: fig.savefig(handle, format="png", dpi=dpi, bbox_inches="tight")
    )
