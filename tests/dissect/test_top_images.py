"""skdlib.dissect.top_images: the top-k images per unit equal an explicit float64 loop over every
image's spatial maxima (ties to the earlier image), with the unit's maps on them; dissect() keeps
them in its first pass, saves them with the result and in its checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.dissection import LAYERS, TinyNet, activations_of, read_csv

from skdlib.dissect import DissectionResult, dissect
from skdlib.dissect.top_images import TopImages, TopImagesTracker


def reference_top(maps: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the k images of largest spatial max, by an explicit loop in float64: sorted by
    (-max, image position)."""
    units = maps[0].shape[0]
    index = np.zeros((units, min(k, len(maps))), dtype=np.int64)
    score = np.zeros(index.shape)
    for u in range(units):
        peaks = [(-float(m[u].max()), n) for n, m in enumerate(maps)]
        best = sorted(peaks)[:k]
        index[u] = [n for _, n in best]
        score[u] = [-p for p, _ in best]
    return index, score


@pytest.mark.parametrize(("k", "batch"), [(3, 4), (8, 5), (30, 7)])
def test_the_tracker_equals_a_float64_loop_with_ties_to_the_earlier_image(k, batch):
    gen = torch.Generator().manual_seed(k)
    n = 23
    # few distinct values: many ties between images, and a constant (dead) unit
    acts = [torch.randint(0, 4, (n, 5, 3, 2), generator=gen).float(),
            torch.randn(n, 4, 2, 2, generator=gen)]  # fmt: skip
    acts[0][:, 2] = 0.0
    tracker = TopImagesTracker(["x", "y"], k)
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        tracker.update([a[start:stop] for a in acts], torch.arange(start, stop))
    files = [f"im{i:03d}.jpg" for i in range(n)]
    top = tracker.finish(files)
    for name, a in zip(["x", "y"], acts, strict=True):
        index, score = reference_top([m.double().numpy() for m in a], k)
        got = [[files.index(f) for f in top.unit_files(name, u)] for u in range(len(index))]
        np.testing.assert_array_equal(got, index)
        np.testing.assert_array_equal(top.score[name].double().numpy(), score)
        for u in range(len(index)):
            assert torch.equal(top.maps[name][u], a[index[u], u])  # the maps on those images
    assert top.unit_files("x", 2) == files[:k]  # all equal: the first images
    assert top.files == sorted(top.files)  # data-set order
    with pytest.raises(ValueError, match="k must be at least 1"):
        TopImagesTracker(["x"], 0)


def test_dissect_keeps_the_top_images_of_the_first_pass(small, tmp_path):
    result = dissect(TinyNet(), LAYERS, small, batch_size=8, num_workers=0, progress=False, top_k=5)
    acts = activations_of(TinyNet().eval(), LAYERS, small, batch=8)
    names = [r["image"] for r in read_csv(small / "index.csv")]
    top = result.top_images
    assert top.k == 5 and "top_images" in result.meta["seconds"]
    for name in LAYERS:
        index, score = reference_top(acts[name], 5)
        files = [[names[i] for i in row] for row in index]
        assert [top.unit_files(name, u) for u in range(len(index))] == files
        np.testing.assert_allclose(top.score[name].numpy(), score, rtol=1e-5, atol=1e-6)
        for u in range(len(index)):
            ref = np.stack([acts[name][i][u] for i in index[u]])
            np.testing.assert_allclose(top.maps[name][u].numpy(), ref, rtol=1e-5, atol=1e-6)
    result.save(tmp_path)
    back = DissectionResult.load(tmp_path).top_images
    assert back.files == top.files and back.k == 5
    for name in LAYERS:
        for field in ("score", "image", "maps"):
            assert torch.equal(getattr(back, field)[name], getattr(top, field)[name])
    none = dissect(TinyNet(), ["a"], small, batch_size=8, progress=False, top_k=0)
    assert none.top_images is None


def test_a_result_of_format_1_loads_without_top_images_and_other_versions_are_refused(
    small, tmp_path
):
    result = dissect(TinyNet(), ["a"], small, batch_size=8, progress=False, top_k=2)
    result.save(tmp_path)
    state = torch.load(tmp_path / "dissection.pt", weights_only=True)
    old = {k: v for k, v in state.items() if k != "top_images"}
    torch.save({**old, "format": "skdlib.dissection/1"}, tmp_path / "dissection.pt")
    loaded = DissectionResult.load(tmp_path)
    assert loaded.top_images is None and torch.equal(loaded.iou["a"], result.iou["a"])
    torch.save({**state, "format": "skdlib.dissection/9"}, tmp_path / "dissection.pt")
    with pytest.raises(ValueError, match="format version 9"):
        DissectionResult.load(tmp_path)


def test_state_round_trip():
    image = {"l": torch.zeros(1, 1, dtype=torch.int64)}
    top = TopImages(2, ["a.jpg"], {"l": torch.ones(1, 1)}, image, {"l": torch.ones(1, 1, 2, 2)})
    again = TopImages.from_state(top.state())
    assert again.files == ["a.jpg"] and again.k == 2 and torch.equal(again.maps["l"], top.maps["l"])
