"""The speed flags of :class:`skdlib.distill.DistillConfig`, measured side by side in one run
(never a pass/fail test): seconds per SKD training step of resnet8x4 (teacher resnet32x4's
vectors) at batch 64, 32 px, for

* ``fp32`` (the default), ``precision="bf16"`` (bfloat16 autocast), ``channels_last=True``, and
  ``compile=True`` (``torch.compile``; its compilation is excluded by warm-up steps),

each as a ratio to ``fp32``; interleaved and repeated, medians compared, without and with a
competing load. On GPUs bf16 and channels-last use tensor cores; on a CPU without bfloat16
instructions bf16 is slower, and what compile gains depends on the machine. Usage:
``python benchmarks/bench_speed_flags.py [--quick] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import torch
from timing import competing_load, step_times

from skdlib.distill import DistillConfig, DistillTrainer
from skdlib.models import create_model, stage_channels, stage_names

FLAGS = {
    "fp32": {},
    "bf16": {"precision": "bf16"},
    "channels_last": {"channels_last": True},
    "compile": {"compile": True},
}


def trainers(device: str) -> dict[str, DistillTrainer]:
    g = torch.Generator().manual_seed(0)
    teacher = "resnet32x4"
    vectors = {
        n: torch.randn(c, 16, generator=g)
        for n, c in zip(stage_names(teacher), stage_channels(teacher), strict=True)
    }
    out = {}
    for name, flags in FLAGS.items():
        torch.manual_seed(0)
        out[name] = DistillTrainer(
            create_model("resnet8x4"), DistillConfig(method="skd", **flags), "resnet8x4",
            teacher_arch=teacher, embedding=vectors, device=device,
        )  # fmt: skip
        out[name].student.train()
    return out


def measure(sides: dict, batch: int, repeats: int, device: str) -> dict:
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 100, (batch,), device=device)

    t = step_times(sides, x, y, repeats, device, warmup=3)
    return {**t, **{f"{n}_over_fp32": t[n] / t["fp32"] for n in FLAGS if n != "fp32"}}


def report(label: str, r: dict) -> None:
    ratios = " | ".join(f"{n} {r[f'{n}_over_fp32']:.2f}x" for n in FLAGS if n != "fp32")
    print(f"{label}: fp32 {r['fp32']:.3f} s/step; relative to it: {ratios}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    name = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor()
    print(f"machine: {name or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; SKD step of resnet8x4, batch {args.batch}",
          flush=True)  # fmt: skip
    sides = trainers(args.device)
    results = {"quiet": measure(sides, args.batch, repeats, args.device)}
    report("quiet machine", results["quiet"])
    with competing_load(os.cpu_count() or 1):
        results["loaded"] = measure(sides, args.batch, repeats, args.device)
    report("with a competing load", results["loaded"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
