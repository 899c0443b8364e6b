"""ImageNet-size step times, side by side in one run (never a pass/fail test): torchvision
ResNet34 -> ResNet18 at 224 px, one training step of :class:`skdlib.distill.DistillTrainer` for
plain training, SKD and KD.

Targets: KD step / SKD step >= 1.55 (a ResNet18 training step is ~3 forward-equivalents of 1.8
GFLOPs, a ResNet34 forward adds 3.6 GFLOPs: (3 x 1.8 + 3.6) / (3 x 1.8) ~ 1.67), and SKD step /
plain step <= 1.05 (SKD adds only four (B, C, C) similarity matrices of the stage outputs).

The three sides are interleaved and repeated and their medians compared, without and then with a
competing load (one busy process per core), so noise hits them alike. Usage:
``python benchmarks/bench_imagenet_steps.py [--quick] [--batch 16] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import torch
from timing import competing_load, step_times

from skdlib.distill import DistillConfig, DistillTrainer
from skdlib.models import create_model, get_architecture


def trainers(device: str) -> dict[str, DistillTrainer]:
    teacher = create_model("resnet34").to(device).eval()
    g = torch.Generator().manual_seed(0)
    stages = get_architecture("resnet34")
    vectors = {
        n: torch.randn(c, 16, generator=g)
        for n, c in zip(stages.stages, stages.widths, strict=True)
    }
    out = {}
    for side, method in (("plain", "none"), ("skd", "skd"), ("kd", "kd")):
        torch.manual_seed(0)
        cfg = DistillConfig(method=method, lr=0.1, weight_decay=1e-4)
        out[side] = DistillTrainer(
            create_model("resnet18"), cfg, "resnet18",
            teacher_model=teacher if method == "kd" else None, teacher_arch="resnet34",
            embedding=vectors if method == "skd" else None, device=device,
        )  # fmt: skip
        out[side].student.train()
    return out


def measure(sides: dict[str, DistillTrainer], batch: int, repeats: int, device: str) -> dict:
    x = torch.randn(batch, 3, 224, 224, device=device)
    y = torch.randint(0, 1000, (batch,), device=device)

    t = step_times(sides, x, y, repeats, device)
    return {**t, "kd_over_skd": t["kd"] / t["skd"], "skd_over_plain": t["skd"] / t["plain"]}


def report(label: str, r: dict, batch: int, device: str) -> None:
    print(
        f"{label}: batch {batch} at 224 px on {device}, s/step: plain {r['plain']:.3f} | "
        f"SKD {r['skd']:.3f} | KD {r['kd']:.3f}\n"
        f"    KD/SKD {r['kd_over_skd']:.2f} (target >= 1.55) | SKD/plain "
        f"{r['skd_over_plain']:.3f} (target <= 1.05)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--batch", type=int, default=None, help="default: 16 CPU, 128 CUDA")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    batch = args.batch or (128 if args.device == "cuda" else 16)
    name = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor()
    print(f"machine: {name or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)  # fmt: skip
    sides = trainers(args.device)
    results = {"batch": batch, "device": args.device}
    results["quiet"] = measure(sides, batch, repeats, args.device)
    report("quiet machine", results["quiet"], batch, args.device)
    with competing_load(os.cpu_count() or 1):
        results["loaded"] = measure(sides, batch, repeats, args.device)
    report("with a competing load", results["loaded"], batch, args.device)
    for trainer in sides.values():
        trainer.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
