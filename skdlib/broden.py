"""Reader for the Broden data set (Bau et al. 2017) in its on-disk format, as ``broden1_224``.

Layout of a Broden folder (``METHOD.md`` §5)::

    broden1_224/
      index.csv       image,split,ih,iw,sh,sw,<one column per category>
      label.csv       number,name,category,frequency,coverage,syns
      category.csv    name,first,last,count,frequency
      c_<cat>.csv     code,number,name,frequency,coverage   (per-category dense codes)
      images/         the images and the segmentation PNGs, paths relative to this folder

A category cell of ``index.csv`` is empty, or a ``;``-separated list whose items are either
integers (whole-image labels such as scene and texture: the label covers the whole image) or
PNG paths (pixel labels; a cell may hold several layers, e.g. overlapping parts, and all of them
are used). A segmentation PNG stores the label of each pixel as ``R + 256·G`` (computed in int;
0 = unlabelled). All label values are the *unified* numbers of ``label.csv``, never the
per-category codes of ``c_<cat>.csv``.

A label may belong to several categories (``label.csv`` writes ``object(12);part(3)``). Its
*primary* category is the selected category in which it has the largest coverage (from
``c_<cat>.csv``; ties: the larger count in ``label.csv``, then the category listed first in
``category.csv``), as in NetDissect-Lite. The *concepts* of a data set are the labels whose primary
category is one of the selected categories.

Example
-------
>>> ds = BrodenDataset("data/broden1_224", categories=["object", "part"])   # doctest: +SKIP
>>> sample = ds[0]                                                         # doctest: +SKIP
>>> sample["image"].shape, sample["pixel_labels"].shape                   # doctest: +SKIP
(torch.Size([3, 224, 224]), torch.Size([3, 112, 112]))

The real data set (~1 GB) is at :data:`BRODEN_URL`; ``python -m skdlib download-broden --dest
data`` fetches and unpacks it. Offline, :func:`skdlib.data.make_synthetic_broden`
writes a generated stand-in in exactly this format.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from .download import download_and_extract

__all__ = [
    "BRODEN_URL",
    "BRODEN_FOLDER",
    "META_COLUMNS",
    "BrodenFormatError",
    "BrodenLabel",
    "BrodenRecord",
    "BrodenDataset",
    "BrodenImages",
    "collate_broden",
    "decode_segmentation",
    "check_broden_layout",
    "download_broden",
]

#: Where broden1_224 is published (NetDissect). The host has been down before.
BRODEN_URL = "http://netdissect.csail.mit.edu/data/broden1_224.zip"
#: The folder the zip unpacks to.
BRODEN_FOLDER = "broden1_224"
#: The columns of ``index.csv`` that precede the category columns.
META_COLUMNS = ("image", "split", "ih", "iw", "sh", "sw")
_CATEGORY_COLUMNS = ("name", "first", "last", "count", "frequency")
_LABEL_COLUMNS = ("number", "name", "category")
_CODE_COLUMNS = ("code", "number", "name", "frequency", "coverage")
_CATEGORY_ITEM = re.compile(r"^\s*([^()]+?)\s*\(\s*(\d*)\s*\)\s*$")
_INT = re.compile(r"^\d+$")
HELPER_COMMAND = "python -m skdlib download-broden --dest {dest}"


class BrodenFormatError(ValueError):
    """A Broden file that exists but does not follow the format; the message names file and line."""


@dataclass(frozen=True)
class BrodenLabel:
    """One row of ``label.csv``.

    Attributes:
        number: the unified label number (what segmentation PNGs and whole-image cells hold).
        name: English name.
        category: primary category among the selected ones (``""`` if none is selected).
        categories: ``{category: count}`` as written in ``label.csv``.
        frequency: number of images with the label (``label.csv``; 0 when blank).
        coverage: pixel portion in units of whole images (``label.csv``; 0 when blank).
    """

    number: int
    name: str
    category: str
    categories: dict[str, int]
    frequency: int = 0
    coverage: float = 0.0


@dataclass(frozen=True)
class BrodenRecord:
    """One row of ``index.csv``: the image, its sizes and the selected categories' cells.

    ``pixel`` maps a category to its PNG layers (paths relative to ``images/``), ``whole`` to its
    whole-image label numbers; ``line`` is the row's line number in ``index.csv``.
    """

    image: str
    split: str
    ih: int
    iw: int
    sh: int
    sw: int
    pixel: dict[str, tuple[str, ...]] = field(default_factory=dict)
    whole: dict[str, tuple[int, ...]] = field(default_factory=dict)
    line: int = 0

    def has_labels(self) -> bool:
        """True when any selected category cell is non-empty."""
        return any(self.pixel.values()) or any(self.whole.values())


def _missing_folder_message(root: Path, what: Path) -> str:
    dest = root.parent if root.name == BRODEN_FOLDER else root
    where = (
        f"the folder exists but has no {what.name}"
        if root.is_dir()
        else "the folder does not exist"
    )
    return (
        f"Broden data set not found: looked for {what} ({where}). Download {BRODEN_FOLDER} "
        f"(~1 GB) from {BRODEN_URL} and unzip it into {dest}/ (it unpacks to "
        f"{dest / BRODEN_FOLDER}/), or run the helper command `{HELPER_COMMAND.format(dest=dest)}`."
        " Offline, generate a stand-in in the same format with "
        "skdlib.data.make_synthetic_broden(root, n_images)."
    )


def _open_csv(path: Path, root: Path, required: Sequence[str]):
    """Yield ``(line_number, row)`` of a CSV file after checking its header has ``required``."""
    if not path.is_file():
        if path.name == "index.csv":
            raise FileNotFoundError(_missing_folder_message(root, path))
        raise FileNotFoundError(
            f"{path} is missing: the Broden folder {root} is incomplete. Download it again from "
            f"{BRODEN_URL} (or `{HELPER_COMMAND.format(dest=root.parent)}`)."
        )
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise BrodenFormatError(f"{path} line 1: the file is empty (expected a header row)")
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise BrodenFormatError(
                f"{path} line 1: header {header} lacks the column(s) {missing}; expected "
                f"{', '.join(required)}"
            )
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise BrodenFormatError(
                    f"{path} line {reader.line_num}: expected {len(header)} fields "
                    f"({','.join(header)}), found {len(row)}: {row}"
                )
            yield reader.line_num, dict(zip(header, (v.strip() for v in row), strict=True))


def _as_int(value: str, path: Path, line: int, column: str, minimum: int = 0) -> int:
    if not _INT.match(value) or int(value) < minimum:
        raise BrodenFormatError(
            f"{path} line {line}: column {column!r} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def _as_float(value: str, path: Path, line: int, column: str) -> float:
    if value == "":
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise BrodenFormatError(
            f"{path} line {line}: column {column!r} must be a number, got {value!r}"
        ) from None


def _read_categories(root: Path) -> list[str]:
    path = root / "category.csv"
    names = []
    for line, row in _open_csv(path, root, _CATEGORY_COLUMNS):
        if not row["name"]:
            raise BrodenFormatError(f"{path} line {line}: empty category name")
        names.append(row["name"])
    if not names:
        raise BrodenFormatError(f"{path}: no categories listed")
    return names


def _read_labels(root: Path) -> tuple[list[tuple[int, str, dict[str, int], int, float]], dict]:
    """Rows of label.csv as (number, name, {cat: count}, frequency, coverage); and their lines."""
    path = root / "label.csv"
    rows, lines = [], {}
    for line, row in _open_csv(path, root, _LABEL_COLUMNS):
        number = _as_int(row["number"], path, line, "number")
        if number == 0:
            continue  # an explicit "unlabelled" row
        if number in lines:
            raise BrodenFormatError(
                f"{path} line {line}: label number {number} already defined on line {lines[number]}"
            )
        cats: dict[str, int] = {}
        for item in filter(None, row["category"].split(";")):
            match = _CATEGORY_ITEM.match(item)
            if match is None:
                raise BrodenFormatError(
                    f"{path} line {line}: category field {row['category']!r} is not of the form "
                    "'name(count);name(count)'"
                )
            cats[match.group(1)] = int(match.group(2) or 0)
        frequency = row.get("frequency", "")
        rows.append(
            (
                number,
                row["name"],
                cats,
                _as_int(frequency, path, line, "frequency") if frequency else 0,
                _as_float(row.get("coverage", ""), path, line, "coverage"),
            )
        )
        lines[number] = line
    if not rows:
        raise BrodenFormatError(f"{path}: no labels listed")
    return rows, lines


def _read_coverage(root: Path, category: str, numbers: set[int]) -> dict[int, float]:
    """``{unified number: coverage}`` of ``c_<category>.csv``."""
    path = root / f"c_{category}.csv"
    out = {}
    for line, row in _open_csv(path, root, _CODE_COLUMNS):
        _as_int(row["code"], path, line, "code")
        number = _as_int(row["number"], path, line, "number")
        if number == 0:
            continue
        if number not in numbers:
            raise BrodenFormatError(
                f"{path} line {line}: label number {number} is not in label.csv"
            )
        out[number] = _as_float(row["coverage"], path, line, "coverage")
    return out


def decode_segmentation(path: str | os.PathLike) -> np.ndarray:
    """Label map of a Broden segmentation PNG: ``R + 256·G`` as int32, 0 = unlabelled.

    Args:
        path: an RGB(A) PNG (palette images are converted to RGB first).

    Returns:
        ``(H, W)`` int32 array of unified label numbers.

    Raises ``FileNotFoundError`` / :class:`BrodenFormatError` naming the file when it is missing,
    cannot be decoded, or is not an RGB image (a grayscale PNG cannot hold ``R + 256·G``).

    Example:
        >>> import tempfile
        >>> rgb = np.zeros((2, 2, 3), np.uint8); rgb[0, 0] = (44, 1, 0)   # 44 + 256 = 300
        >>> p = Path(tempfile.mkdtemp()) / "seg.png"; Image.fromarray(rgb).save(p)
        >>> int(decode_segmentation(p)[0, 0])
        300
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"segmentation image {path} is missing")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode == "P":
                img = img.convert("RGB")
            if img.mode not in ("RGB", "RGBA"):
                raise BrodenFormatError(
                    f"segmentation image {path} has mode {img.mode}; Broden segmentations are RGB "
                    "PNGs with label = R + 256*G"
                )
            rgb = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BrodenFormatError(
            f"cannot decode segmentation image {path} ({exc}); the file is damaged: download or "
            "generate the data set again"
        ) from exc
    return rgb[:, :, 0].astype(np.int32) + 256 * rgb[:, :, 1].astype(np.int32)


def _load_rgb(path: Path) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"image {path} is missing")
    try:
        with Image.open(path) as img:
            return np.array(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BrodenFormatError(
            f"cannot decode image {path} ({exc}); the file is damaged: download or generate the "
            "data set again"
        ) from exc


class BrodenDataset(Dataset):
    """A Broden folder as a map-style dataset of images with their concept labels.

    Args:
        root: the folder holding ``index.csv`` (e.g. ``data/broden1_224``).
        categories: categories to read (default: all of ``category.csv``, in its order). Only
            these columns are decoded, and only images with a non-empty cell in at least one of
            them are kept (as NetDissect-Lite does).
        split: ``"train"``, ``"val"`` (Broden's values) or ``None`` for every image.

    ``dataset[i]`` is a dict:

    * ``"image"``: ``(3, ih, iw)`` uint8 RGB tensor (no normalisation: the model's own is applied
      by whoever runs the model, see :func:`skdlib.dissect.dissect` and :class:`BrodenImages`);
    * ``"pixel_labels"``: ``(D, sh, sw)`` int32 tensor, every PNG layer of every selected pixel
      category stacked (``D`` may be 0), unified label numbers, 0 = unlabelled;
    * ``"image_labels"``: ``(E,)`` int64 tensor of whole-image label numbers (scene, texture);
    * ``"index"``, ``"path"``, ``"seg_size"``: position, image path, ``(sh, sw)``.

    Use :func:`collate_broden` to batch them (it pads layers with 0). Missing or damaged image and
    PNG files raise errors that name the file; a malformed CSV row names its file and line. A PNG
    value above the largest number of ``label.csv`` is an error; a value inside its range that
    ``label.csv`` skips belongs to no concept and is ignored (as in NetDissect-Lite).

    Attributes:
        labels: every :class:`BrodenLabel` of ``label.csv`` (with its primary category).
        concepts: the labels whose primary category is selected, sorted by number.
        categories: the selected categories.
        records: the kept :class:`BrodenRecord` rows.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        categories: Sequence[str] | None = None,
        split: str | None = None,
    ) -> None:
        self.root = Path(root).expanduser()
        index_path = self.root / "index.csv"
        if not index_path.is_file():
            raise FileNotFoundError(_missing_folder_message(self.root, index_path))
        all_categories = _read_categories(self.root)
        if categories is None:
            categories = all_categories
        elif isinstance(categories, str):
            categories = [categories]
        unknown = [c for c in categories if c not in all_categories]
        if unknown:
            raise ValueError(
                f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {unknown} for "
                f"{self.root}; category.csv lists {all_categories}"
            )
        if not categories:
            raise ValueError("select at least one category")
        self.categories = [c for c in all_categories if c in categories]
        self.split = split
        self._read_label_table()
        self.records = self._read_index(index_path)
        if split is not None and not self.records:
            splits = sorted({r.split for r in self._all_records})
            raise ValueError(
                f"no image of {index_path} has split {split!r} and labels in {self.categories}; "
                f"splits present: {splits}"
            )

    # -- tables ---------------------------------------------------------------------------------
    def _read_label_table(self) -> None:
        rows, _ = _read_labels(self.root)
        numbers = {r[0] for r in rows}
        coverage = {c: _read_coverage(self.root, c, numbers) for c in self.categories}
        order = {c: i for i, c in enumerate(self.categories)}
        labels = []
        for number, name, cats, freq, cov in rows:
            chosen = [c for c in cats if c in order]
            primary = ""
            if chosen:
                primary = max(
                    chosen, key=lambda c: (coverage[c].get(number, 0.0), cats[c], -order[c])
                )
            labels.append(BrodenLabel(number, name, primary, cats, freq, cov))
        self.labels = sorted(labels, key=lambda lab: lab.number)
        self._by_number = {lab.number: lab for lab in self.labels}
        self.concepts = [lab for lab in self.labels if lab.category]
        #: one more than the largest label number: the size of dense label-indexed arrays.
        self.label_space = max(self._by_number) + 1

    def _read_index(self, path: Path) -> list[BrodenRecord]:
        records, all_records = [], []
        required = META_COLUMNS + tuple(self.categories)
        for line, row in _open_csv(path, self.root, required):
            ints = {c: _as_int(row[c], path, line, c, minimum=1) for c in META_COLUMNS[2:]}
            if not row["image"]:
                raise BrodenFormatError(f"{path} line {line}: empty 'image' cell")
            pixel: dict[str, tuple[str, ...]] = {}
            whole: dict[str, tuple[int, ...]] = {}
            for cat in self.categories:
                paths, numbers = [], []
                for item in (s.strip() for s in row[cat].split(";")):
                    if not item:
                        continue
                    if _INT.match(item):
                        number = int(item)
                        if number not in self._by_number:
                            raise BrodenFormatError(
                                f"{path} line {line}: column {cat!r} names label {number}, "
                                "which label.csv does not define"
                            )
                        numbers.append(number)
                    elif item.lower().endswith(".png"):
                        paths.append(item)
                    else:
                        raise BrodenFormatError(
                            f"{path} line {line}: column {cat!r} item {item!r} is neither a label "
                            "number nor a .png path"
                        )
                pixel[cat] = tuple(paths)
                whole[cat] = tuple(numbers)
            record = BrodenRecord(row["image"], row["split"], line=line, pixel=pixel, whole=whole,
                                  **ints)  # fmt: skip
            all_records.append(record)
            if (self.split is None or record.split == self.split) and record.has_labels():
                records.append(record)
        self._all_records = all_records
        return records

    # -- lookups --------------------------------------------------------------------------------
    def label(self, number: int) -> BrodenLabel:
        """The :class:`BrodenLabel` of a unified number (``KeyError`` if unknown)."""
        try:
            return self._by_number[int(number)]
        except KeyError:
            raise KeyError(f"label number {number} is not in {self.root / 'label.csv'}") from None

    def category_lut(self) -> torch.Tensor:
        """``(label_space,)`` int64: index into :attr:`categories` of each number's primary
        category, ``-1`` for 0 (unlabelled) and for labels of no selected category.

        Example: ``ds.category_lut()[pixel_labels.long()]`` maps a label map to categories.
        """
        lut = torch.full((self.label_space,), -1, dtype=torch.int64)
        order = {c: i for i, c in enumerate(self.categories)}
        for lab in self.concepts:
            lut[lab.number] = order[lab.category]
        return lut

    def image_path(self, i: int) -> Path:
        """Absolute path of image ``i``."""
        return self.root / "images" / self.records[i].image

    # -- items ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    def load_image(self, i: int) -> np.ndarray:
        """Image ``i`` as ``(ih, iw, 3)`` uint8 RGB (size checked against ``index.csv``)."""
        record = self.records[i]
        path = self.image_path(i)
        try:
            rgb = _load_rgb(path)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"image {path} (listed on line {record.line} of {self.root / 'index.csv'}) is "
                "missing: the data set is incomplete; download or generate it again"
            ) from None
        if rgb.shape[:2] != (record.ih, record.iw):
            raise BrodenFormatError(
                f"image {path} is {rgb.shape[1]}x{rgb.shape[0]} (w x h) but line {record.line} "
                f"of {self.root / 'index.csv'} says {record.iw}x{record.ih}"
            )
        return rgb

    def load_labels(self, i: int) -> tuple[np.ndarray, list[int]]:
        """Labels of image ``i``: ``(D, sh, sw)`` int32 pixel layers and whole-image numbers."""
        record = self.records[i]
        layers = []
        for cat in self.categories:
            for rel in record.pixel[cat]:
                path = self.root / "images" / rel
                try:
                    seg = decode_segmentation(path)
                except FileNotFoundError:
                    raise FileNotFoundError(
                        f"segmentation image {path} (column {cat!r}, line {record.line} of "
                        f"{self.root / 'index.csv'}) is missing"
                    ) from None
                if seg.shape != (record.sh, record.sw):
                    raise BrodenFormatError(
                        f"segmentation {path} is {seg.shape[1]}x{seg.shape[0]} but line "
                        f"{record.line} of {self.root / 'index.csv'} says {record.sw}x{record.sh}"
                    )
                if int(seg.max()) >= self.label_space:
                    bad = np.unique(seg[seg >= self.label_space]).tolist()
                    raise BrodenFormatError(
                        f"segmentation {path} holds label number(s) {bad[:5]} beyond the "
                        f"largest number of {self.root / 'label.csv'} ({self.label_space - 1})"
                    )
                layers.append(seg)
        stack = np.stack(layers) if layers else np.zeros((0, record.sh, record.sw), dtype=np.int32)
        whole = [n for cat in self.categories for n in record.whole[cat]]
        return stack, whole

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        i = i % len(self)
        rgb = self.load_image(i)
        layers, whole = self.load_labels(i)
        record = self.records[i]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1),
            "pixel_labels": torch.from_numpy(layers),
            "image_labels": torch.tensor(whole, dtype=torch.int64),
            "index": i,
            "path": str(self.image_path(i)),
            "seg_size": (record.sh, record.sw),
        }

    def __repr__(self) -> str:
        return (
            f"BrodenDataset({str(self.root)!r}, categories={self.categories}, "
            f"split={self.split!r}): {len(self)} images, {len(self.concepts)} concepts"
        )


def collate_broden(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch :class:`BrodenDataset` items, padding label layers with 0 (= unlabelled).

    Returns a dict with ``"image"`` ``(B, 3, ih, iw)`` uint8, ``"pixel_labels"``
    ``(B, D_max, sh, sw)`` int32, ``"image_labels"`` ``(B, E_max)`` int64, ``"index"`` ``(B,)``
    and ``"path"`` (list). Images or segmentations of different sizes raise a ``ValueError``
    naming two of the files.

    Example:
        >>> loader = DataLoader(ds, batch_size=32, collate_fn=collate_broden)  # doctest: +SKIP
    """
    if not samples:
        raise ValueError("cannot collate an empty batch")
    first = samples[0]
    for s in samples[1:]:
        if s["image"].shape != first["image"].shape or s["seg_size"] != first["seg_size"]:
            raise ValueError(
                f"images of one batch must share their sizes: {first['path']} is "
                f"{tuple(first['image'].shape)} with labels {first['seg_size']}, {s['path']} is "
                f"{tuple(s['image'].shape)} with labels {s['seg_size']}; use batch_size=1"
            )
    b = len(samples)
    sh, sw = first["seg_size"]
    depth = max(s["pixel_labels"].shape[0] for s in samples)
    pixel = torch.zeros((b, depth, sh, sw), dtype=torch.int32)
    n_whole = max(s["image_labels"].numel() for s in samples)
    whole = torch.zeros((b, n_whole), dtype=torch.int64)
    for j, s in enumerate(samples):
        pixel[j, : s["pixel_labels"].shape[0]] = s["pixel_labels"]
        whole[j, : s["image_labels"].numel()] = s["image_labels"]
    return {
        "image": torch.stack([s["image"] for s in samples]),
        "pixel_labels": pixel,
        "image_labels": whole,
        "index": torch.tensor([s["index"] for s in samples], dtype=torch.int64),
        "path": [s["path"] for s in samples],
    }


class BrodenImages(Dataset):
    """The images of a :class:`BrodenDataset` alone, normalised: for :class:`EmbeddingTrainer`.

    ``dataset[i]`` is a float tensor ``(3, ih, iw)``: ``(rgb / 255 - mean) / std`` with the
    model's normalisation (default ImageNet's, as torchvision models expect).

    Example:
        >>> images = BrodenImages(BrodenDataset("data/broden1_224"))    # doctest: +SKIP
        >>> DataLoader(images, batch_size=64, shuffle=True)             # doctest: +SKIP
    """

    def __init__(
        self,
        broden: BrodenDataset,
        mean: Sequence[float] = (0.485, 0.456, 0.406),
        std: Sequence[float] = (0.229, 0.224, 0.225),
    ) -> None:
        self.broden = broden
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.broden)

    def __getitem__(self, i: int) -> torch.Tensor:
        rgb = torch.from_numpy(np.ascontiguousarray(self.broden.load_image(i)))
        return (rgb.permute(2, 0, 1).float() / 255.0 - self.mean) / self.std


def check_broden_layout(root: str | os.PathLike, sample: int = 3) -> Path:
    """Check that ``root`` is a readable Broden folder; returns it.

    Reads the four kinds of CSV files (every ``c_<cat>.csv`` of ``category.csv``), checks that
    ``images/`` exists and decodes the first ``sample`` images with their labels. Raises
    ``FileNotFoundError`` / :class:`BrodenFormatError` naming the first problem found.

    Example:
        >>> check_broden_layout("data/broden1_224")    # doctest: +SKIP
        PosixPath('data/broden1_224')
    """
    root = Path(root)
    ds = BrodenDataset(root)
    if not (root / "images").is_dir():
        raise FileNotFoundError(f"{root / 'images'} is missing: the Broden folder is incomplete")
    for i in range(min(sample, len(ds))):
        ds[i]
    return root


def download_broden(
    dest: str | os.PathLike = "data",
    url: str = BRODEN_URL,
    keep_archive: bool = False,
    progress: bool = True,
) -> Path:
    """Download ``broden1_224`` (~1 GB), unpack it into ``dest`` and verify the layout.

    Resumable: an interrupted download continues from its ``.part`` file on the next call; a
    folder that is already complete is verified and returned without downloading.

    Returns:
        ``dest/broden1_224``.

    Example:
        >>> download_broden("data")    # doctest: +SKIP
        PosixPath('data/broden1_224')
    """
    return download_and_extract(
        url,
        dest,
        folder=BRODEN_FOLDER,
        verify=check_broden_layout,
        keep_archive=keep_archive,
        progress=progress,
    )
