"""The dissection report: ``report/index.html`` and one page per layer, read from disk.

NetDissect's most used output, written from a :class:`~skdlib.dissect.DissectionResult` alone
(and the Broden folder's images): no server, no script and no remote resource — every picture is
a file beside the pages. ``index.html`` summarises each layer and links to its page. A layer's
page has its summary line (units, interpretable units at the rule, per category of their best
concept), NetDissect's bar chart (:mod:`~skdlib.viz.category_chart`), then **one tile per unit,
by IoU descending** (ties by unit): the unit's best concept, its category and IoU, the next
concepts by IoU, and the strip of its top images (:mod:`skdlib.dissect.top_images`, best
first) with its mask — ``upsample(A) > T_k`` at the unit's dissection threshold, the rest dimmed
to 20 % as NetDissect does and the mask outlined in yellow, drawn by
:func:`~skdlib.viz.figures.light_mask`, the function the explorer's panels use too.

Example (``python -m skdlib dissect`` writes one into its ``--out``)::

    result = dissect(model, ["layer3", "layer4"], "data/broden1_224")
    write_report(result, "runs/dissect/report")       # -> runs/dissect/report/index.html
"""

from __future__ import annotations

import html
import os
import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import filenames
from ..checkpoint import atomic_write_text
from ..dissect import DissectionResult
from ..dissect.rules import INTERPRETABLE_IOU
from .category_chart import category_rank, concept_bars, plot_category_bars
from .figures import dim_pixels, light_mask, save_figure
from .panels import jpeg_bytes

__all__ = [
    "DIM",
    "IMAGE_PX",
    "OUTLINE",
    "NO_TOP_IMAGES",
    "ReportLink",
    "page_names",
    "strips",
    "unit_order",
    "write_report",
]

#: Brightness outside a unit's mask (NetDissect's ``alpha``) and the colour of its outline.
DIM, OUTLINE = 0.2, (1.0, 1.0, 0.0)
#: Pixels between the images of a strip.
GAP = 3
#: The largest default side of an image in a strip.
IMAGE_PX = 112
#: What to do about a result without top images.
NO_TOP_IMAGES = (
    "this dissection has no top images (a result saved in format 1, before skdlib kept them, "
    "or dissect(..., top_k=0)): run the dissection again with top_k >= 1 (dissect()'s default "
    "is 8; python -m skdlib dissect writes the report itself) to get a report"
)
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px 24px;color:#222}
h1{font-size:22px;margin:4px 0} h2{font-size:17px} a{color:#2a55b0}
.meta,.note{color:#555;font-size:13px;margin:4px 0} .summary{font-size:15px;margin:8px 0}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f2f2f2} td.n{text-align:right}
.chart{max-width:100%;margin:8px 0} .grid{display:flex;flex-wrap:wrap;gap:10px}
.unit{border:1px solid #ddd;border-radius:4px;padding:6px 8px;background:#fafafa}
.label{font-weight:bold;font-size:16px} .info{font-size:12px;color:#444;margin:2px 0 4px}
.iou{float:right;margin-left:12px;font-weight:bold} .low .label{color:#999}
.strip{height:72px;width:auto;display:block} .runners{font-size:11px;color:#555;margin-top:3px}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def page_names(layers: list[str]) -> dict[str, str]:
    """A distinct file-safe stem per layer (``layer4.1.conv2`` stays; ``/`` and spaces become
    ``_``; never ``index``).

    Example:
        >>> page_names(["layer4", "a b", "a_b", "index"])
        {'layer4': 'layer4', 'a b': 'a_b', 'a_b': 'a_b-2', 'index': 'index-layer'}
    """
    out: dict[str, str] = {}
    for layer in layers:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", layer).strip(".") or "layer"
        if stem == Path(filenames.REPORT_INDEX).stem:
            stem += "-layer"
        base, n = stem, 1
        while stem in out.values():
            n += 1
            stem = f"{base}-{n}"
        out[layer] = stem
    return out


def unit_order(result: DissectionResult, layer: str) -> list[int]:
    """The units of ``layer`` by best IoU, descending; equal IoUs by unit number (the tiles'
    order).

    Example:
        >>> iou = torch.tensor([[0.1, 0.0], [0.3, 0.2], [0.0, 0.1]], dtype=torch.float64)
        >>> r = DissectionResult(["l"], {"l": iou}, {}, {}, torch.zeros(2), {}, [1, 2],
        ...                      ["a", "b"], ["color", "color"], ["color"])
        >>> unit_order(r, "l")
        [1, 0, 2]
    """
    score = result.best(layer)[1].tolist()
    return sorted(range(len(score)), key=lambda u: (-score[u], u))


def strips(
    thumbnails: np.ndarray,
    maps: torch.Tensor,
    thresholds: torch.Tensor,
    gap: int = GAP,
    which: np.ndarray | None = None,
    dimmed: np.ndarray | None = None,
) -> np.ndarray:
    """The strips of some units: each unit's ``k`` images side by side, its mask drawn.

    Args:
        thumbnails: ``(C, k, S, S, 3)`` uint8, each unit's top images; with ``which``,
            ``(N, S, S, 3)`` images and ``which`` ``(C, k)`` the positions of each unit's
            (``dimmed``: those images dimmed, :func:`~skdlib.viz.figures.dim_pixels`).
        maps: ``(C, k, h, w)``, the unit's activation maps on them.
        thresholds: ``(C,)``, each unit's dissection threshold.

    Returns:
        ``(C, S, k·S + (k-1)·gap, 3)`` uint8, white between the images.

    Example:
        >>> s = strips(np.zeros((2, 3, 8, 8, 3), np.uint8), torch.rand(2, 3, 2, 2), torch.ones(2))
        >>> s.shape, int(s[0, 0, 8, 0])
        ((2, 8, 30, 3), 255)
    """
    c, k = maps.shape[:2]
    size = thumbnails.shape[-2]
    t = torch.as_tensor(thresholds, dtype=torch.float64)[:, None].expand(c, k)
    drawn = light_mask(thumbnails, maps, floor=DIM, threshold=t, outline=OUTLINE, as_uint8=True,
                       which=which, dimmed=dimmed)  # fmt: skip
    out = np.empty((c, size, k * size + (k - 1) * gap, 3), np.uint8)
    for j in range(k):
        at = j * (size + gap)
        out[:, :, at : at + size] = drawn[:, j]
        out[:, :, at + size : at + size + gap] = 255
    return out


def _check_images(images: Path, files: list[str]) -> None:
    missing = [f for f in files if not (images / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the report draws the top images from {images}, but {len(missing)} of them are not "
            f"there (e.g. {missing[0]}): pass write_report(..., data=<the Broden folder>)"
        )


def _thumbnails(images: Path, files: list[str], size: int) -> np.ndarray:
    """``(F, size, size, 3)`` uint8: every file, resized when it is not ``size`` square."""
    out = np.empty((len(files), size, size, 3), np.uint8)
    for i, name in enumerate(files):
        with Image.open(images / name) as img:
            rgb = img.convert("RGB")
            if rgb.size != (size, size):
                rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
            out[i] = np.asarray(rgb)
    return out


class _Facts:
    """What the pages say of one layer, computed once: units, interpretable units, concepts
    and interpretable units per category of their best concept (in the chart's order)."""

    def __init__(self, result: DissectionResult, layer: str, threshold: float) -> None:
        self.units = int(result.iou[layer].shape[0])
        self.bars = concept_bars(result, layer, threshold)
        self.interpretable = sum(b.units for b in self.bars)
        self.per_category: dict[str, int] = {}
        for b in self.bars:  # already in the chart's category order
            self.per_category[b.category] = self.per_category.get(b.category, 0) + b.units
        per = ", ".join(f"{cat} {n}" for cat, n in self.per_category.items())
        self.summary = (
            f"{self.units} units, {self.interpretable} interpretable (IoU > {threshold:g}) "
            f"covering {len(self.bars)} concepts" + (f": {per}" if per else "")
        )


def _tile(result, layer, unit, best, strip, files, scores, threshold, runners_up) -> str:
    iou = result.iou[layer][unit]
    order = torch.argsort(iou, descending=True, stable=True)[: runners_up + 1].tolist()
    name, cat = result.concept_names[best], result.concept_categories[best]
    others = [
        f"{html.escape(result.concept_names[c])} ({html.escape(result.concept_categories[c])}) "
        f"{float(iou[c]):.3f}"
        for c in [c for c in order if c != best][:runners_up]
        if float(iou[c]) > 0
    ]
    src = urllib.parse.quote(strip)
    title = "; ".join(f"{f} (max {s:.3g})" for f, s in zip(files, scores, strict=True))
    low = "" if float(iou[best]) > threshold else " low"
    return (
        f'<div class="unit{low}" data-unit="{unit}" data-iou="{float(iou[best]):.17g}">'
        f'<div class="label">{html.escape(name)}</div>'
        f'<div class="info">unit {unit} · {html.escape(cat)}'
        f'<span class="iou">IoU {float(iou[best]):.3f}</span></div>'
        f'<a href="{src}"><img class="strip" src="{src}"'
        f' alt="top images of unit {unit}" title="{html.escape(title)}"></a>'
        f'<div class="runners">then: {" · ".join(others) or "—"}</div></div>'
    )


def _layer_page(result, layer, stem, stems, facts, k, threshold, runners_up) -> str:
    nav = " · ".join(
        f'<a href="{urllib.parse.quote(filenames.REPORT_PAGE.format(layer=s))}">'
        f"{html.escape(name)}</a>"
        if name != layer
        else f"<b>{html.escape(name)}</b>"
        for name, s in stems.items()
    )
    top = result.top_images
    column = result.best(layer)[0].tolist()
    tiles = []
    for unit in unit_order(result, layer):
        strip = filenames.REPORT_STRIP.format(layer=stem, unit=unit)
        files = top.unit_files(layer, unit)[:k]
        scores = top.score[layer][unit, :k].tolist()
        tiles.append(_tile(result, layer, unit, column[unit], strip, files, scores, threshold,
                           runners_up))  # fmt: skip
    chart = urllib.parse.quote(filenames.REPORT_CHART.format(layer=stem))
    body = (
        f'<div class="meta"><a href="{filenames.REPORT_INDEX}">all layers</a> · {nav}</div>'
        f"<h1>{html.escape(layer)}</h1>"
        f'<div class="summary">{html.escape(facts.summary)}</div>'
        f'<img class="chart" src="{chart}" alt="interpretable units of {html.escape(layer)} '
        'per concept">'
        f'<p class="note">One tile per unit, by IoU. Each shows the unit\'s best concept, its '
        f"category and IoU, the next {runners_up} concepts by IoU, and the {k} images on which "
        "the unit's activation peaks highest (best first; the strip links to the full-size "
        "picture), with the unit's mask at its dissection threshold outlined in yellow and the "
        f"rest dimmed. Grey labels: IoU ≤ {threshold:g}.</p>"
        f'<div class="grid">{"".join(tiles)}</div>'
    )
    return _page(f"{layer} · network dissection", body)


def _index_page(result, stems, facts, threshold) -> str:
    meta = result.meta
    cats = sorted(result.categories, key=category_rank(result.categories).get)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cats)
    rows = []
    for layer, stem in stems.items():
        f = facts[layer]
        page = urllib.parse.quote(filenames.REPORT_PAGE.format(layer=stem))
        rows.append(
            f'<tr><td><a href="{page}">{html.escape(layer)}</a></td>'
            f'<td class="n">{f.units}</td><td class="n">{f.interpretable}</td>'
            f'<td class="n">{len(f.bars)}</td>'
            + "".join(f'<td class="n">{f.per_category.get(c, 0)}</td>' for c in cats)
            + "</tr>"
        )
    charts = "".join(
        f'<h2><a href="{urllib.parse.quote(filenames.REPORT_PAGE.format(layer=s))}">'
        f"{html.escape(layer)}</a></h2>"
        f'<div class="summary">{html.escape(facts[layer].summary)}</div>'
        f'<img class="chart" src="{urllib.parse.quote(filenames.REPORT_CHART.format(layer=s))}"'
        f' alt="interpretable units of {html.escape(layer)} per concept">'
        for layer, s in stems.items()
    )
    data = Path(str(meta.get("data", "?"))).name
    body = (
        f"<h1>Network dissection of {html.escape(str(meta.get('arch', 'a model')))}</h1>"
        f'<div class="meta">{meta.get("n_images", "?")} images of {html.escape(data)}, '
        f"{len(result.concept_names)} concepts; threshold: the {meta.get('quantile', '?')} "
        f"quantile of each unit; activation area: {meta.get('activation_area', '?')}; a unit "
        f"is interpretable when its best IoU exceeds {threshold:g}</div>"
        f"<table><tr><th>layer</th><th>units</th><th>interpretable</th><th>concepts</th>{head}"
        f"</tr>{''.join(rows)}</table>"
        f'<p class="note">Interpretable units per category of their best concept.</p>{charts}'
    )
    return _page("network dissection", body)


def write_report(
    result: DissectionResult,
    folder: str | os.PathLike,
    *,
    data: str | os.PathLike | None = None,
    k: int | None = None,
    image_px: int | None = None,
    runners_up: int = 3,
    threshold: float = INTERPRETABLE_IOU,
    chunk: int = 128,
) -> Path:
    """Write the report of ``result`` into ``folder`` (see the module docstring).

    Args:
        result: a dissection with :attr:`~skdlib.dissect.DissectionResult.top_images`.
        folder: the report's folder (created; e.g. ``runs/dissect/report``).
        data: the Broden folder holding the images (default: the dissection's own,
            ``result.meta["data"]``).
        k: images per strip (default: all kept, ``dissect(top_k=8)``).
        image_px: side of each image in a strip (default: the images' own, at most
            :data:`IMAGE_PX`; Broden's 224 px images are shown at 112).
        runners_up: concepts shown after the best one.
        threshold: the interpretable rule (IoU above it).
        chunk: units drawn at once (memory: ``chunk·k·image_px²·3`` bytes, several times).

    Returns:
        The path of ``index.html``.

    Raises:
        ValueError: the result has no top images (:data:`NO_TOP_IMAGES` says what to do).
        FileNotFoundError: the images are not in the data folder (pass ``data=``).

    Example (on a generated Broden; tests/viz/test_dissection_report.py opens it in Chromium)::

        root = make_synthetic_broden("/tmp/b", 32, size=64)
        r = dissect(planted_concept_model(root), ["units"], root, quantile=0.5)
        write_report(r, "/tmp/b-report")          # /tmp/b-report/index.html
    """
    top = result.top_images
    if top is None:
        raise ValueError(NO_TOP_IMAGES)
    k = top.k if k is None else k
    if not 1 <= k <= top.k:
        raise ValueError(f"k must be between 1 and the {top.k} top images kept, got {k}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = Path(data if data is not None else result.meta.get("data", "")) / "images"
    _check_images(images, top.files)
    if image_px is None and top.files:
        with Image.open(images / top.files[0]) as first:
            image_px = min(IMAGE_PX, first.height)
    thumbs = _thumbnails(images, top.files, image_px or IMAGE_PX)
    stems = page_names(result.layers)
    facts = {layer: _Facts(result, layer, threshold) for layer in result.layers}
    dimmed = dim_pixels(thumbs, DIM)
    # two threads draw, encode and write chunks at once (numpy and PIL release the GIL)
    with ThreadPoolExecutor(min(2, os.cpu_count() or 1)) as pool:
        for layer, stem in stems.items():
            _write_strips(pool, folder, stem, thumbs, dimmed, top.image[layer][:, :k],
                          top.maps[layer][:, :k], result.thresholds[layer], chunk)  # fmt: skip
            _write_layer(result, layer, stem, stems, facts, folder, k, threshold, runners_up)
    index = _index_page(result, stems, facts, threshold)
    return atomic_write_text(folder / filenames.REPORT_INDEX, index)


def _write_strips(pool, folder, stem, thumbs, dimmed, index, maps, thresholds, chunk) -> None:
    """Draw, encode and write the strips of one layer, ``chunk`` units a task of ``pool``."""

    def work(start: int, stop: int) -> None:
        drawn = strips(thumbs, maps[start:stop], thresholds[start:stop],
                       which=index[start:stop].numpy(), dimmed=dimmed)  # fmt: skip
        for unit, pixels in enumerate(drawn, start):
            name = filenames.REPORT_STRIP.format(layer=stem, unit=unit)
            (folder / name).write_bytes(jpeg_bytes(pixels, quality=85))

    n = index.shape[0]
    tasks = [pool.submit(work, start, min(start + chunk, n)) for start in range(0, n, chunk)]
    for task in tasks:
        task.result()


def _write_layer(result, layer, stem, stems, facts, folder, k, threshold, runners_up) -> None:
    """A layer's chart and page."""
    save_figure(plot_category_bars(result, layer, threshold),
                folder / filenames.REPORT_CHART.format(layer=stem), dpi=100)  # fmt: skip
    page = _layer_page(result, layer, stem, stems, facts[layer], k, threshold, runners_up)
    atomic_write_text(folder / filenames.REPORT_PAGE.format(layer=stem), page)


class ReportLink:
    """A link to a report's ``index.html`` for a notebook's output, relative to ``start`` (the
    notebook's folder, its working directory), so the saved notebook names no folder of the
    machine. Shown as HTML or Markdown by Jupyter, as text elsewhere.

    Example:
        >>> ReportLink("/r/runs/q/report/index.html", "the report", start="/r/notebooks").href
        '../runs/q/report/index.html'
    """

    def __init__(self, path: str | os.PathLike, text: str, start: str | None = None) -> None:
        rel = os.path.relpath(Path(path).resolve() if start is None else path, start or os.curdir)
        self.href, self.text = urllib.parse.quote(Path(rel).as_posix()), text

    def _repr_html_(self) -> str:
        return f'<a href="{self.href}" target="_blank">{html.escape(self.text)}</a>'

    def _repr_markdown_(self) -> str:
        return f"[{self.text}]({self.href})"

    def __repr__(self) -> str:
        return f"{self.text}: {self.href}"
