"""The distinct label combinations under the pixels of a Broden batch.

A pixel of a Broden batch carries ``D`` label numbers, one per segmentation layer (object, part,
material, color, ...; 0 = none). Within one image only a handful of distinct combinations occur
(a few dozen at most: *sky* alone, *dog* + *leg* + *brown*, ...), so the IoU tally does not look
up the ``D`` labels of every mask pixel: it counts mask pixels per (unit, combination) with one
``bincount`` and then expands the few non-zero counts into their labels
(:class:`~skdlib.dissect.tally.IoUTally`). This module numbers the combinations.

Combinations are numbered image by image, so those of image ``b`` are the consecutive numbers
``offsets[b] .. offsets[b + 1] - 1``, and a combination never spans two images.

Example:
    >>> pixel = torch.tensor([[[[1, 1, 2]], [[0, 5, 5]]]])      # (B=1, D=2, sh=1, sw=3)
    >>> sets = label_sets(pixel)
    >>> sets.ids.tolist(), sets.labels.tolist()
    ([[[0, 1, 2]]], [[1, 0], [1, 5], [2, 5]])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["LabelSets", "label_sets"]


@dataclass(frozen=True)
class LabelSets:
    """The label combinations of a batch.

    Attributes:
        ids: ``(B, sh, sw)`` int32, the combination of each pixel.
        labels: ``(N, D)`` int64, the label numbers of each combination (0 = none).
        image: ``(N,)`` int64, the image each combination occurs in.
        offsets: ``(B + 1,)`` int64, image ``b`` has combinations ``offsets[b]:offsets[b + 1]``.
    """

    ids: torch.Tensor
    labels: torch.Tensor
    image: torch.Tensor
    offsets: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def label_sets(pixel_labels: torch.Tensor) -> LabelSets:
    """Number the distinct label combinations of each image of a batch.

    Segmentations are made of regions, so along a row of pixels the combination rarely
    changes: only the first pixel of each run of equal combinations is looked at, and
    ``torch.unique`` numbers those, one label layer after the other starting from the image
    index (so the numbering goes image by image).

    Args:
        pixel_labels: ``(B, D, sh, sw)`` non-negative label numbers (``D`` may be 0: then every
            image has one combination, the empty one).

    Returns:
        A :class:`LabelSets`; ``sets.labels[sets.ids[b, y, x]]`` equals
        ``pixel_labels[b, :, y, x]`` for every pixel.

    Example:
        >>> sets = label_sets(torch.tensor([[[[3, 3]]], [[[4, 3]]]]))   # (B=2, D=1, 1, 2)
        >>> sets.ids.tolist(), sets.labels.tolist(), sets.image.tolist(), sets.offsets.tolist()
        ([[[0, 0]], [[2, 1]]], [[3], [3], [4]], [0, 1, 1], [0, 1, 3])
    """
    if pixel_labels.dim() != 4:
        raise ValueError(
            f"pixel_labels must be (batch, layers, height, width), got {tuple(pixel_labels.shape)}"
        )
    b, depth, sh, sw = pixel_labels.shape
    device = pixel_labels.device
    per_image = sh * sw
    flat = pixel_labels.reshape(b, depth, per_image)
    change = torch.zeros((b, per_image), dtype=torch.bool, device=device)
    change[:, 0] = True  # a run starts at every image's first pixel
    for d in range(depth):
        change[:, 1:] |= flat[:, d, 1:] != flat[:, d, :-1]
    change = change.view(-1)
    starts = change.nonzero().squeeze(1)
    image = torch.div(starts, per_image, rounding_mode="floor")
    first = flat[image, :, starts % per_image].long()  # (runs, D)
    # number the (image, labels) rows of the runs (order-preserving): as one mixed-radix key
    # with a single torch.unique while it fits in int64, else one column at a time
    code, radix = image, b
    for d in range(depth):
        column = first[:, d]
        size = int(column.max()) + 1 if column.numel() else 1
        if radix * size >= 1 << 62:
            distinct, code = torch.unique(code, return_inverse=True)
            radix = len(distinct)
        code, radix = code * size + column, radix * size
    code = torch.unique(code, return_inverse=True)[1]
    n_sets = int(code.max()) + 1 if code.numel() else 0
    where = torch.empty(n_sets, dtype=torch.int64, device=device)
    where.scatter_(0, code, torch.arange(code.numel(), device=device))
    image = image.index_select(0, where)
    offsets = torch.zeros(b + 1, dtype=torch.int64, device=device)
    offsets[1:] = torch.cumsum(torch.bincount(image, minlength=b), 0)
    lengths = torch.diff(starts, append=starts.new_full((1,), change.numel()))
    ids = code.to(torch.int32).repeat_interleave(lengths, output_size=change.numel())
    return LabelSets(ids.view(b, sh, sw), first.index_select(0, where), image, offsets)
