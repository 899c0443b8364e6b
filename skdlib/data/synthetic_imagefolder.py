"""The synthetic concept scenes written as an ImageFolder tree: the offline stand-in for ImageNet.

``root/train/<class>/<i>.jpg`` and ``root/val/<class>/<i>.jpg``, where a class is one of the
100 ``"<colour> <shape>"`` classes (the first ``classes`` of them) and an image is a scene of
:class:`~skdlib.data.SyntheticConceptImages` whose largest object is of that class. The layout is
ImageNet's as torchvision's ``ImageFolder`` reads it, so the ImageNet-size job runs on it with
the same command as on the real data. Written into a temporary sibling and renamed when complete.

Example:
    >>> root = make_synthetic_imagefolder("/tmp/skd-doc/imf", classes=2, per_class=2, size=32)
    >>> sorted(p.name for p in (root / "train").iterdir())
    ['000_red_circle', '001_orange_circle']
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from ..progress import tqdm
from ..staging import staging_folder
from .concepts import CLASS_NAMES
from .scenes import render_scene

__all__ = ["make_synthetic_imagefolder"]


def _folder(c: int) -> str:
    return f"{c:03d}_{CLASS_NAMES[c].replace(' ', '_')}"


def make_synthetic_imagefolder(
    root: str | os.PathLike,
    classes: int = 10,
    per_class: int = 20,
    val_per_class: int | None = None,
    size: int = 224,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write (once) an ImageFolder tree of generated scenes; returns ``root``.

    Scenes are drawn in sequence from ``np.random.default_rng([seed, split])`` and kept for the
    class of their largest object until every class has its images (train: ``per_class``, val:
    ``val_per_class``, default a quarter of it, at least 1), so classes are balanced and the two
    splits never share an image. An existing complete tree is returned as it is.

    Raises:
        ValueError: ``classes`` not in 1..100 or sizes below 1.
    """
    if not 1 <= classes <= len(CLASS_NAMES):
        raise ValueError(f"classes must be in 1..{len(CLASS_NAMES)}, got {classes}")
    val_per_class = max(1, per_class // 4) if val_per_class is None else val_per_class
    if per_class < 1 or val_per_class < 1 or size < 8:
        raise ValueError(f"per_class, val_per_class must be >= 1 and size >= 8, got "
                         f"{per_class}, {val_per_class}, {size}")  # fmt: skip
    root = Path(root)
    done = root / ".complete"
    if done.exists():
        return root
    tmp = staging_folder(root)
    try:
        for split, (code, want) in {"train": (0, per_class), "val": (1, val_per_class)}.items():
            rng = np.random.default_rng([seed, code])
            counts = [0] * classes
            bar = tqdm(total=classes * want, desc=f"imagefolder {split}", disable=not progress)
            while sum(counts) < classes * want:
                scene = render_scene(rng, size=size)
                c = scene.target()
                if c >= classes or counts[c] >= want:
                    continue
                folder = tmp / split / _folder(c)
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(scene.image).save(folder / f"{counts[c]:05d}.jpg", quality=90)
                counts[c] += 1
                bar.update()
            bar.close()
        (tmp / ".complete").write_text(f"classes={classes} per_class={per_class} size={size}\n")
        if root.exists():
            shutil.rmtree(root)
        os.rename(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root
