"""skdlib.dissect: planted neurons, a slow float64 reference, the tally's parts, save/load."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from skdlib.broden import BrodenDataset
from skdlib.data import (
    CONCEPTS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    make_synthetic_broden,
    planted_concept_model,
)
from skdlib.dissect import (
    DissectionResult,
    IoUTally,
    categories_present,
    dissect,
    label_area,
    mask_pixels,
)
from skdlib.hooks import capture

# ---------------------------------------------------------------------------------------------
# An independent slow reference: explicit loops over images and units, float64, exact quantiles
# ---------------------------------------------------------------------------------------------


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


def test_bilinear_reference_agrees_with_known_values():
    a = np.array([[0.0, 4.0]])
    # 2 -> 4 columns: centres at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (i1 clamped)
    np.testing.assert_allclose(bilinear_ref(a, 1, 4), [[0.0, 1.0, 3.0, 4.0]])
    np.testing.assert_allclose(bilinear_ref(np.eye(3), 3, 3), np.eye(3))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _activations(model, layers, root: Path, batch: int) -> dict[str, list[np.ndarray]]:
    """The model's activations on every image, read with PIL, same batches as dissect's."""
    rows = _read_csv(root / "index.csv")
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


def reference_dissection(model, layers, root: Path, quantile: float, batch: int) -> dict:
    """IoU per METHOD.md §5 ("annotated") and per NetDissect-Lite's code ("overlap")."""
    rows = _read_csv(root / "index.csv")
    cat_of = {int(r["number"]): re.match(r"(\w+)\(", r["category"]).group(1)
              for r in _read_csv(root / "label.csv")}  # fmt: skip
    categories = [r["name"] for r in _read_csv(root / "category.csv")]
    n_labels = max(cat_of) + 1
    acts = _activations(model, layers, root, batch)
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


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return make_synthetic_broden(
        tmp_path_factory.mktemp("d") / "b", n_images=24, size=64, seed=1, progress=False
    )


@pytest.fixture(scope="module")
def references(small):
    model = TinyNet().eval()
    return {q: reference_dissection(model, LAYERS, small, q, batch=8) for q in (0.995, 0.9)}


@pytest.mark.parametrize(
    ("quantile", "method", "mode", "extra"),
    [
        (0.995, "exact", "annotated", {}),
        (0.995, "streaming", "overlap", {"chunk_elements": 3000}),
        (0.9, "streaming", "annotated", {"cache_bytes": 0, "num_workers": 1}),
        (0.9, "exact", "overlap", {}),
    ],
)
def test_matches_the_slow_float64_reference(small, references, quantile, method, mode, extra):
    result = dissect(
        TinyNet(), LAYERS, small, quantile=quantile, threshold_method=method,
        activation_area=mode, batch_size=8, progress=False, **extra,
    )  # fmt: skip
    ref = references[quantile]
    assert result.concept_numbers == [c.number for c in CONCEPTS]
    for name in LAYERS:
        np.testing.assert_allclose(result.thresholds[name].numpy(), ref[name]["thresholds"],
                                   rtol=1e-6, atol=1e-7)  # fmt: skip
        np.testing.assert_array_equal(result.label_area.numpy(), ref[name]["label_area"])
        np.testing.assert_array_equal(result.intersection[name].numpy(), ref[name]["intersection"])
        np.testing.assert_array_equal(result.activation_area[name].numpy(), ref[name]["area"][mode])
        delta = np.abs(result.iou[name].numpy() - ref[name][mode]).max()
        assert delta <= 1e-4, f"layer {name}: max |dIoU| = {delta}"
    assert result.iou["a"][0].abs().max() == 0  # the dead unit
    assert result.intersection["a"].sum() > 0 and result.intersection["c"].sum() > 0
    assert set(result.meta["seconds"]) == {"data", "forward", "threshold", "tally"}
    assert result.meta["cached_activations"] == ("cache_bytes" not in extra)


# ---------------------------------------------------------------------------------------------
# Planted neurons
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = make_synthetic_broden(
        tmp_path_factory.mktemp("p") / "b", n_images=48, size=112, seed=0, progress=False
    )
    return root, planted_concept_model(root)


def test_planted_units_find_their_concepts(planted):
    """Unit k is the mask of concept k: IoU >= 0.9 and the right best concept, every unit.

    With binary maps, the quantile threshold is 0 when it lies below 1 - (coverage of the
    concept), so masks are exact; quantile 0.5 puts every concept of this data set in that range.
    """
    root, model = planted
    result = dissect(model, ["units"], str(root), quantile=0.5, batch_size=16, progress=False)
    iou = result.iou["units"]
    present = result.label_area > 0
    assert int(present.sum()) >= 50  # (nearly) every concept occurs in 48 images
    column, score = result.best("units")
    units = torch.arange(len(CONCEPTS))[present]
    assert torch.equal(column[units], units)
    assert bool((iou.diagonal()[units] >= 0.9).all()), iou.diagonal()[units].min()
    assert result.interpretable("units") == len(units)
    assert result.best_concepts("units")[0] == ("red", "color", pytest.approx(float(score[0])))


def test_planted_units_at_the_default_quantile(planted):
    """At q = 0.995 a binary unit covering more than 0.5 % of all pixels has T = 1 and an empty
    mask (strict >); rarer concepts (spots, some colours) are still found exactly."""
    root, model = planted
    result = dissect(model, ["units"], BrodenDataset(root), batch_size=16, progress=False)
    coverage = result.label_area.double() / (48 * 56 * 56)
    total = 48 * 56 * 56
    diag = result.iou["units"].diagonal()
    rare = (coverage > 0) & (coverage < 0.005)
    common = coverage > 0.005 + 1.0 / total
    assert int(rare.sum()) >= 8 and int(common.sum()) >= 30
    assert bool((diag[rare] >= 0.9).all())
    assert torch.equal(result.best("units")[0][rare], torch.arange(len(CONCEPTS))[rare])
    assert bool((diag[common] == 0).all())


# ---------------------------------------------------------------------------------------------
# The tally's parts against brute force
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "w", "sh", "sw"), [(7, 7, 112, 112), (5, 3, 17, 40), (9, 9, 9, 9), (12, 10, 5, 7)]
)
def test_mask_pixels_equal_dense_upsampling(h, w, sh, sw):
    """Every pixel of F.interpolate(...) > T exactly once (upsampling, non-integer ratios,
    identity and downsampling), except where a value is within float rounding of T."""
    g = torch.Generator().manual_seed(h * 100 + sw)
    acts = torch.randn(3, 6, h, w, generator=g)
    acts[:, 0] = torch.relu(acts[:, 0])  # ties at zero, threshold zero
    thresholds = torch.quantile(acts.transpose(0, 1).reshape(6, -1), 0.9, dim=1)
    thresholds[0] = 0.0
    dense_up = torch.nn.functional.interpolate(acts, (sh, sw), mode="bilinear", align_corners=False)
    dense = dense_up > thresholds.view(1, 6, 1, 1)
    sparse = torch.zeros_like(dense)
    count = 0
    for b, u, y, x in mask_pixels(acts, thresholds, (sh, sw), chunk_elements=64):
        sparse[b, u, y, x] = True
        count += b.numel()
    assert count == int(sparse.sum())  # no pixel twice
    differ = dense != sparse
    near = (dense_up - thresholds.view(1, 6, 1, 1)).abs() <= 1e-6
    assert not (differ & ~near).any()
    assert int(differ.sum()) <= 2 and int(dense.sum()) > 20


def test_label_area_and_categories_present():
    pixel = torch.tensor(
        [[[[0, 3], [3, 1]], [[2, 0], [0, 0]]], [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]]
    )
    whole = torch.tensor([[4, 0], [5, 4]])
    lut = torch.tensor([-1, 0, 0, 1, 2, 2])
    assert label_area(pixel, whole, 6).tolist() == [0, 1, 1, 2, 8, 4]
    assert categories_present(pixel, whole, lut).tolist() == [
        [True, True, True],
        [False, False, True],
    ]


@pytest.mark.parametrize("mode", ["annotated", "overlap"])
def test_tally_equals_brute_force_loops(mode):
    g = torch.Generator().manual_seed(0)
    b, u, h, w, sh, sw, depth = 4, 5, 3, 4, 7, 9, 2
    lut = torch.tensor([-1, 0, 0, 1, 1, 2, 2])
    acts = torch.randn(b, u, h, w, generator=g)
    pixel = torch.randint(0, 5, (b, depth, sh, sw), generator=g)
    pixel[1] = 0  # an image without pixel labels
    whole = torch.tensor([[5, 0], [6, 5], [0, 0], [6, 0]])
    thresholds = torch.quantile(acts.transpose(0, 1).reshape(u, -1), 0.7, dim=1)
    tally = IoUTally(thresholds, lut, 3, mode, chunk_elements=sh * sw * 2)
    tally.update(acts[:2], pixel[:2], whole[:2])
    tally.update(acts[2:], pixel[2:], whole[2:])
    inter = np.zeros((u, 7))
    area = np.zeros((u, 3))
    for i in range(b):
        cats = {int(lut[v]) for v in pixel[i].unique().tolist() + whole[i].tolist() if v > 0}
        for k in range(u):
            mask = bilinear_ref(acts[i, k].numpy(), sh, sw) > float(thresholds[k])
            hit = set()
            for d in range(depth):
                layer = pixel[i, d].numpy()
                for lab in range(1, 7):
                    inter[k, lab] += (mask & (layer == lab)).sum()
                    if (mask & (layer == lab)).any():
                        hit.add(int(lut[lab]))
            for lab in whole[i].tolist():
                if lab:
                    inter[k, lab] += mask.sum()
                    if mask.any():
                        hit.add(int(lut[lab]))
            for c in range(3):
                area[k, c] += mask.sum() * (c in (cats if mode == "annotated" else hit))
    np.testing.assert_array_equal(tally.intersection.numpy(), inter)
    np.testing.assert_array_equal(tally.activation_area.numpy(), area)


# ---------------------------------------------------------------------------------------------
# Result object and errors
# ---------------------------------------------------------------------------------------------


def test_save_and_load_round_trip_with_tally_csv(small, tmp_path):
    result = dissect(TinyNet(), ["a", "c"], small, quantile=0.9, progress=False)
    path = result.save(tmp_path / "out")
    assert path == tmp_path / "out" / "dissection.pt"
    loaded = DissectionResult.load(tmp_path / "out")
    for name in ("a", "c"):
        assert torch.equal(loaded.iou[name], result.iou[name])
        assert torch.equal(loaded.thresholds[name], result.thresholds[name])
    assert loaded.concept_names == result.concept_names and loaded.meta == result.meta
    rows = _read_csv(tmp_path / "out" / "tally_c.csv")
    assert list(rows[0])[:4] == ["unit", "category", "label", "score"]
    assert "texture-intersect" in rows[0] and len(rows) == 5
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    column, score = result.best("c")
    for r in rows:
        unit = int(r["unit"])
        assert r["label"] == result.concept_names[int(column[unit])]
        assert float(r["score"]) == pytest.approx(float(score[unit]), abs=1e-6)
        best_color = result.iou["c"][unit, :10].argmax()
        assert r["color-label"] == result.concept_names[int(best_color)]
        assert int(r["color-truth"]) == int(result.label_area[best_color])
        assert int(r["color-intersect"]) == int(result.intersection["c"][unit, best_color])
        assert int(r["color-activation"]) == int(result.activation_area["c"][unit, 0])
    assert "c: " in result.summary() and "interpretable" in result.summary()
    with pytest.raises(KeyError, match="layer 'b' was not dissected"):
        result.best("b")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot read dissection result"):
        DissectionResult.load(tmp_path / "junk.pt")


def test_dissect_errors_name_the_problem(small):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(3))
    with pytest.raises(ValueError, match=r"layer '2' gives outputs of shape \(8, 3\)"):
        dissect(model, ["2"], small, batch_size=8, progress=False)
    with pytest.raises(KeyError, match="no module named 'fc'"):
        dissect(model, ["fc"], small, progress=False)
    with pytest.raises(ValueError, match="quantile must be in"):
        dissect(model, ["0"], small, quantile=1.0, progress=False)
    with pytest.raises(ValueError, match="threshold_method must be one of"):
        dissect(model, ["0"], small, threshold_method="histogram", progress=False)
    with pytest.raises(ValueError, match="activation_area must be one of"):
        dissect(model, ["0"], small, activation_area="lite", progress=False)
