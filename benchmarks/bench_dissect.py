"""Network Dissection throughput: ResNet18 ``layer1..layer4`` on a generated Broden at 224 px.

Prints images/s of :func:`skdlib.dissect.dissect` and where the time goes: the model's forward
passes, the per-unit quantile thresholds, the IoU tally (masks and counts) and data loading
(JPEG + PNG decoding), with the tally's share of the whole run and of the compute (forward +
threshold + tally). ``benchmarks/bench_tally.py`` sets the tally beside NetDissect-Lite's.

By default the activation cache is off (``--cache-mib 0``), so the model runs twice per image as
it must on the real Broden (63k images do not fit in memory); ``--cache-mib 1024`` shows the
single-pass case of small data sets. Run it on the CPU and, when one is present, on the GPU
(``--device cuda``). The machine may be shared: each figure is the median of ``--repeats``
runs, and the load average is printed. Never part of the tests. Usage::

    python benchmarks/bench_dissect.py [--images 128] [--batch-size 32] [--device auto]
        [--network runs/quick/network.pt]

``--network`` takes the tutorial's ``{"model": state_dict}`` file (the quick profile's
concept-trained ResNet18); without it the ResNet18 has random weights (seed 0).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from studied_network import resnet18

from skdlib.data import make_synthetic_broden
from skdlib.dissect import BrodenDataset, dissect
from skdlib.runtime import resolve_device

LAYERS = ["layer1", "layer2", "layer3", "layer4"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-mib", type=int, default=0, help="activation cache (MiB)")
    parser.add_argument("--data", default=None, help="generated Broden folder (made if needed)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; medians are reported")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--network", help="state-dict file of a ResNet18 (default: random)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]

    device = resolve_device(args.device)
    root = Path(args.data or f"data/synthetic_broden_224_n{args.images}")
    make_synthetic_broden(root, args.images, size=224, seed=0)
    model = resnet18(args.network)
    # warm-up (first-call overheads, cudnn autotuning) on the first images
    few = BrodenDataset(root)
    few.records = few.records[: args.batch_size]
    dissect(model, LAYERS, few, batch_size=args.batch_size, device=device, progress=False)

    walls, runs = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = dissect(
            model,
            LAYERS,
            root,
            batch_size=args.batch_size,
            num_workers=args.workers,
            device=device,
            cache_bytes=args.cache_mib * 2**20,
            progress=False,
        )
        walls.append(time.perf_counter() - start)
        runs.append(result.meta["seconds"])
    wall = statistics.median(walls)
    sec = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    compute = sec["forward"] + sec["threshold"] + sec["tally"]
    n = len(BrodenDataset(root))
    passes = 1 if result.meta["cached_activations"] else 2
    report = {
        "machine": platform.processor() or platform.machine(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "images": n,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "forward_passes_per_image": passes,
        "wall_s": wall,
        "seconds": sec,
        "images_per_s": n / wall,
        "forward_images_per_s": n / sec["forward"],
        "tally_images_per_s": n / sec["tally"],
        "threshold_images_per_s": n / sec["threshold"],
        "tally_share_of_compute": sec["tally"] / compute,
        "tally_share_of_wall": sec["tally"] / wall,
        "network": args.network or "random weights",
        "load_average_1min": [load_before, os.getloadavg()[0]],
        "interpretable_units": {layer: result.interpretable(layer) for layer in LAYERS},
    }
    print(
        f"machine: {report['machine']}, device {device}"
        + (f" ({report['gpu']})" if report["gpu"] else "")
        + f", torch {torch.__version__}, {report['threads']} threads, load average "
        f"{load_before:.1f} -> {os.getloadavg()[0]:.1f} (other processes compete for the cores)"
    )
    print(
        f"dissect ResNet18 ({report['network']}) {'/'.join(LAYERS)} on {n} generated Broden "
        f"images at 224 "
        f"(batch {args.batch_size}, {passes} forward pass{'es' if passes > 1 else ''} per image; "
        f"median of {args.repeats} runs):"
    )
    print(f"  overall      {report['images_per_s']:8.1f} images/s ({wall:.1f} s)")
    print(
        f"  forward      {report['forward_images_per_s']:8.1f} images/s ({sec['forward']:.1f} s,"
        f" {passes} pass{'es' if passes > 1 else ''})"
    )
    for part in ("threshold", "tally"):
        rate = report[f"{part}_images_per_s"]
        print(f"  {part:<12} {rate:8.1f} images/s ({sec[part]:.1f} s)")
    print(f"  data loading {sec['data']:.1f} s")
    print(
        f"  tally share of the whole run: {report['tally_share_of_wall']:.1%}; of the compute "
        f"(forward + threshold + tally): {report['tally_share_of_compute']:.1%}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
