"""A generated Broden: :mod:`skdlib.data.scenes` written in Broden's on-disk format.

:func:`make_synthetic_broden` is the offline default data set of the tutorial and the test
fixture of :mod:`skdlib.dissect.broden`. It writes exactly the layout of ``broden1_224`` (see
``docs/method.md`` §5): ``index.csv``, ``label.csv``, ``category.csv``, ``c_<cat>.csv`` and
``images/synthetic/``, with the 52 concepts of :data:`skdlib.data.CONCEPTS`
(unified numbers 1..52):

=========  =======================  ======================================================
category   stored as                content
=========  =======================  ======================================================
color      one PNG layer            fill colour of each object (10 colours)
object     one PNG layer            silhouette of each object (10 shapes)
part       one PNG layer per object "<shape> rim" and "<shape> spot" (several layers per cell)
texture    whole-image number       background pattern (6)
scene      whole-image number       background layout (6)
=========  =======================  ======================================================

Image ``i`` is ``render_scene(np.random.default_rng([seed, i]), size)`` (the same scenes as
:class:`skdlib.data.SyntheticConceptImages`), stored as a JPEG (quality 95, no chroma
subsampling); labels are at ``size // 2`` as in Broden. So that readers meet empty cells, a fixed
pattern of images has no objects (``i % 13 == 6``: empty color/object/part cells), no texture
annotation (``i % 11 == 3``) or no scene annotation (``i % 7 == 5``); the texture and scene are
still drawn. The last ``val_fraction`` of the images form the ``val`` split.

The generated scenes are also the known answer behind :mod:`skdlib.data.planted`.

Example
-------
>>> root = make_synthetic_broden("/tmp/skd-doc/broden", n_images=8, size=64)
>>> sorted(p.name for p in root.iterdir())[:4]
['c_color.csv', 'c_object.csv', 'c_part.csv', 'c_scene.csv']
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from .. import filenames
from ..progress import tqdm
from ..staging import staging_folder
from .concepts import CATEGORIES, CONCEPTS, IMAGE_CATEGORIES
from .multisource import SOURCES, VOCABULARY, choose_source, render_multisource_scene
from .scenes import ConceptScene, render_scene

__all__ = [
    "SOURCE",
    "STATISTICS",
    "make_synthetic_broden",
    "synthetic_broden_scene",
    "image_digest",
]

#: Sub-folder of ``images/`` holding the generated files.
SOURCE = "synthetic"
PARAMS_FILE = "synthetic_broden.json"
JPEG_QUALITY = 95


def _annotated(index: int) -> dict[str, bool]:
    """Which categories image ``index`` carries (the fixed pattern of empty cells)."""
    has_objects = index % 13 != 6
    return {
        "color": has_objects,
        "object": has_objects,
        "part": has_objects,
        "texture": index % 11 != 3,
        "scene": index % 7 != 5,
    }


def synthetic_broden_scene(index: int, size: int = 224, seed: int = 0) -> tuple[ConceptScene, dict]:
    """The scene behind image ``index`` of a generated Broden, and which categories it annotates.

    Returns:
        ``(scene, annotated)``: the :class:`~skdlib.data.ConceptScene` (its labels are the
        truth, also for categories whose annotation is left out) and ``{category: bool}``.

    Example:
        >>> scene, annotated = synthetic_broden_scene(6, size=64)
        >>> len(scene.objects), annotated["object"]
        (0, False)
    """
    annotated = _annotated(index)
    n_objects = (1, 3) if annotated["object"] else (0, 0)
    scene = render_scene(np.random.default_rng([seed, index]), size=size, n_objects=n_objects)
    return scene, annotated


def _label_png(layer: np.ndarray) -> Image.Image:
    rgb = np.zeros(layer.shape + (3,), np.uint8)
    rgb[..., 0] = layer % 256
    rgb[..., 1] = layer // 256
    return Image.fromarray(rgb)


def image_digest(rgb: np.ndarray) -> str:
    """SHA-1 of an ``(H, W, 3)`` uint8 image's pixels (shape included): the planted model's key."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    return hashlib.sha1(repr(rgb.shape).encode() + rgb.tobytes()).hexdigest()


#: The two label statistics a generated Broden can have (``make_synthetic_broden(statistics=)``).
STATISTICS = ("simple", "broden")
#: ``index.csv``'s category columns of a multi-source set: the real broden1_224's order.
BRODEN_CATEGORIES = ("color", "object", "material", "part", "scene", "texture")


def _scenes(statistics: str, size: int, seed: int):
    """``(categories, vocabulary, scene_of)``: the category columns, every label number as
    ``(number, name, categories)``, and ``i -> (source folder, scene, annotated categories)``."""
    if statistics == "simple":
        vocabulary = [(c.number, c.name, (c.category,)) for c in CONCEPTS]

        def simple(i: int):
            scene, annotated = synthetic_broden_scene(i, size, seed)
            return SOURCE, scene, annotated

        return CATEGORIES, vocabulary, simple

    def multisource(i: int):
        rng = np.random.default_rng([seed, i])
        source = choose_source(rng)
        scene = render_multisource_scene(rng, source, size)
        annotated = {cat: cat in SOURCES[source][1] for cat in BRODEN_CATEGORIES}
        return source, scene, annotated

    return BRODEN_CATEGORIES, [tuple(c) for c in VOCABULARY], multisource


def _write(
    root: Path, n_images: int, size: int, seed: int, val_fraction: float, progress: bool,
    statistics: str,
):  # fmt: skip
    seg = size // 2
    categories, vocabulary, scene_of = _scenes(statistics, size, seed)
    pixel_categories = [c for c in categories if c not in IMAGE_CATEGORIES]
    n_val = int(round(n_images * val_fraction))
    frequency = {(n, cat): 0 for n, _, cats in vocabulary for cat in cats}
    coverage = dict.fromkeys(frequency, 0.0)
    cat_frequency = dict.fromkeys(categories, 0)
    rows = []
    for i in tqdm(range(n_images), desc="synthetic Broden", unit="img", disable=not progress):
        source, scene, annotated = scene_of(i)
        images = root / "images" / source
        images.mkdir(parents=True, exist_ok=True)
        stem = f"{i:06d}"
        Image.fromarray(scene.image).save(
            images / f"{stem}.jpg", quality=JPEG_QUALITY, subsampling=0
        )
        row = {
            "image": f"{source}/{stem}.jpg",
            "split": "val" if i >= n_images - n_val else "train",
            "ih": size,
            "iw": size,
            "sh": seg,
            "sw": seg,
        }
        present: set[tuple[int, str]] = set()
        for cat in pixel_categories:
            found = scene.pixel_labels.get(cat, [])
            layers = [a for a in found if a.any()] if annotated[cat] else []
            names = []
            for k, layer in enumerate(layers):
                name = f"{stem}_{cat}.png" if len(layers) == 1 else f"{stem}_{cat}_{k}.png"
                _label_png(layer).save(images / name)
                names.append(f"{source}/{name}")
                numbers, counts = np.unique(layer[layer > 0], return_counts=True)
                for n, c in zip(numbers.tolist(), counts.tolist(), strict=True):
                    coverage[n, cat] += c / layer.size
                    present.add((n, cat))
            row[cat] = ";".join(names)
            cat_frequency[cat] += bool(names)
        for cat in categories:
            if cat not in IMAGE_CATEGORIES:
                continue
            numbers = scene.image_labels.get(cat, []) if annotated[cat] else []
            row[cat] = ";".join(str(n) for n in numbers)
            cat_frequency[cat] += bool(numbers)
            for n in numbers:
                coverage[n, cat] += 1.0
                present.add((n, cat))
        for key in present:
            frequency[key] += 1
        rows.append(row)

    with open(root / "index.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["image", "split", "ih", "iw", "sh", "sw", *categories])
        writer.writeheader()
        writer.writerows(rows)
    with open(root / "label.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["number", "name", "category", "frequency", "coverage", "syns"])
        for n, name, cats in vocabulary:
            counts = sorted(((frequency[n, c], c) for c in cats), key=lambda t: -t[0])
            text = ";".join(f"{c}({k})" for k, c in counts)
            total = sum(k for k, _ in counts)
            cover = sum(coverage[n, c] for c in cats)
            writer.writerow([n, name, text, total, f"{cover:.6f}", ""])
    with open(root / "category.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "first", "last", "count", "frequency"])
        for cat in categories:
            numbers = [n for n, _, cats in vocabulary if cat in cats]
            writer.writerow([cat, min(numbers), max(numbers), len(numbers), cat_frequency[cat]])
    for cat in categories:
        with open(root / f"c_{cat}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["code", "number", "name", "frequency", "coverage"])
            members = [(n, name) for n, name, cats in vocabulary if cat in cats]
            for code, (n, name) in enumerate(members, start=1):
                writer.writerow([code, n, name, frequency[n, cat], f"{coverage[n, cat]:.6f}"])


def make_synthetic_broden(
    root: str | os.PathLike,
    n_images: int,
    size: int = 224,
    seed: int = 0,
    val_fraction: float = 0.2,
    overwrite: bool = False,
    progress: bool = True,
    statistics: str = "simple",
) -> Path:
    """Write a generated Broden of ``n_images`` scenes at ``size`` px into ``root``.

    Deterministic: the same arguments give byte-identical files. The folder is written under a
    temporary name and renamed when complete, so an interrupted call leaves no half data set; the
    temporary folder of a killed run is removed by the next call. Two runs generating the same set
    at once both succeed: the first to finish provides the folder, the other discards its copy. If
    ``root`` already holds a generated Broden with the same arguments it is returned as is; one
    with other arguments (or any other non-empty folder) is an error unless ``overwrite=True``.

    Args:
        root: the folder to create (e.g. ``data/synthetic_broden``).
        n_images: number of images (>= 1).
        size: image side in pixels (>= 16); segmentations are ``size // 2``.
        seed: the scenes' seed.
        val_fraction: fraction of images (the last ones) in the ``val`` split.
        overwrite: replace an existing folder.
        progress: tqdm bar.
        statistics: ``"simple"`` — the 52-concept scenes of :mod:`skdlib.data.scenes` (the
            tutorial's data, about 6 label combinations per image) — or ``"broden"``: the real
            Broden's label statistics (:mod:`skdlib.data.multisource`: four sources annotating
            their own categories, 1,070 concepts with Zipf-like frequencies, dozens of objects
            with two part layers, per-pixel colour; ``images/<source>/``).

    Returns:
        ``root`` as a ``Path``.

    Example:
        >>> from skdlib.dissect import BrodenDataset
        >>> ds = BrodenDataset(make_synthetic_broden("/tmp/skd-doc/b2", 16, size=64))
        >>> len(ds.concepts), tuple(ds[0]["image"].shape)
        (52, (3, 64, 64))
    """
    root = Path(root)
    if n_images < 1:
        raise ValueError(f"n_images must be >= 1, got {n_images}")
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
    if statistics not in STATISTICS:
        raise ValueError(f"statistics must be one of {STATISTICS}, got {statistics!r}")
    params = {
        "format": filenames.SYNTHETIC_BRODEN_FORMAT,
        "n_images": int(n_images),
        "size": int(size),
        "seed": int(seed),
        "val_fraction": float(val_fraction),
        **({} if statistics == "simple" else {"statistics": statistics}),
    }
    if root.exists() and any(root.iterdir()) and not overwrite:
        found = _params_of(root)
        if found == params:
            return root
        raise FileExistsError(
            f"{root} already exists and holds "
            + (f"a generated Broden made with {found}" if found else "something else")
            + f", not {params}; pass overwrite=True or choose another folder"
        )
    tmp = staging_folder(root)  # also removes the temporary folders of killed runs
    try:
        _write(tmp, n_images, size, seed, val_fraction, progress, statistics)
        (tmp / PARAMS_FILE).write_text(json.dumps(params, indent=2))
        if overwrite and root.exists():
            shutil.rmtree(root)
        try:
            os.rename(tmp, root)  # fails if another run finished the folder meanwhile
        except OSError:
            if _params_of(root) != params:
                raise FileExistsError(
                    f"{root} was created by another run while this one generated it, with "
                    f"{_params_of(root)}, not {params}; choose another folder"
                ) from None
            shutil.rmtree(tmp, ignore_errors=True)  # the same data set: keep the finished one
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def _params_of(root: Path) -> dict | None:
    path = root / PARAMS_FILE
    return json.loads(path.read_text()) if path.is_file() else None
