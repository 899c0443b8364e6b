"""Shared timing for the benchmark scripts: interleaved medians, so noise hits all sides alike."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager

#: One competing process: 512x512 matrix products on one thread, forever.
LOAD = (
    "import torch, time\n"
    "torch.set_num_threads(1)\n"
    "a = torch.randn(512, 512)\n"
    "while True:\n"
    "    a = torch.tanh(a @ a)\n"
)


@contextmanager
def competing_load(processes: int = 1):
    """Run ``processes`` one-thread matmul processes beside the block (started 1 s before it)."""
    loads = [subprocess.Popen([sys.executable, "-c", LOAD]) for _ in range(processes)]
    try:
        time.sleep(1.0)
        yield
    finally:
        for load in loads:
            load.kill()
            load.wait()


def interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds of each callable; one round calls each in turn, ``repeats`` rounds."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def step_times(
    trainers: dict, x, y, repeats: int, device: str, warmup: int = 1
) -> dict[str, float]:
    """Median seconds of one ``trainer.train_step(x, y)`` of each trainer, interleaved
    (:func:`interleaved`); CUDA is synchronised after each step."""
    import torch

    def step(trainer):
        def run():
            trainer.train_step(x, y)
            if device == "cuda":
                torch.cuda.synchronize()

        return run

    return interleaved({name: step(t) for name, t in trainers.items()}, repeats, warmup)
