"""A "network" with known answers for Network Dissection: channel ``k`` is the mask of a chosen
concept on each image of a generated Broden.

Tests of the Broden reader, the IoU tally and the KL metric need ground truth that does not come
from the code under test. :class:`PlantedConceptModel` recognises each generated image by its
pixels and returns that image's true concept masks, taken from the generator itself
(:func:`skdlib.data.synthetic_broden_scene`), never from the files on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from .concepts import CONCEPTS, IMAGE_CATEGORIES, PIXEL_CATEGORIES, concept_number
from .normalise import IMAGENET_MEAN, IMAGENET_STD, denormalise_uint8
from .synthetic_broden import PARAMS_FILE, SOURCE, image_digest, synthetic_broden_scene

__all__ = ["PlantedConceptModel", "planted_concept_model"]


class PlantedConceptModel(nn.Module):
    """A model whose channel ``k`` is, by construction, the mask of concept ``k`` on each image.

    It recognises each input image by its pixels (:func:`image_digest` after undoing the
    normalisation ``(rgb / 255 - mean) / std``) and returns the stored labels of that image as
    maps of shape ``(B, U, s, s)`` at the segmentation size ``s``: for a pixel concept, 1 where a
    label layer holds it; for a whole-image concept (texture, scene), 1 everywhere when the image
    has it. With ``mix`` (``(U, n_concepts)``) the output is ``mix @ masks`` per pixel, i.e. each
    unit a weighted blend of concept masks. Images it was not built for (e.g. the zero image of a
    dry run, or inputs normalised differently) give all-zero maps. The maps come out of the
    submodule ``"units"``, so ``layers=["units"]`` selects them. Build one with
    :func:`planted_concept_model`.

    Example:
        >>> from skdlib.dissect import BrodenDataset, BrodenImages
        >>> from skdlib.data import make_synthetic_broden
        >>> model = planted_concept_model(make_synthetic_broden("/tmp/skd-doc/b3", 4, size=64))
        >>> x = BrodenImages(BrodenDataset("/tmp/skd-doc/b3"))[0][None]
        >>> tuple(model(x).shape)
        (1, 52, 32, 32)
    """

    def __init__(
        self,
        digests: Sequence[str],
        pixel_labels: torch.Tensor,
        image_labels: torch.Tensor,
        numbers: Sequence[int],
        mix: torch.Tensor | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        self.index = {d: i for i, d in enumerate(digests)}
        self.register_buffer("pixel_labels", pixel_labels.to(torch.int16))  # (N, D, s, s)
        self.register_buffer("image_labels", image_labels.to(torch.int16))  # (N, E)
        self.register_buffer("numbers", torch.as_tensor(list(numbers), dtype=torch.int16))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        if mix is not None:
            mix = torch.as_tensor(mix, dtype=torch.float32)
            if mix.dim() != 2 or mix.shape[1] != len(self.numbers):
                raise ValueError(
                    f"mix must be (units, {len(self.numbers)}), got {tuple(mix.shape)}"
                )
            self.register_buffer("mix", mix)
        else:
            self.mix = None
        self.units = nn.Identity()

    def lookup(self, x: torch.Tensor) -> torch.Tensor:
        """Positions (into the stored images) of the images in a normalised batch ``(B,3,H,W)``;
        -1 for an image the model does not know (its maps are all zero)."""
        rgb = denormalise_uint8(x, self.mean, self.std).permute(0, 2, 3, 1).cpu().numpy()
        out = [self.index.get(image_digest(image), -1) for image in rgb]
        return torch.tensor(out, dtype=torch.int64, device=x.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos = self.lookup(x)
        known = pos >= 0
        pos = pos.clamp_min(0)
        numbers = self.numbers.view(1, 1, -1, 1, 1)
        pixel = self.pixel_labels[pos].unsqueeze(2)  # (B, D, 1, s, s)
        masks = (pixel == numbers).any(1)  # (B, C, s, s)
        whole = (self.image_labels[pos].unsqueeze(2) == self.numbers.view(1, 1, -1)).any(1)
        masks = (masks | whole[:, :, None, None]) & known.view(-1, 1, 1, 1)
        masks = masks.float()
        if self.mix is not None:
            masks = torch.einsum("uc,bchw->buhw", self.mix, masks)
        return self.units(masks)


def planted_concept_model(
    root: str | os.PathLike,
    concepts: Sequence[str | int] | None = None,
    mix: torch.Tensor | None = None,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> PlantedConceptModel:
    """A :class:`PlantedConceptModel` for the generated Broden in ``root``.

    The masks come from the generator itself (:func:`synthetic_broden_scene`), never from the
    files: a test of the reader and of Network Dissection against known answers. Whole-image
    concepts are planted where the scene truly has them, also on images whose annotation was
    left out.

    Args:
        root: a folder written by :func:`make_synthetic_broden`.
        concepts: names or unified numbers; unit ``k`` shows ``concepts[k]`` (default: all 52
            concepts in number order, so unit ``k`` is concept number ``k + 1``).
        mix: optional ``(U, len(concepts))`` weights (see :class:`PlantedConceptModel`).
        mean, std: the normalisation the inputs will carry (ImageNet's by default).
    """
    root = Path(root)
    params_path = root / PARAMS_FILE
    if not params_path.is_file():
        raise FileNotFoundError(
            f"{params_path} not found: {root} was not written by make_synthetic_broden"
        )
    params = json.loads(params_path.read_text())
    size, seed, n = params["size"], params["seed"], params["n_images"]
    if concepts is None:
        numbers = [c.number for c in CONCEPTS]
    else:
        numbers = [c if isinstance(c, int) else concept_number(c) for c in concepts]
    digests, pixel, whole = [], [], []
    for i in range(n):
        scene, _ = synthetic_broden_scene(i, size, seed)
        with Image.open(root / "images" / SOURCE / f"{i:06d}.jpg") as img:
            digests.append(image_digest(np.asarray(img.convert("RGB"))))
        pixel.append([layer for cat in PIXEL_CATEGORIES for layer in scene.pixel_labels[cat]])
        whole.append([m for cat in IMAGE_CATEGORIES for m in scene.image_labels[cat]])
    depth = max(len(p) for p in pixel)
    seg = size // 2
    pixel_t = torch.zeros((n, depth, seg, seg), dtype=torch.int16)
    for i, layers in enumerate(pixel):
        for d, layer in enumerate(layers):
            pixel_t[i, d] = torch.from_numpy(layer.astype(np.int16))
    whole_t = torch.tensor(whole, dtype=torch.int16)
    return PlantedConceptModel(digests, pixel_t, whole_t, numbers, mix, mean, std)
