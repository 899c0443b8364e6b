"""The synthetic concept images as PyTorch datasets: scenes for a network to learn concepts
from, and a 100-class 32x32 stand-in for CIFAR-100.

Example:
    >>> ds = SyntheticCIFAR100(n_per_class=2, train=False)
    >>> ds.data.shape, ds.classes[:2]
    ((200, 32, 32, 3), ['red circle', 'orange circle'])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .concepts import CLASS_NAMES, COLOR_NAMES, COLORS, SHAPES
from .normalise import IMAGENET_MEAN, IMAGENET_STD, normalise_uint8
from .scenes import ConceptScene, render_object, render_scene

__all__ = ["SyntheticConceptImages", "SyntheticCIFAR100"]


class SyntheticConceptImages(Dataset):
    """``n`` random concept scenes as an image-classification dataset (100 classes).

    Item ``i`` is rendered from ``np.random.default_rng([seed, i])``, so it does not depend on
    ``n`` or on access order. ``dataset[i]`` is ``(image, target)``: ``image`` is
    ``transform(PIL.Image)`` if a transform is given, else a float tensor (3, size, size)
    normalised with the ImageNet mean/std; ``target`` is, with ``targets="class"`` (default), the
    class id (``shape*10 + colour``, see :data:`CLASS_NAMES`) of the object with the largest
    visible area, or with ``targets="concepts"`` the multi-hot float tensor
    ``(len(CONCEPTS),)`` of every concept in the scene (:meth:`ConceptScene.concept_vector`), for
    training concept-selective units. ``scene(i)`` gives the full :class:`ConceptScene` (labels at
    ``size // 2``).

    >>> ds = SyntheticConceptImages(4, size=64)
    >>> x, y = ds[0]
    >>> tuple(x.shape), 0 <= y < 100
    ((3, 64, 64), True)
    """

    def __init__(
        self,
        n: int,
        size: int = 224,
        seed: int = 0,
        transform: Callable | None = None,
        targets: str = "class",
    ) -> None:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if targets not in ("class", "concepts"):
            raise ValueError(f"targets must be 'class' or 'concepts', got {targets!r}")
        self.targets = targets
        self.n = int(n)
        self.size = int(size)
        self.seed = int(seed)
        self.transform = transform
        self.classes = list(CLASS_NAMES)

    def __len__(self) -> int:
        return self.n

    def _index(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} items")
        return i

    def scene(self, i: int) -> ConceptScene:
        """The full :class:`ConceptScene` of item ``i``."""
        return render_scene(np.random.default_rng([self.seed, self._index(i)]), size=self.size)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        s = self.scene(i)
        target = s.target() if self.targets == "class" else torch.from_numpy(s.concept_vector())
        if self.transform is not None:
            return self.transform(Image.fromarray(s.image)), target
        image = torch.from_numpy(np.ascontiguousarray(s.image)).permute(2, 0, 1)
        return normalise_uint8(image, IMAGENET_MEAN, IMAGENET_STD), target


class SyntheticCIFAR100(Dataset):
    """A 100-class 32×32 stand-in for ``torchvision.datasets.CIFAR100`` (same duck type).

    Class ``c`` is the object :data:`CLASS_NAMES` ``[c]`` (``shape = SHAPES[c // 10]``,
    ``colour = list(COLORS)[c % 10]``) rendered by :func:`render_object`. Images are generated
    eagerly: ``data`` is uint8 (N, 32, 32, 3), ``targets`` a list of N ints, ``classes`` the
    class names, N = 100 × ``n_per_class`` (balanced). Item order is interleaved
    (``index = j * 100 + c``), so every prefix of 100·m items is balanced. Class ``c`` draws its
    images in sequence from ``np.random.default_rng([seed, split, c])`` with split 0 for train and
    1 for test, so the two splits never share images and a larger ``n_per_class`` extends a smaller
    one. ``dataset[i]`` is ``(transform(PIL image) or PIL image, target_transform(target) or
    target)``.

    >>> ds = SyntheticCIFAR100(n_per_class=2, train=False)
    >>> ds.data.shape, len(ds.targets), ds.classes[:2]
    ((200, 32, 32, 3), 200, ['red circle', 'orange circle'])
    """

    def __init__(
        self,
        n_per_class: int = 500,
        train: bool = True,
        seed: int = 0,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        if n_per_class < 1:
            raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
        self.train = bool(train)
        self.seed = int(seed)
        self.transform = transform
        self.target_transform = target_transform
        self.classes = list(CLASS_NAMES)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        n_classes = len(CLASS_NAMES)
        data = np.empty((n_per_class, n_classes, 32, 32, 3), np.uint8)
        split = 0 if self.train else 1
        for c in range(n_classes):
            rng = np.random.default_rng([self.seed, split, c])
            shape, color = SHAPES[c // len(COLORS)], COLOR_NAMES[c % len(COLORS)]
            for j in range(n_per_class):
                data[j, c] = render_object(rng, shape, color, size=32)
        self.data = data.reshape(-1, 32, 32, 3)
        self.targets: list[int] = list(range(n_classes)) * n_per_class

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        img: Any = Image.fromarray(self.data[i])
        target: Any = self.targets[i]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
