"""Broden loading: milliseconds per image read through ``dissect``'s DataLoader, by worker count.

Decoding one Broden image (JPEG) and its segmentation PNGs is the data-loading cost of
:func:`skdlib.dissect.dissect` and of the notebooks' loaders; with worker processes it overlaps
with the model's work. This script reads a generated Broden at 224 px through the same
``DataLoader`` (``collate_broden``, batch 32) with each ``--workers`` count, interleaved, and
prints the median wall time per image of a whole pass (worker start-up included), of the pass
without workers on one torch thread (what ``dissect`` does: collating on several threads of a
busy machine is many times slower) and of a plain ``dataset[i]`` loop. Never part of the
tests. Usage::

    python benchmarks/bench_loading.py [--images 256] [--workers 0 2] [--repeats 5] [--load 1]

``--load N`` runs N one-thread matrix-product processes beside it (``timing.competing_load``),
as other work on a shared machine would.
"""

from __future__ import annotations

import argparse
import os
import platform
from contextlib import nullcontext
from pathlib import Path

import torch
from timing import competing_load, interleaved
from torch.utils.data import DataLoader

from skdlib.data import make_synthetic_broden
from skdlib.dissect import BrodenDataset
from skdlib.dissect.broden import collate_broden
from skdlib.runtime import cpu_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--load", type=int, default=0, help="competing one-thread processes")
    parser.add_argument("--data", default=None, help="generated Broden folder (made if needed)")
    args = parser.parse_args()
    root = Path(args.data or f"/tmp/skd-bench/broden{args.size}-{args.images}")
    root = make_synthetic_broden(root, args.images, size=args.size, progress=False)
    ds = BrodenDataset(root)

    def one_pass(workers: int, threads: int | None = None):
        def run() -> None:
            loader = DataLoader(ds, batch_size=args.batch_size, num_workers=workers,
                                collate_fn=collate_broden)  # fmt: skip
            with cpu_threads(threads) if threads else nullcontext():
                for _ in loader:
                    pass

        return run

    def plain() -> None:
        for i in range(len(ds)):
            ds[i]

    fns = {f"workers={w}": one_pass(w) for w in args.workers}
    fns["workers=0, 1 thread"] = one_pass(0, threads=1)
    fns["dataset[i] loop"] = plain
    load = os.getloadavg()[0]
    with competing_load(args.load) if args.load else nullcontext():
        seconds = interleaved(fns, args.repeats)
    print(
        f"{len(ds)} images at {args.size} px, batch {args.batch_size}; {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs, torch {torch.__version__}; load average {load:.1f}"
        f" -> {os.getloadavg()[0]:.1f}; {args.load} competing process(es); median of {args.repeats}"
    )
    for name, s in seconds.items():
        print(f"  {name:>20}: {1000 * s / len(ds):6.2f} ms/image ({s:.2f} s per pass)")


if __name__ == "__main__":
    main()
