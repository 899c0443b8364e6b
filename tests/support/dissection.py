"""An independent slow Network Dissection: explicit loops over images and units, float64, exact
quantiles; and a tiny network to dissect.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from skdlib.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
)
from skdlib.hooks import capture


def bilinear_ref(a: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear upsampling with align_corners=False (half-pixel centres, edge clamped), float64."""

    def axis(n_in: int, n_out: int):
        src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, wy = axis(a.shape[0], out_h)
    x0, x1, wx = axis(a.shape[1], out_w)
    a = a.astype(np.float64)
    rows = a[y0] * (1 - wy)[:, None] + a[y1] * wy[:, None]
    return rows[:, x0] * (1 - wx)[None, :] + rows[:, x1] * wx[None, :]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def activations_of(model, layers, root: Path, batch: int) -> dict[str, list[np.ndarray]]:
    """The model's activations on every image, read with PIL, same batches as dissect's."""
    rows = read_csv(root / "index.csv")
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    out: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    for start in range(0, len(rows), batch):
        imgs = [
            torch.from_numpy(np.array(Image.open(root / "images" / r["image"]).convert("RGB")))
            for r in rows[start : start + batch]
        ]
        x = torch.stack(imgs).permute(0, 3, 1, 2)
        with torch.no_grad(), capture(model, layers) as acts:
            model((x.float() / 255.0 - mean) / std)
        for name in layers:
            out[name] += [a.double().numpy() for a in acts[name]]
    return out


def primary_categories(root: Path, categories: list[str]) -> dict[int, str]:
    """Each label's primary category, by NetDissect's definition: of the categories it occurs
    in (``label.csv``'s ``cat(n);...``), the one in which its coverage (``c_<cat>.csv``) is
    largest; a label of one category has that one."""
    coverage = {
        cat: {int(r["number"]): float(r["coverage"]) for r in read_csv(root / f"c_{cat}.csv")}
        for cat in categories
    }
    out = {}
    for r in read_csv(root / "label.csv"):
        number = int(r["number"])
        cats = re.findall(r"(\w+)\(", r["category"])
        out[number] = max(cats, key=lambda c: coverage[c].get(number, 0.0))
    return out


def reference_dissection(model, layers, root: Path, quantile: float, batch: int) -> dict:
    """IoU per docs/method.md §5 ("annotated") and per NetDissect-Lite's code ("overlap")."""
    rows = read_csv(root / "index.csv")
    categories = [r["name"] for r in read_csv(root / "category.csv")]
    cat_of = primary_categories(root, categories)
    n_labels = max(cat_of) + 1
    acts = activations_of(model, layers, root, batch)
    thresholds = {
        name: np.array(
            [
                np.quantile(np.concatenate([a[k].ravel() for a in acts[name]]), quantile)
                for k in range(acts[name][0].shape[0])
            ]  # fmt: skip
        )
        for name in layers
    }
    label_area_ = np.zeros(n_labels)
    out = {}
    tallies = {
        name: {
            "I": np.zeros((acts[name][0].shape[0], n_labels)),
            "annotated": np.zeros((acts[name][0].shape[0], len(categories))),
            "overlap": np.zeros((acts[name][0].shape[0], len(categories))),
        }
        for name in layers
    }
    for i, row in enumerate(rows):
        sh, sw = int(row["sh"]), int(row["sw"])
        layers_i, whole = [], []
        for cat in categories:
            for item in filter(None, row[cat].split(";")):
                if item.isdigit():
                    whole.append(int(item))
                else:
                    rgb = np.asarray(Image.open(root / "images" / item)).astype(np.int64)
                    layers_i.append(rgb[..., 0] + 256 * rgb[..., 1])
        for layer in layers_i:
            for lab in np.unique(layer[layer > 0]):
                label_area_[lab] += (layer == lab).sum()
        for lab in whole:
            label_area_[lab] += sh * sw
        carried = {cat_of[lab] for layer in layers_i for lab in np.unique(layer[layer > 0])}
        carried |= {cat_of[lab] for lab in whole}
        for name in layers:
            t = tallies[name]
            a = acts[name][i]
            for k in range(a.shape[0]):
                mask = bilinear_ref(a[k], sh, sw) > thresholds[name][k]
                area = mask.sum()
                overlapped = set()
                for layer in layers_i:
                    for lab in np.unique(layer[mask & (layer > 0)]):
                        t["I"][k, lab] += (mask & (layer == lab)).sum()
                        overlapped.add(cat_of[lab])
                for lab in whole:
                    t["I"][k, lab] += area
                    if area:
                        overlapped.add(cat_of[lab])
                for c, cat in enumerate(categories):
                    t["annotated"][k, c] += area * (cat in carried)
                    t["overlap"][k, c] += area * (cat in overlapped)
    numbers = sorted(cat_of)
    cat_index = [categories.index(cat_of[n]) for n in numbers]
    for name in layers:
        t = tallies[name]
        inter = t["I"][:, numbers]
        g = label_area_[numbers]
        out[name] = {
            "thresholds": thresholds[name],
            "intersection": inter,
            "label_area": g,
            **{
                mode: inter / (t[mode][:, cat_index] + g[None, :] - inter + 1e-10)
                for mode in ("annotated", "overlap")
            },
            "area": {mode: t[mode] for mode in ("annotated", "overlap")},
        }
    return out


class TinyNet(nn.Module):
    """Three stages at 1/2, 1/4 and 7x7 of the input: identity, x2 and non-integer upsampling;
    ReLU ties at zero, a dead unit, and signed activations."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(8, 6, 3, stride=2, padding=1), nn.ReLU())
        self.c = nn.Sequential(nn.AdaptiveAvgPool2d(7), nn.Conv2d(6, 5, 1))
        with torch.no_grad():
            self.a[0].bias[0] = -100.0  # a dead unit: threshold 0, empty masks

    def forward(self, x):
        return self.c(self.b(self.a(x)))


LAYERS = ["a", "b", "c"]
