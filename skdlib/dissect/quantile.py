"""Per-row quantiles of very long streams: exact, in memory proportional to the tail only.

Network Dissection thresholds each unit at the 0.995 quantile of its activations over the whole
data set and every spatial position: for ResNet18's ``layer1`` on Broden that is ~2·10^8 values
per unit, beyond ``torch.quantile`` (which refuses more than 2^24 elements) and far beyond memory
if stored for 960 units.

The 0.995 quantile only depends on the largest 0.5 % of the values. :class:`StreamingQuantile`
therefore keeps, per row, the ``k`` largest values seen so far (``k`` is fixed by the known total
count). A new value that is not larger than the row's current ``k``-th largest can never enter the
final top ``k`` and is dropped on arrival; survivors are merged with ``torch.topk`` only when
enough have accumulated. The result is *exact* — the same linear interpolation as
``numpy.quantile`` / ``torch.quantile`` (``(N - 1)·q`` between order statistics) — with memory
``O(rows · (1 - q) · N)`` and ``O(N)`` work. Quantiles below 0.5 keep the smallest values instead.

:func:`exact_quantile` is the straightforward version on all values at once (for checks and
small data).

Example
-------
>>> est = StreamingQuantile(0.995, rows=2, total=1000)
>>> for chunk in torch.arange(2000.0).view(2, 1000).split(300, dim=1):
...     est.update(chunk)
>>> est.result()
tensor([ 994.0050, 1994.0050], dtype=torch.float64)
"""

from __future__ import annotations

import math

import torch

from .masks import true_indices

__all__ = ["StreamingQuantile", "exact_quantile", "tail_size"]


def _position(q: float, total: int) -> tuple[int, int, float]:
    """Ascending ranks ``(lo, hi)`` and weight of ``hi`` for the linear quantile of ``total``."""
    pos = q * (total - 1)
    lo = min(int(math.floor(pos)), total - 1)
    hi = min(lo + 1, total - 1)
    return lo, hi, pos - lo


def tail_size(q: float, total: int) -> int:
    """Values per row that :class:`StreamingQuantile` keeps: the tail that holds the quantile.

    Example:
        >>> tail_size(0.995, 10_000)
        51
    """
    lo, _, _ = _position(q if q >= 0.5 else 1.0 - q, total)
    return total - lo


def exact_quantile(values: torch.Tensor, q: float) -> torch.Tensor:
    """The ``q``-quantile of each row of ``values`` ``(R, N)`` by sorting: ``(R,)`` float64.

    Linear interpolation between order statistics at ``(N - 1)·q``, as ``numpy.quantile`` and
    ``torch.quantile``, but with no limit on ``N`` (``torch.quantile`` stops at 2^24).

    Example:
        >>> exact_quantile(torch.tensor([[1.0, 2.0, 3.0, 4.0]]), 0.5)
        tensor([2.5000], dtype=torch.float64)
    """
    if values.dim() != 2 or values.shape[1] == 0:
        raise ValueError(f"exact_quantile expects (rows, N >= 1) values, got {tuple(values.shape)}")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    lo, hi, w = _position(q, values.shape[1])
    ordered = torch.sort(values, dim=1).values
    v_lo, v_hi = ordered[:, lo].double(), ordered[:, hi].double()
    return v_lo + (v_hi - v_lo) * w


class StreamingQuantile:
    """Exact ``q``-quantile of each of ``rows`` streams of known length ``total``.

    Feed ``(rows, n)`` chunks with :meth:`update` (any ``n``, any order, any device); when exactly
    ``total`` values per row have arrived, :meth:`result` returns the quantiles ``(rows,)`` in
    float64, identical to :func:`exact_quantile` on the concatenation (ties included).

    Args:
        q: the quantile, in [0, 1].
        rows: number of independent streams (units).
        total: number of values each row will receive.
        device: where the kept tail lives (default: that of the first chunk).

    Memory: ``rows × tail_size(q, total)`` values, at most twice that between merges.

    Example:
        >>> est = StreamingQuantile(0.5, rows=1, total=4)
        >>> est.update(torch.tensor([[4.0, 1.0]])); est.update(torch.tensor([[3.0, 2.0]]))
        >>> est.result()
        tensor([2.5000], dtype=torch.float64)
    """

    def __init__(
        self, q: float, rows: int, total: int, device: torch.device | str | None = None
    ) -> None:
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1], got {q}")
        if rows < 1 or total < 1:
            raise ValueError(f"rows and total must be >= 1, got {rows} and {total}")
        self.q = float(q)
        self.rows = int(rows)
        self.total = int(total)
        self.device = device
        # Keep the top tail for q >= 0.5; for smaller q keep the bottom tail (values negated).
        self.sign = 1.0 if q >= 0.5 else -1.0
        self.k = tail_size(q, total)
        self.seen = 0
        self._kept: torch.Tensor | None = None  # (rows, <= k) sorted descending, or None
        self._pending: list[torch.Tensor] = []
        self._pending_cols = 0
        self._floor: torch.Tensor | None = None  # (rows, 1) k-th largest so far, once known

    @property
    def stored(self) -> int:
        """Values currently held per row (kept tail plus not yet merged survivors)."""
        kept = 0 if self._kept is None else self._kept.shape[1]
        return kept + self._pending_cols

    def update(self, values: torch.Tensor) -> None:
        """Add ``(rows, ...)`` values (one more chunk of every row's stream; the trailing
        dimensions are flattened, so a strided view such as ``acts.transpose(0, 1)`` of
        ``(B, rows, H, W)`` activations is read without a copy)."""
        if values.dim() < 2 or values.shape[0] != self.rows:
            raise ValueError(f"expected a ({self.rows}, n) chunk, got shape {tuple(values.shape)}")
        n = values[0].numel()
        if self.seen + n > self.total:
            raise ValueError(
                f"more values than announced: {self.seen + n} > total={self.total} per row"
            )
        self.seen += n
        if n == 0:
            return
        v = values.detach()
        if self.device is not None:
            v = v.to(self.device)
        v = v.float() * self.sign if self.sign < 0 else v.float()
        if torch.isnan(v.amax()):  # a NaN anywhere makes the maximum NaN
            raise ValueError("the values contain NaN; a quantile of them is undefined")
        if self._floor is None:
            self._pending.append(v.reshape(self.rows, n))
            self._pending_cols += n
        else:
            # Values not above the row's current k-th largest can never reach the final top k:
            # list the few that are, and pad each row's survivors with -inf to the longest row.
            row, found = self._survivors(v)
            if row.numel() == 0:
                return
            per_row = torch.bincount(row, minlength=self.rows)
            width = int(per_row.max())
            start = torch.cumsum(per_row, 0) - per_row
            column = torch.arange(row.numel(), device=row.device) - start.index_select(0, row)
            padded = torch.full((self.rows, width), -torch.inf, device=v.device)
            padded[row, column] = found
            self._pending.append(padded)
            self._pending_cols += width
        if self._pending_cols >= max(self.k, 1 << 12):
            self._merge()

    def _survivors(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The values above their row's floor, with their rows, grouped row by row. The
        comparison runs in memory order — for a ``(rows, B, ...)`` view of ``(B, rows, ...)``
        activations, on the contiguous tensor itself, the few hits then regrouped by row — and
        the hits are listed eight bytes at a time (:func:`~skdlib.dissect.masks.true_indices`)."""
        if v.dim() > 2 and not v.is_contiguous() and v.transpose(0, 1).is_contiguous():
            natural = v.transpose(0, 1)  # (B, rows, ...)
            per = natural[0, 0].numel()
            index = true_indices(natural > self._floor.view(1, self.rows, *[1] * (v.dim() - 2)))
            row = torch.div(index, per, rounding_mode="floor") % self.rows
            row, order = torch.sort(row, stable=True)
            return row, natural.reshape(-1).index_select(0, index.index_select(0, order))
        flat = v.reshape(self.rows, -1)
        index = true_indices(flat > self._floor)
        row = torch.div(index, flat.shape[1], rounding_mode="floor")
        return row, flat.reshape(-1).index_select(0, index)

    def _merge(self) -> None:
        parts = ([self._kept] if self._kept is not None else []) + self._pending
        if not parts:
            return
        pool = torch.cat(parts, dim=1)
        keep = min(self.k, pool.shape[1])
        self._kept = torch.topk(pool, keep, dim=1, sorted=True).values
        self._pending, self._pending_cols = [], 0
        if keep == self.k:
            self._floor = self._kept[:, -1:].clone()

    def result(self) -> torch.Tensor:
        """The ``(rows,)`` quantiles (float64); all ``total`` values must have arrived."""
        if self.seen != self.total:
            raise ValueError(
                f"the quantile needs all {self.total} values per row, got {self.seen}; was the "
                "data set read completely?"
            )
        self._merge()
        q = self.q if self.sign > 0 else 1.0 - self.q
        lo, hi, w = _position(q, self.total)
        # descending position of ascending rank r is total - 1 - r
        v_lo = self._kept[:, self.total - 1 - lo].double()
        v_hi = self._kept[:, self.total - 1 - hi].double()
        return (v_lo + (v_hi - v_lo) * w) * self.sign
