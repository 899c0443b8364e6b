"""A Broden folder as a PyTorch dataset: images with their pixel and whole-image concept labels.

Example (on a generated Broden; the real one is ``BrodenDataset("data/broden1_224")``)
-------
>>> from skdlib.data import make_synthetic_broden
>>> root = make_synthetic_broden("/tmp/skd-doc/b6", 8, size=64, progress=False)
>>> ds = BrodenDataset(root, categories=["object", "part"])
>>> sample = ds[0]
>>> sample["image"].shape, sample["pixel_labels"].shape     # 4 label layers on this image
(torch.Size([3, 64, 64]), torch.Size([4, 32, 32]))

The on-disk format is described in :mod:`skdlib.dissect.broden_format`. The real data set
(~1 GB) is at :data:`~skdlib.dissect.broden_format.BRODEN_URL`; ``python -m skdlib
download-broden --dest data`` fetches and unpacks it. Offline,
:func:`skdlib.data.make_synthetic_broden` writes a generated stand-in in exactly this format.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.normalise import IMAGENET_MEAN, IMAGENET_STD, normalise_uint8
from .broden_format import (
    BRODEN_FOLDER,
    HELPER_COMMAND,
    BrodenFormatError,
    BrodenLabel,
    BrodenRecord,
    decode_segmentation,
    load_rgb,
    missing_folder_message,
    read_categories,
    read_index,
    read_labels,
)

__all__ = [
    "BrodenDataset",
    "BrodenImages",
    "collate_broden",
    "check_broden_layout",
    "missing_image_files",
    "IncompleteBrodenError",
]


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
        index_records: every row of ``index.csv``, also those without labels (what
            :func:`check_broden_layout` checks the files of).
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
            raise FileNotFoundError(missing_folder_message(self.root, index_path))
        all_categories = read_categories(self.root)
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
        self.labels: list[BrodenLabel] = read_labels(self.root, self.categories, all_categories)
        self._by_number = {lab.number: lab for lab in self.labels}
        self.concepts = [lab for lab in self.labels if lab.category]
        #: one more than the largest label number: the size of dense label-indexed arrays.
        self.label_space = max(self._by_number) + 1
        every = read_index(self.root, self.categories, self._by_number)
        self.index_records: list[BrodenRecord] = every
        self.records: list[BrodenRecord] = [
            r for r in every if (split is None or r.split == split) and r.has_labels()
        ]
        if split is not None and not self.records:
            splits = sorted({r.split for r in every})
            raise ValueError(
                f"no image of {index_path} has split {split!r} and labels in {self.categories}; "
                f"splits present: {splits}"
            )

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
            rgb = load_rgb(path)
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

    def reading(self, image: bool = True, labels: bool = True) -> BrodenDataset:
        """This data set, decoding only what a pass needs: its items then hold an empty
        ``"image"`` ``(3, 0, 0)`` when ``image=False`` and no label layers or numbers when
        ``labels=False`` (dissection's first pass needs no labels, its second no images once the
        activations are cached).

        Example:
            >>> from skdlib.data import make_synthetic_broden
            >>> ds = BrodenDataset(make_synthetic_broden("/tmp/skd-doc/b7", 4, size=32))
            >>> item = ds.reading(labels=False)[0]
            >>> tuple(item["image"].shape), tuple(item["pixel_labels"].shape)
            ((3, 32, 32), (0, 16, 16))
        """
        view = copy.copy(self)
        view._read = (image, labels)
        return view

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        i = i % len(self)
        record = self.records[i]
        read_image, read_labels = getattr(self, "_read", (True, True))
        if read_image:
            image = torch.from_numpy(np.ascontiguousarray(self.load_image(i))).permute(2, 0, 1)
        else:
            image = torch.zeros((3, 0, 0), dtype=torch.uint8)
        if read_labels:
            layers, whole = self.load_labels(i)
        else:
            layers, whole = np.zeros((0, record.sh, record.sw), dtype=np.int32), []
        return {
            "image": image,
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
        >>> from torch.utils.data import DataLoader
        >>> from skdlib.data import make_synthetic_broden
        >>> ds = BrodenDataset(make_synthetic_broden("/tmp/skd-doc/b6", 8, size=64, progress=False))
        >>> batch = next(iter(DataLoader(ds, batch_size=4, collate_fn=collate_broden)))
        >>> batch["image"].shape, batch["pixel_labels"].shape[-2:]
        (torch.Size([4, 3, 64, 64]), torch.Size([32, 32]))
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
    """The images of a :class:`BrodenDataset` alone, normalised: for
    :class:`~skdlib.embedding.EmbeddingTrainer`.

    ``dataset[i]`` is a float tensor ``(3, ih, iw)``: ``(rgb / 255 - mean) / std`` with the
    model's normalisation (default ImageNet's, as torchvision models expect).

    Example:
        >>> from skdlib.data import make_synthetic_broden
        >>> root = make_synthetic_broden("/tmp/skd-doc/b6", 8, size=64, progress=False)
        >>> images = BrodenImages(BrodenDataset(root))
        >>> images[0].shape, images[0].dtype
        (torch.Size([3, 64, 64]), torch.float32)
    """

    def __init__(
        self,
        broden: BrodenDataset,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        self.broden = broden
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.broden)

    def __getitem__(self, i: int) -> torch.Tensor:
        rgb = torch.from_numpy(np.ascontiguousarray(self.broden.load_image(i)))
        return normalise_uint8(rgb.permute(2, 0, 1), self.mean, self.std)


def _file_names(folder: Path) -> frozenset[str]:
    """Names in ``folder`` (one directory listing, no file opened); empty if it does not exist."""
    try:
        return frozenset(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


def missing_image_files(
    root: str | os.PathLike, records: Iterable[BrodenRecord]
) -> tuple[list[tuple[str, int]], int]:
    """The files that ``records`` name (image and every segmentation PNG) but ``images/`` lacks.

    Cheap: each sub-folder of ``images/`` is listed once; no file is opened or stat-ed (~0.5 s for
    a Broden-sized folder of 63k images and 230k PNGs).

    Returns:
        ``(missing, total)``: ``[(path relative to images/, index.csv line), ...]`` in index order,
        and how many file references were checked.

    Example:
        >>> from skdlib.data import make_synthetic_broden
        >>> root = make_synthetic_broden("/tmp/skd-doc/b6", 8, size=64, progress=False)
        >>> missing, total = missing_image_files(root, BrodenDataset(root).index_records)
        >>> missing, total > 8
        ([], True)
    """
    images = Path(root) / "images"
    listings: dict[str, frozenset[str]] = {}
    missing: list[tuple[str, int]] = []
    total = 0
    for record in records:
        for rel in (record.image, *(p for paths in record.pixel.values() for p in paths)):
            total += 1
            folder, _, name = rel.rpartition("/")
            names = listings.get(folder)
            if names is None:
                names = listings[folder] = _file_names(images / folder)
            if name not in names:
                missing.append((rel, record.line))
    return missing, total


class IncompleteBrodenError(FileNotFoundError):
    """Files named in ``index.csv`` are missing from ``images/`` (e.g. after an interrupted unzip).

    Attributes:
        root: the Broden folder.
        missing: ``[(path relative to images/, index.csv line), ...]``.
        total: how many file references ``index.csv`` holds.
        summary: the finding alone, without the advice (for callers that give their own).
    """

    def __init__(self, root: Path, missing: list[tuple[str, int]], total: int) -> None:
        self.root, self.missing, self.total = root, missing, total
        shown = ", ".join(f"{rel} (line {line})" for rel, line in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        self.summary = (
            f"{len(missing)} of the {total} image and segmentation files named in "
            f"{root / 'index.csv'} are missing from {root / 'images'}: {shown}{more}"
        )
        again = HELPER_COMMAND.format(dest=root.parent if root.name == BRODEN_FOLDER else root)
        super().__init__(
            f"the Broden folder {root} is incomplete: {self.summary}. An interrupted unzip leaves "
            f"such a folder. Delete {root} and run `{again}` again (for a generated set: generate "
            "it again)"
        )


def check_broden_layout(root: str | os.PathLike, sample: int = 3) -> Path:
    """Check that ``root`` is a complete, readable Broden folder; returns it.

    Reads the four kinds of CSV files (every ``c_<cat>.csv`` of ``category.csv``), checks that
    ``images/`` holds EVERY file ``index.csv`` names (each image and segmentation PNG, by listing
    the folders: :func:`missing_image_files`) and decodes the first ``sample`` images with their
    labels. Raises :class:`IncompleteBrodenError` (a ``FileNotFoundError``: how many files are
    missing, the first few with their ``index.csv`` lines, and what to do); other problems raise
    ``FileNotFoundError`` / :class:`BrodenFormatError` naming the first one.

    Example:
        >>> from skdlib.data import make_synthetic_broden
        >>> root = make_synthetic_broden("/tmp/skd-doc/b6", 8, size=64, progress=False)
        >>> check_broden_layout(root)
        PosixPath('/tmp/skd-doc/b6')
    """
    root = Path(root)
    ds = BrodenDataset(root)
    if not (root / "images").is_dir():
        raise FileNotFoundError(f"{root / 'images'} is missing: the Broden folder is incomplete")
    missing, total = missing_image_files(root, ds.index_records)
    if missing:
        raise IncompleteBrodenError(root, missing, total)
    for i in range(min(sample, len(ds))):
        ds[i]
    return root
