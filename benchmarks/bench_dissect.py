"""Network Dissection's whole run: ResNet18 ``layer1..layer4`` on generated Broden sets at 224 px.

Two measurements per label statistics (``--statistics simple broden``: the simple generated Broden,
~6 label combinations per image, and one with the real Broden's statistics,
:mod:`skdlib.data.multisource`):

1. **the whole run with the network** — images/s of :func:`skdlib.dissect.dissect` and where the
   time goes (the model's forward passes, the per-unit quantile thresholds, the top images, the
   IoU tally, data loading), with the tally's share of the whole run. The activation cache is off
   (``--cache-mib 0``), so the model runs twice per image as it must on the real Broden;
2. **dissect() beside NetDissect-Lite's tally, on the same activations** — the network's
   activations are computed once and replayed (a module that hands out the stored maps of each
   batch in turn), so ``dissect()`` spends its time on decoding the images and labels, the
   thresholds, the top images and the tally; the Lite-style tally (``lite_tally.py``) counts the
   same layers on the same activations and thresholds. Interleaved, median of ``--repeats``, as
   is and with a competing one-thread matmul process.

The machine may be shared: the load average is printed. Never part of the tests. Usage::

    python benchmarks/bench_dissect.py [--images 128] [--statistics simple broden]
        [--network runs/quick/network.pt] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics as stats
import time
from pathlib import Path

import torch
from bench_tally import features, run_lite
from studied_network import resnet18
from timing import competing_load, interleaved
from torch import nn

from skdlib.data import make_synthetic_broden
from skdlib.dissect import BrodenDataset, dissect
from skdlib.runtime import resolve_device

LAYERS = ["layer1", "layer2", "layer3", "layer4"]


class Replay(nn.Module):
    """Hands out stored activations, batch after batch (``dissect`` reads the data in order):
    its sub-modules ``layer1..`` return the stored maps, so hooks see them as a network's."""

    def __init__(self, batches: list[dict], layers: list[str]) -> None:
        super().__init__()
        self.maps = [[b["acts"][name] for name in layers] for b in batches]
        self.layers = layers
        for name in layers:
            self.add_module(name, nn.Identity())
        self.cursor = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.maps[self.cursor % len(self.maps)]
        if maps[0].shape[0] != x.shape[0]:
            raise RuntimeError("the replay is out of step with the data: use the same batches")
        self.cursor += 1
        for name, a in zip(self.layers, maps, strict=True):
            getattr(self, name)(a)
        return x


def whole_run(root: Path, args, device) -> dict:
    model = resnet18(args.network)
    few = BrodenDataset(root)
    few.records = few.records[: args.batch_size]  # warm-up: first-call overheads
    dissect(model, LAYERS, few, batch_size=args.batch_size, device=device, progress=False)
    walls, runs = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = dissect(model, LAYERS, root, batch_size=args.batch_size, device=device,
                         num_workers=args.workers, cache_bytes=args.cache_mib * 2**20,
                         progress=False)  # fmt: skip
        walls.append(time.perf_counter() - start)
        runs.append(result.meta["seconds"])
    wall = stats.median(walls)
    sec = {key: stats.median(r.get(key, 0.0) for r in runs) for key in runs[0]}
    n = result.meta["n_images"]
    return {
        "wall_s": wall,
        "images_per_s": n / wall,
        "seconds": sec,
        "tally_share_of_wall": sec["tally"] / wall,
        "forward_passes_per_image": 1 if result.meta["cached_activations"] else 2,
        "interpretable_units": {layer: result.interpretable(layer) for layer in LAYERS},
    }


def beside_lite(root: Path, args) -> dict:
    ds = BrodenDataset(root)
    batches = features(resnet18(args.network), LAYERS, ds, args.batch_size)
    n = len(ds)
    first = dissect(Replay(batches, LAYERS), LAYERS, ds, batch_size=args.batch_size,
                    num_workers=0, cache_bytes=0, progress=False)  # fmt: skip
    thresholds = {name: first.thresholds[name].float() for name in LAYERS}
    lut, n_cat = ds.category_lut(), len(ds.categories)
    seconds: dict[str, list[dict]] = {"parts": []}

    def ours():
        r = dissect(Replay(batches, LAYERS), LAYERS, ds, batch_size=args.batch_size,
                    num_workers=0, cache_bytes=0, progress=False)  # fmt: skip
        seconds["parts"].append(r.meta["seconds"])

    def lite():
        for name in LAYERS:
            run_lite(batches, name, thresholds[name], lut, n_cat)

    def measure() -> dict:
        seconds["parts"] = []
        sec = interleaved({"dissect": ours, "lite": lite}, args.repeats)
        parts = {k: stats.median(p.get(k, 0.0) for p in seconds["parts"])
                 for k in seconds["parts"][0]}  # fmt: skip
        return {
            "dissect_images_per_s": n / sec["dissect"],
            "lite_tally_images_per_s": n / sec["lite"],
            "speedup": sec["lite"] / sec["dissect"],
            "dissect_seconds": sec["dissect"],
            "dissect_parts": parts,
        }

    out = {"quiet": measure()}
    if not args.no_load:
        with competing_load(1):
            out["competing_load"] = measure()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--statistics", nargs="+", default=["simple", "broden"], choices=["simple", "broden"],
        help="label statistics of the generated Broden",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-mib", type=int, default=0, help="activation cache (MiB)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; medians are reported")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--network", help="state-dict file of a ResNet18 (default: random)")
    parser.add_argument("--no-network-run", action="store_true", help="skip measurement 1")
    parser.add_argument("--no-load", action="store_true", help="skip the competing-load run")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    report = {
        "machine": platform.processor() or platform.machine(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "images": args.images,
        "network": args.network or "random weights",
        "load_average_1min_before": os.getloadavg()[0],
        "statistics": {},
    }
    for statistics in args.statistics:
        suffix = "" if statistics == "simple" else "_ms"
        root = make_synthetic_broden(f"data/synthetic_broden_224_n{args.images}{suffix}",
                                     args.images, statistics=statistics)  # fmt: skip
        entry = {}
        if not args.no_network_run:
            entry["whole_run"] = whole_run(root, args, device)
        if device.type == "cpu":
            entry["beside_lite"] = beside_lite(root, args)
        report["statistics"][statistics] = entry
    report["load_average_1min_after"] = os.getloadavg()[0]
    print(
        f"machine: {report['machine']}, device {device}"
        + (f" ({report['gpu']})" if report["gpu"] else "")
        + f", torch {torch.__version__}, {report['threads']} threads, load average "
        f"{report['load_average_1min_before']:.1f} -> {report['load_average_1min_after']:.1f}; "
        f"ResNet18 ({report['network']}) {'/'.join(LAYERS)}, {args.images} images at 224, "
        f"batch {args.batch_size}, median of {args.repeats}"
    )
    for statistics, entry in report["statistics"].items():
        print(f"\n{statistics} labels:")
        if "whole_run" in entry:
            w = entry["whole_run"]
            sec = w["seconds"]
            print(
                f"  whole run with the network: {w['images_per_s']:.1f} images/s "
                f"({w['wall_s']:.1f} s; forward {sec['forward']:.1f} s, thresholds "
                f"{sec['threshold']:.2f} s, top images {sec.get('top_images', 0.0):.2f} s, "
                f"tally {sec['tally']:.2f} s, data {sec['data']:.2f} s); tally share of the "
                f"whole run {w['tally_share_of_wall']:.1%}"
            )
        for condition, r in entry.get("beside_lite", {}).items():
            p = r["dissect_parts"]
            print(
                f"  {condition}: dissect() on replayed activations {r['dissect_images_per_s']:.1f}"
                f" images/s (data {p['data']:.2f} s, thresholds {p['threshold']:.2f} s, top "
                f"images {p.get('top_images', 0.0):.2f} s, tally {p['tally']:.2f} s) vs the "
                f"Lite-style tally {r['lite_tally_images_per_s']:.1f} images/s: "
                f"{r['speedup']:.2f}x"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
