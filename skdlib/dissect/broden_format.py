"""The files of a Broden folder (Bau et al. 2017), read and checked: tables, index rows, images.

Layout of a Broden folder (``docs/method.md`` §5)::

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
``c_<cat>.csv``), as in NetDissect-Lite; ties go to the larger count in ``label.csv``, then to the
category listed first in ``category.csv`` (Lite takes the one listed last). The *concepts* of a
data set are the labels whose primary category is one of the selected categories.

Every reader here names the file and line at fault; :class:`skdlib.dissect.BrodenDataset` puts
them together.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "BRODEN_URL",
    "BRODEN_FOLDER",
    "META_COLUMNS",
    "HELPER_COMMAND",
    "BrodenFormatError",
    "BrodenLabel",
    "BrodenRecord",
    "missing_folder_message",
    "read_categories",
    "read_labels",
    "read_index",
    "decode_segmentation",
    "load_rgb",
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


def missing_folder_message(root: Path, what: Path) -> str:
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
            raise FileNotFoundError(missing_folder_message(root, path))
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


def read_categories(root: Path) -> list[str]:
    """The category names of ``category.csv``, in its order."""
    path = root / "category.csv"
    names = []
    for line, row in _open_csv(path, root, _CATEGORY_COLUMNS):
        if not row["name"]:
            raise BrodenFormatError(f"{path} line {line}: empty category name")
        names.append(row["name"])
    if not names:
        raise BrodenFormatError(f"{path}: no categories listed")
    return names


def _read_label_rows(root: Path) -> tuple[list[tuple[int, str, dict[str, int], int, float]], dict]:
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


def read_labels(
    root: Path, categories: Sequence[str], known: Sequence[str] | None = None
) -> list[BrodenLabel]:
    """Every label of ``label.csv``, sorted by number, with its primary category among
    ``categories`` (``""`` if it belongs to none of them); see the module docstring.

    ``known`` (the names of ``category.csv``): a label placed in a category outside it is an
    error naming the line, instead of a concept that silently disappears.
    """
    rows, lines = _read_label_rows(root)
    if known is not None:
        for number, name, cats, _, _ in rows:
            stray = [c for c in cats if c not in known]
            if stray:
                raise BrodenFormatError(
                    f"{root / 'label.csv'} line {lines[number]}: label {number} ({name!r}) is in "
                    f"categor{'y' if len(stray) == 1 else 'ies'} {stray}, which category.csv does "
                    f"not list (it lists {list(known)}); correct the name in label.csv or add "
                    "the category to category.csv"
                )
    numbers = {r[0] for r in rows}
    coverage = {c: _read_coverage(root, c, numbers) for c in categories}
    order = {c: i for i, c in enumerate(categories)}
    labels = []
    for number, name, cats, freq, cov in rows:
        chosen = [c for c in cats if c in order]
        primary = ""
        if chosen:
            primary = max(chosen, key=lambda c: (coverage[c].get(number, 0.0), cats[c], -order[c]))
        labels.append(BrodenLabel(number, name, primary, cats, freq, cov))
    return sorted(labels, key=lambda lab: lab.number)


def read_index(
    root: Path, categories: Sequence[str], labels: Mapping[int, BrodenLabel]
) -> list[BrodenRecord]:
    """Every row of ``index.csv`` as a :class:`BrodenRecord` holding the cells of ``categories``.

    ``labels`` maps the numbers ``label.csv`` defines; a whole-image number outside it, an item
    that is neither a number nor a ``.png`` path, or a malformed size is an error naming the line.
    """
    path = root / "index.csv"
    records = []
    required = META_COLUMNS + tuple(categories)
    for line, row in _open_csv(path, root, required):
        ints = {c: _as_int(row[c], path, line, c, minimum=1) for c in META_COLUMNS[2:]}
        if not row["image"]:
            raise BrodenFormatError(f"{path} line {line}: empty 'image' cell")
        pixel: dict[str, tuple[str, ...]] = {}
        whole: dict[str, tuple[int, ...]] = {}
        for cat in categories:
            paths, numbers = [], []
            for item in (s.strip() for s in row[cat].split(";")):
                if not item:
                    continue
                if _INT.match(item):
                    number = int(item)
                    if number not in labels:
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
        records.append(
            BrodenRecord(row["image"], row["split"], line=line, pixel=pixel, whole=whole, **ints)
        )
    return records


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


def load_rgb(path: Path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB; errors name the file."""
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
