"""skdlib.viz.dissection_report: the report's pages, tiles and strips against independent
references (tiles sorted by IoU, strip pixels = image where upsample > T, dimmed elsewhere,
outlined at the border), offline-only links, and clear errors. The browser's view of it is
tests/viz/test_report_browser.py."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import binary_dilation
from support.dissection import bilinear_ref

from skdlib import filenames
from skdlib.data import make_synthetic_broden, planted_concept_model
from skdlib.dissect import DissectionResult, dissect
from skdlib.viz.dissection_report import (
    NO_TOP_IMAGES,
    ReportLink,
    page_names,
    strips,
    unit_order,
    write_report,
)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Unit k of the planted model is concept k's mask: its report names concept k."""
    root = make_synthetic_broden(
        tmp_path_factory.mktemp("r") / "b", n_images=32, size=64, seed=4, progress=False
    )
    result = dissect(planted_concept_model(root), ["units"], root, quantile=0.5, batch_size=16,
                     progress=False, top_k=6)  # fmt: skip
    return root, result


class Tags(HTMLParser):
    """Every tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(path: Path) -> list[tuple[str, dict[str, str]]]:
    parser = Tags()
    parser.feed(path.read_text())
    return parser.tags


def test_strip_pixels_are_the_image_inside_the_mask_dimmed_outside_and_outlined():
    rng = np.random.default_rng(0)
    c, k, size = 3, 4, 24
    thumbs = rng.integers(0, 256, (c, k, size, size, 3), dtype=np.uint8)
    maps = torch.from_numpy(rng.random((c, k, 5, 3)).astype(np.float32))
    thresholds = torch.tensor([0.5, 0.8, 0.3333333333333], dtype=torch.float64)
    got = strips(thumbs, maps, thresholds, gap=2)
    partial = 0
    assert got.shape == (c, size, k * size + (k - 1) * 2, 3)
    for u in range(c):
        for j in range(k):
            up = bilinear_ref(maps[u, j].numpy(), size, size)
            inside = up > float(thresholds[u])
            near = np.abs(up - float(thresholds[u])) < 1e-5  # float32 rounding may decide these
            ring = binary_dilation(inside, structure=np.ones((3, 3), bool)) & ~inside
            picture = got[u, :, j * (size + 2) : j * (size + 2) + size]
            want = np.where(inside[..., None], thumbs[u, j],
                            np.round(thumbs[u, j] * np.float32(0.2)).astype(np.uint8))  # fmt: skip
            want[ring] = (255, 255, 0)
            sure = ~near & ~binary_dilation(near, structure=np.ones((3, 3), bool))
            np.testing.assert_array_equal(picture[sure], want[sure])
            partial += bool(inside.any() and (~inside).any())
            if j < k - 1:  # white between the images
                gap = got[u, :, j * (size + 2) + size : (j + 1) * (size + 2)]
                assert (gap == 255).all()
    assert partial >= 8  # masks with an inside and an outside


def test_the_report_has_a_page_per_layer_and_a_tile_per_unit_sorted_by_iou(planted, tmp_path):
    root, result = planted
    index = write_report(result, tmp_path / "report", k=5, runners_up=2)
    assert index == tmp_path / "report" / filenames.REPORT_INDEX
    page = tmp_path / "report" / filenames.REPORT_PAGE.format(layer="units")
    found = tags(page)
    tiles = [a for tag, a in found if tag == "div" and "data-unit" in a]
    units = [int(a["data-unit"]) for a in tiles]
    ious = [float(a["data-iou"]) for a in tiles]
    best = result.best("units")[1].tolist()
    assert sorted(units) == list(range(len(best)))  # every unit, once
    assert ious == [best[u] for u in units]
    assert all(a >= b for a, b in zip(ious, ious[1:], strict=False))  # descending
    for a, b in zip(units, units[1:], strict=False):  # ties by unit number
        assert best[a] > best[b] or a < b
    assert units == unit_order(result, "units")
    # the best tile: the planted unit of the rarest-covered concept, named as such
    text = page.read_text()
    name, cat, iou = result.best_concepts("units")[units[0]]
    assert f'data-unit="{units[0]}"' in text and f"IoU {iou:.3f}" in text
    assert re.search(rf'data-unit="{units[0]}".*?<div class="label">{name}</div>', text)
    # every picture is a file in the folder; nothing remote, no script
    pictures = [a["src"] for tag, a in found if tag == "img"]
    assert len(pictures) == len(units) + 1  # the strips and the chart
    assert all((tmp_path / "report" / p).is_file() for p in pictures)
    for html_file in (tmp_path / "report").glob("*.html"):
        text = html_file.read_text()
        assert "http" not in text and "<script" not in text and "//" not in text
    strip = Image.open(tmp_path / "report" / filenames.REPORT_STRIP.format(layer="units", unit=3))
    assert strip.size == (5 * 64 + 4 * 3, 64)  # k images of the data set's 64 px
    assert [tag for tag, _ in tags(index)].count("img") == 1  # the one layer's chart


def test_a_strip_file_is_the_drawn_strip_of_that_unit(planted, tmp_path):
    root, result = planted
    write_report(result, tmp_path, k=3)
    top, unit = result.top_images, 7
    thumbs = np.stack([np.asarray(Image.open(root / "images" / f).convert("RGB"))
                       for f in top.unit_files("units", unit)[:3]])  # fmt: skip
    want = strips(thumbs[None], top.maps["units"][unit : unit + 1, :3],
                  result.thresholds["units"][unit : unit + 1])[0].astype(float)  # fmt: skip
    path = tmp_path / filenames.REPORT_STRIP.format(layer="units", unit=unit)
    got = np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB")).astype(float)
    assert got.shape == want.shape and np.abs(got - want).mean() < 6  # JPEG
    other = tmp_path / filenames.REPORT_STRIP.format(layer="units", unit=unit + 1)
    far = np.asarray(Image.open(other).convert("RGB")).astype(float)
    assert np.abs(far - want).mean() > 2 * np.abs(got - want).mean()


def test_runners_up_are_the_next_concepts_by_iou(planted, tmp_path):
    root, result = planted
    write_report(result, tmp_path, runners_up=3)
    text = (tmp_path / filenames.REPORT_PAGE.format(layer="units")).read_text()
    iou = result.iou["units"][10]
    order = torch.argsort(iou, descending=True).tolist()
    shown = re.search(r'data-unit="10".*?<div class="runners">then: (.*?)</div>', text).group(1)
    expected = [
        f"{result.concept_names[c]} ({result.concept_categories[c]}) {float(iou[c]):.3f}"
        for c in order[1:4]
        if float(iou[c]) > 0
    ]
    assert shown.split(" · ") == (expected or ["—"])


def test_clear_errors(planted, tmp_path):
    root, result = planted
    bare = DissectionResult(**{**result.__dict__, "top_images": None, "checkpoint": None})
    with pytest.raises(ValueError, match="has no top images") as info:
        write_report(bare, tmp_path)
    assert str(info.value) == NO_TOP_IMAGES and "top_k" in NO_TOP_IMAGES
    with pytest.raises(FileNotFoundError, match="pass write_report\\(..., data="):
        write_report(result, tmp_path, data=tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="k must be between 1 and the 6 top images kept"):
        write_report(result, tmp_path, k=7)
    moved = tmp_path / "moved"
    root.rename(moved)
    try:
        assert write_report(result, tmp_path / "r", data=moved).is_file()  # data= finds them
    finally:
        moved.rename(root)


def test_page_names_are_distinct_file_safe_and_never_the_index():
    names = page_names(["layer4", "features/10", "features_10", "index", "x"])
    assert names == {"layer4": "layer4", "features/10": "features_10",
                     "features_10": "features_10-2", "index": "index-layer", "x": "x"}  # fmt: skip


def test_report_link_is_relative_to_the_notebook(tmp_path, monkeypatch):
    report = tmp_path / "runs" / "quick" / "dissection" / "report" / "index.html"
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    link = ReportLink(report, "the report")
    assert link.href == "../runs/quick/dissection/report/index.html"
    assert link._repr_markdown_() == "[the report](../runs/quick/dissection/report/index.html)"
    assert 'href="../runs/quick/dissection/report/index.html"' in link._repr_html_()
    assert str(tmp_path) not in link._repr_html_()
