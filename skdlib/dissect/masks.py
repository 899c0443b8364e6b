"""Where the masks of Network Dissection lie, found and counted without upsampling whole maps.

The mask of unit ``u`` on image ``b`` is ``M = bilinear(A[b, u], (sh, sw)) > T[u]`` (strict;
``align_corners=False``, as ``F.interpolate``). At Network Dissection's quantile (0.995) a mask
covers a fraction of a percent of the segmentation, so upsampling every map (as NetDissect-Lite
does, one map at a time) spends nearly all its work on pixels that are not in any mask. Here:

1. the few source cells above ``T`` are listed (:func:`true_indices` scans the comparison eight
   bytes at a time), and from them the *blocks* of output pixels that interpolate between them
   (a bilinear value is a convex combination of its four sources, so no other pixel can be in a
   mask): :func:`_live_blocks`, each block once;
2. blocks of more than 16 pixels are first evaluated at their four corners, where a bilinear
   function takes its largest value over the block; those clearly below ``T`` are dropped
   (:func:`_reachable`);
3. the remaining blocks are evaluated in chunks that stay in the CPU's cache, with the float32
   arithmetic of ``F.interpolate`` (:func:`_block_masks`), and either listed pixel by pixel
   (:func:`mask_pixels`) or counted per (unit, label combination) with one ``bincount``
   (:func:`mask_counts`, what :class:`~skdlib.dissect.tally.IoUTally` uses).

All of it is batched torch on any device, with no Python loop over images, units or pixels.

Example:
    >>> a = torch.tensor([[[[0.0, 1.0]]]])                         # (B=1, U=1, 1, 2)
    >>> b, u, y, x = next(mask_pixels(a, torch.tensor([0.5]), (1, 4)))
    >>> sorted(x.tolist())                                          # upsampled 0, .25, .75, 1
    [2, 3]
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .label_sets import LabelSets

__all__ = ["BLOCK", "mask_pixels", "mask_counts", "true_indices"]

#: Longest side of the blocks of output pixels evaluated together.
BLOCK = 8
#: Count bins (units x label combinations) of one pass of :func:`mask_counts`.
_MAX_BINS = 1 << 22
#: Blocks of more pixels than this are first checked at their corners (:func:`_reachable`).
_PRUNE_ABOVE = 16


@dataclass(frozen=True)
class _Axis:
    """One axis of bilinear upsampling (``align_corners=False``) from ``n_in`` to ``n_out``.

    The outputs are partitioned into groups: runs of at most ``min(ceil(n_out / n_in), BLOCK)``
    consecutive positions that share their lower source ``source[g]``. Per group, padded to the
    longest: ``weight`` ``(K, G)``, the weight of the upper source as PyTorch computes it
    (float32; NaN on padding, so that padded values compare false), and ``index`` ``(G, K)``,
    the output positions (clamped on padding). ``first[i]`` and ``number[i]`` give the groups
    of source i; ``ends`` ``(2, G)`` holds the weights of each group's first and last position.
    Weights are position-major, so that the per-block arithmetic runs along the long block axis.
    """

    weight: torch.Tensor
    index: torch.Tensor
    source: torch.Tensor
    first: torch.Tensor
    number: torch.Tensor
    ends: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])


@functools.lru_cache(maxsize=64)
def _axis(n_in: int, n_out: int, device: torch.device) -> _Axis:
    scale = torch.tensor(n_in, dtype=torch.float32) / n_out
    src = (scale * (torch.arange(n_out, dtype=torch.float32) + 0.5) - 0.5).clamp_min(0.0)
    i0 = src.floor().long().clamp_max(n_in - 1)
    weight = (src - i0).clamp(0.0, 1.0)
    longest = max(1, min(-(-n_out // n_in), BLOCK))
    source, start, count = [], [], []
    for o, r in enumerate(i0.tolist()):
        if source and source[-1] == r and count[-1] < longest:
            count[-1] += 1
        else:
            source.append(r)
            start.append(o)
            count.append(1)
    k = max(count)
    index = (torch.tensor(start).unsqueeze(1) + torch.arange(k)).clamp_max(n_out - 1)
    padded = torch.arange(k).unsqueeze(0) >= torch.tensor(count).unsqueeze(1)
    source_t = torch.tensor(source)
    number = torch.bincount(source_t, minlength=n_in)
    start_t, count_t = torch.tensor(start), torch.tensor(count)
    parts = (
        weight[index].masked_fill(padded, float("nan")).t().contiguous(),
        index,
        source_t,
        torch.cumsum(number, 0) - number,
        number,
        torch.stack([weight[start_t], weight[start_t + count_t - 1]]),
    )
    return _Axis(*(t.to(device) for t in parts))


def true_indices(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices of the true elements of a bool tensor, ``(n,)`` int64, in order.

    Scans eight bytes at a time: several times faster than ``nonzero`` on the sparse masks of
    dissection (a fraction of a percent true).

    Example:
        >>> true_indices(torch.tensor([[False, True], [False, False], [True, False]]))
        tensor([1, 4])
    """
    flat = mask.reshape(-1)
    pad = (-flat.numel()) % 8
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    words = flat.view(torch.int64).nonzero().squeeze(1)
    candidates = (words.unsqueeze(1) * 8 + torch.arange(8, device=flat.device)).view(-1)
    return _select(flat.index_select(0, candidates), candidates)[0]


def _select(keep: torch.Tensor, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``v[keep]`` for each of ``values`` and a bool ``keep``: one ``nonzero``, then
    ``index_select`` (several times faster than boolean indexing on the CPU)."""
    chosen = keep.nonzero().squeeze(1)
    return tuple(v.index_select(0, chosen) for v in values)


#: The cells fed by a source at offset (dr, dc) of their 2 x 2 stencil, and the offsets that
#: come before it: a cell is listed once, by the first of its sources above the threshold.
_STENCIL = (((0, 0), ()), ((0, 1), ((0, 0),)), ((1, 0), ((0, 0), (0, 1))),
            ((1, 1), ((0, 0), (0, 1), (1, 0))))  # fmt: skip


def _live_blocks(
    acts: torch.Tensor, thr: torch.Tensor, ay: _Axis, ax: _Axis
) -> tuple[torch.Tensor, ...]:
    """The output blocks ``(b, u, gy, gx)`` whose mask can be non-empty, each once.

    Block ``(gy, gx)`` interpolates between source rows ``r, r + 1`` and columns ``c, c + 1``
    (``r = ay.source[gy]``, ``c = ax.source[gx]``, clamped to the map): the cell ``(r, c)``. It
    is live when one of its four sources is above ``T``; the cells are found from the few
    sources above ``T``, each cell from the first of its sources above it.
    """
    device = acts.device
    _, _, h, w = acts.shape
    above = (acts > thr.view(1, -1, 1, 1)).view(-1)
    index = true_indices(above)
    plane, rest = torch.div(index, h * w, rounding_mode="floor"), index % (h * w)
    r, c = torch.div(rest, w, rounding_mode="floor"), rest % w
    cells = []
    for (dr, dc), before in _STENCIL:
        cr, cc = r - dr, c - dc
        keep = (cr >= 0) & (cc >= 0)
        for er, ec in before:
            sr = (cr + er).clamp(0, h - 1)
            sc = (cc + ec).clamp(0, w - 1)
            keep &= ~above.index_select(0, plane * (h * w) + sr * w + sc)
        cells.append(_select(keep, plane, cr, cc))
    plane, r, c = (torch.cat(t) for t in zip(*cells, strict=True))
    # every cell feeds one group of outputs per axis, or a few (at most ky x kx blocks)
    ky, kx = int(ay.number.max()), int(ax.number.max())
    ny, nx = ay.number.index_select(0, r), ax.number.index_select(0, c)
    ok = (torch.arange(ky, device=device) < ny.unsqueeze(1)).unsqueeze(2) & (
        torch.arange(kx, device=device) < nx.unsqueeze(1)
    ).unsqueeze(1)
    n_idx, iy, ix = ok.nonzero(as_tuple=True)
    plane = plane.index_select(0, n_idx)
    gy = ay.first.index_select(0, r).index_select(0, n_idx) + iy
    gx = ax.first.index_select(0, c).index_select(0, n_idx) + ix
    units = acts.shape[1]
    return torch.div(plane, units, rounding_mode="floor"), plane % units, gy, gx


def _corners(
    acts: torch.Tensor, blocks: tuple[torch.Tensor, ...], ay: _Axis, ax: _Axis
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The four source values ``v00, v01, v10, v11`` of each block, each ``(n,)``."""
    b, u, gy, gx = blocks
    _, units, h, w = acts.shape
    flat = acts.view(-1)
    r, c = ay.source.index_select(0, gy), ax.source.index_select(0, gx)
    rb, cb = (r + 1).clamp_max(h - 1), (c + 1).clamp_max(w - 1)
    base = (b * units + u) * (h * w)
    top, bottom = base + r * w, base + rb * w
    return tuple(flat.index_select(0, i) for i in (top + c, top + cb, bottom + c, bottom + cb))


def _bilinear(values, wy: torch.Tensor, wx: torch.Tensor) -> torch.Tensor:
    """``(len_y, len_x, n)`` bilinear values of ``n`` blocks from their corner values ``(n,)``
    and the weights ``wy`` ``(len_y, n)``, ``wx`` ``(len_x, n)`` of the upper sources.

    The same float32 operations in the same order for every pixel, whatever the block size, so
    that the masks do not depend on how the pixels are grouped.
    """
    v00, v01, v10, v11 = values
    top = v00 + wx * (v01 - v00)
    bot = v10 + wx * (v11 - v10)
    return top.unsqueeze(0) + wy.unsqueeze(1) * (bot - top).unsqueeze(0)


def _reachable(
    acts: torch.Tensor,
    thr: torch.Tensor,
    blocks: tuple[torch.Tensor, ...],
    ay: _Axis,
    ax: _Axis,
) -> tuple[torch.Tensor, ...]:
    """The blocks whose mask is not empty for certain: those with a corner pixel above ``T``.

    Over a block a bilinear function is linear along each axis, so its largest value is at one
    of the block's four corner pixels. A block is dropped only when all four are below ``T`` by
    a margin far larger than float32 rounding, so that no mask pixel is ever lost.
    """
    values = _corners(acts, blocks, ay, ax)
    ends_y, ends_x = ay.ends.index_select(1, blocks[2]), ax.ends.index_select(1, blocks[3])
    top = _bilinear(values, ends_y, ends_x).amax((0, 1))
    scale = torch.stack(values).abs().amax(0)
    t = thr.index_select(0, blocks[1])
    return _select(top > t - 1e-5 * (scale + t.abs()), *blocks)


def _block_masks(
    acts: torch.Tensor,
    thr: torch.Tensor,
    blocks: tuple[torch.Tensor, ...],
    ay: _Axis,
    ax: _Axis,
) -> torch.Tensor:
    """``(K_y, K_x, n)`` bool: the upsampled values of each block above its unit's threshold
    (padding positions false)."""
    _, u, gy, gx = blocks
    wy, wx = ay.weight.index_select(1, gy), ax.weight.index_select(1, gx)
    return _bilinear(_corners(acts, blocks, ay, ax), wy, wx) > thr.index_select(0, u)


def _candidates(
    acts: torch.Tensor, thresholds: torch.Tensor, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor, _Axis, _Axis, tuple[torch.Tensor, ...]]:
    """Steps 1 and 2 of the module docstring: the blocks worth evaluating, with the contiguous
    float32 activations, thresholds on their device and the two axes."""
    acts = acts.float().contiguous()
    device = acts.device
    ay, ax = _axis(acts.shape[2], size[0], device), _axis(acts.shape[3], size[1], device)
    thr = thresholds.to(device=device, dtype=acts.dtype)
    blocks = _live_blocks(acts, thr, ay, ax)
    if ay.size * ax.size > _PRUNE_ABOVE:
        blocks = _reachable(acts, thr, blocks, ay, ax)
    return acts, thr, ay, ax, blocks


def _pieces(n: int, most: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, max(1, most)):
        yield start, min(n, start + max(1, most))


def mask_pixels(
    acts: torch.Tensor,
    thresholds: torch.Tensor,
    size: tuple[int, int],
    chunk_elements: int = 1 << 18,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The pixels of the masks ``upsample(acts) > T``, without upsampling whole maps.

    The mask of unit ``u`` on image ``b`` is ``M = bilinear(acts[b, u], size) > T[u]``
    (``align_corners=False``, as ``F.interpolate``). A bilinear value is a convex combination
    of its four source values, so it can only exceed ``T`` where one of them does: only the
    blocks of output pixels fed by such source cells are evaluated. With thresholds at the 0.995
    quantile that is a few percent of what dense upsampling computes.

    Args:
        acts: ``(B, U, h, w)`` float activations.
        thresholds: ``(U,)`` per-unit thresholds.
        size: the mask size ``(sh, sw)``.
        chunk_elements: evaluated values per chunk (memory bound).

    Yields:
        Chunks ``(b, u, y, x)`` of int64 ``(n,)`` tensors: every mask pixel exactly once, in
        no particular order.

    Example:
        >>> a = torch.tensor([[[[0.0, 1.0]]]])                      # (1, 1, 1, 2)
        >>> b, u, y, x = next(mask_pixels(a, torch.tensor([0.5]), (1, 4)))
        >>> sorted(x.tolist()), y.tolist()     # upsampled: [0, 0.25, 0.75, 1]
        ([2, 3], [0, 0])
    """
    acts, thr, ay, ax, blocks = _candidates(acts, thresholds, size)
    for lo, hi in _pieces(blocks[0].numel(), chunk_elements // (ay.size * ax.size)):
        b, u, gy, gx = (t[lo:hi] for t in blocks)
        i, j, q = _block_masks(acts, thr, (b, u, gy, gx), ay, ax).nonzero(as_tuple=True)
        yield b[q], u[q], ay.index[gy[q], i], ax.index[gx[q], j]


def mask_counts(
    acts: torch.Tensor,
    thresholds: torch.Tensor,
    sets: LabelSets,
    chunk_elements: int = 1 << 18,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Mask pixels counted per unit and label combination: ``|M_bu ∩ {pixels of set s}|``.

    The masks are those of :func:`mask_pixels`; instead of listing their pixels, each evaluated
    block looks up the label combination of its pixels (``sets.ids``, of the batch's
    segmentation size) and one ``bincount`` per chunk counts (unit, combination) pairs.

    Args:
        acts: ``(B, U, h, w)`` float activations.
        thresholds: ``(U,)`` per-unit thresholds.
        sets: the :func:`~skdlib.dissect.label_sets.label_sets` of the batch's pixel labels.
        chunk_elements: memory bound (evaluated values, and count bins, per chunk).

    Yields:
        Chunks ``(unit, set, count)`` of int64 ``(n,)`` tensors, non-zero counts only; the image
        of a count is ``sets.image[set]``. Each (unit, set) pair occurs at most once.

    Example:
        >>> from skdlib.dissect.label_sets import label_sets
        >>> a = torch.tensor([[[[0.0, 1.0]]]])                      # (1, 1, 1, 2)
        >>> sets = label_sets(torch.tensor([[[[7, 8, 8, 7]]]]))     # (1, 1, 1, 4)
        >>> sets.labels.tolist()                                    # combinations 0 and 1
        [[7], [8]]
        >>> [t.tolist() for t in next(mask_counts(a, torch.tensor([0.5]), sets))]
        [[0, 0], [0, 1], [1, 1]]
    """
    acts, thr, ay, ax, blocks = _candidates(acts, thresholds, tuple(sets.ids.shape[1:]))
    device = acts.device
    n_images, units = acts.shape[:2]
    block_size = ay.size * ax.size
    # the combination of every pixel of every block of every image: (K_y * K_x, B * G_y * G_x)
    g_y, g_x = ay.index.shape[0], ax.index.shape[0]
    tiles = sets.ids.to(torch.int32).index_select(1, ay.index.view(-1))
    tiles = tiles.index_select(2, ax.index.view(-1)).view(n_images, -1, ay.size, g_x, ax.size)
    tiles = tiles.permute(2, 4, 0, 1, 3).reshape(block_size, -1)
    # blocks image by image (a sort of the few blocks, not of pixels): a chunk then spans a few
    # images, and its count bins only their combinations x units
    order = torch.argsort(blocks[0])
    blocks = tuple(t.index_select(0, order) for t in blocks)
    offsets = sets.offsets.tolist()
    per_image = torch.bincount(blocks[0], minlength=n_images).tolist()
    starts = [0]
    for count in per_image:
        starts.append(starts[-1] + count)
    spans, first = [], 0
    for image in range(1, n_images + 1):
        # spans of whole images whose count bins (units x sets) fit the budget
        if image == n_images or units * (offsets[image + 1] - offsets[first]) > _MAX_BINS:
            spans.append((first, image))
            first = image
    step = max(1, chunk_elements // block_size)
    for first, stop in spans:
        s_lo, n_sets = offsets[first], offsets[stop] - offsets[first]
        counts = torch.zeros(n_sets * units, dtype=torch.int64, device=device)
        image_of = blocks[0]
        for lo in range(starts[first], starts[stop], step):
            hi = min(starts[stop], lo + step)
            b, u, gy, gx = (t[lo:hi] for t in blocks)
            w_lo, w_hi = offsets[int(image_of[lo])], offsets[int(image_of[hi - 1]) + 1]
            mask = _block_masks(acts, thr, (b, u, gy, gx), ay, ax).view(block_size, -1)
            # key 1 + (set - w_lo) * units + unit for mask pixels, 0 elsewhere (int32: half the
            # memory traffic); the bins are those of this chunk's images only
            key = tiles.index_select(1, (b * g_y + gy) * g_x + gx)
            key -= w_lo
            key *= units
            key += (u + 1).to(torch.int32)
            key *= mask
            window = (w_hi - w_lo) * units
            found = torch.bincount(key.view(-1), minlength=window + 1)[1:]
            counts[(w_lo - s_lo) * units : (w_hi - s_lo) * units] += found
        found = counts.nonzero().squeeze(1)
        yield found % units, found // units + s_lo, counts.index_select(0, found)
