"""One pass of a dissection over the data: timed batches and the model's activations.

:class:`Reader` is what both passes of :func:`skdlib.dissect.dissect` read through: it decodes and
collates the loader's batches on one torch thread, runs the model with forward hooks on the
dissected layers, checks that their activations are finite (naming the images' files when they
are not) and times each part (``data``, ``forward``, and whatever the caller times with its
:attr:`Reader.clock`). :func:`one_thread` is the one torch CPU thread of the bookkeeping between
forward passes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import torch

from ..data.normalise import normalise_uint8
from ..hooks import capture, check_finite
from ..progress import tqdm
from ..runtime import cpu_threads

__all__ = ["NON_FINITE_ADVICE", "Reader", "one_thread"]


class _Clock:
    """Accumulates wall-clock seconds per named section (synchronising CUDA at boundaries)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextmanager
    def __call__(self, name: str):
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


#: The end of the message when a layer's activations are not finite (:func:`check_finite`).
NON_FINITE_ADVICE = (
    "no threshold or IoU would mean anything. Check the model's weights (a diverged or damaged "
    "checkpoint?) and its input normalisation (mean/std)"
)


def one_thread(device: torch.device):
    """One torch CPU thread for the bookkeeping between forward passes (thresholds, top
    images, finite checks): short memory-bound operations that a second thread barely speeds
    up on an idle machine and slows several-fold when another process shares the cores
    (:func:`skdlib.runtime.cpu_threads`, ``benchmarks/RESULTS.md``). No effect on GPUs."""
    return cpu_threads(1) if device.type == "cpu" else nullcontext()


def _layer_acts(acts: Mapping[str, torch.Tensor], layers: Sequence[str]) -> list[torch.Tensor]:
    out = []
    for name in layers:
        if name not in acts:
            raise RuntimeError(f"layer {name!r} was not called during the forward pass")
        a = acts[name]
        if a.dim() != 4:
            raise ValueError(
                f"layer {name!r} gives outputs of shape {tuple(a.shape)}; dissection needs "
                "(batch, units, height, width) maps: choose a convolutional layer"
            )
        out.append(a.detach())
    return out


class Reader:
    """One pass over the data set: timed batches, and the model's activations of ``layers``."""

    def __init__(self, model, layers, loader, device, mean, std, progress, ds) -> None:
        self.model, self.layers, self.loader, self.device = model, layers, loader, device
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.progress, self.ds = progress, ds
        self.clock = _Clock(device)

    def batches(self, desc: str) -> Iterator[dict[str, Any]]:
        """The loader's batches. Without worker processes they are decoded and collated here, on
        one torch thread: ``collate_broden``'s many small copies gain nothing from more, and on
        a machine whose cores are shared each of them waits for a descheduled thread
        (``benchmarks/bench_loading.py``: 3.6-16 ms/image with 2 threads, 0.2 with one)."""
        it = iter(tqdm(self.loader, desc=desc, unit="batch", disable=not self.progress))
        while True:
            with self.clock("data"), cpu_threads(1):
                batch = next(it, None)
            if batch is None:
                return
            yield batch

    def forward(self, batch: Mapping[str, Any], where: str) -> list[torch.Tensor]:
        """The activations ``[(B, U, h, w)]`` of ``batch``; NaN/±inf ones raise
        :class:`~skdlib.hooks.NonFiniteActivationError` naming their images' files and rows."""
        with self.clock("forward"), torch.no_grad():
            with capture(self.model, self.layers, detach=True) as acts:
                x = batch["image"].to(self.device, non_blocking=True)
                self.model(normalise_uint8(x, self.mean, self.std))
                out = _layer_acts(acts, self.layers)
        index = batch["index"].tolist()

        def images(positions: list[int]) -> list[str]:
            rows = [
                (self.ds.image_path(index[p]), self.ds.records[index[p]].line) for p in positions
            ]
            return [f"{path} (line {line} of index.csv)" for path, line in rows]

        with one_thread(self.device):
            check_finite(dict(zip(self.layers, out, strict=True)), self.layers, where, images,
                         NON_FINITE_ADVICE)  # fmt: skip
        return out
