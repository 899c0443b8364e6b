"""Distillation benchmarks, measured side by side in one run (never a pass/fail test).

1. Seconds per training step at batch 64 of :class:`skdlib.distill.DistillTrainer` for plain
   training (``none``), SKD and KD, on resnet32x4 -> resnet8x4 and resnet56 -> resnet20, and the
   ratios. Targets for the x4 pair: SKD / plain <= 1.15 and SKD / KD <= 0.50 (the FLOP floor of
   SKD is about 1.07x plain; KD adds a teacher forward, about 2.5x plain on a CPU). A
   straightforward SKD term (normalise, matmul, log-softmax through plain autograd) is timed in the
   same trainer for comparison.
2. Input pipelines, images per second over one pass of augmented training batches: the
   device-resident :class:`skdlib.distill.cifar.DeviceLoader` against a torchvision ``DataLoader``.
3. CUDA only: seconds per epoch of resnet8x4 for plain, SKD and KD (teacher resnet32x4) on the
   device-resident pipeline.
4. The cost side of Table 1: seconds per training step of **every registered method** on
   resnet32x4 -> resnet8x4 at batch 64, divided by the plain step (``none``), interleaved; CRD
   with a CIFAR-size memory bank (50,000 x 128 per side, 16,384 negatives); AB, FT and FSP also
   as one step of their initialisation stage (their main stage is the row without "(init)").

The sides of each ratio are interleaved, repeated, and their medians compared, so noise on a
shared machine hits them alike. Usage: ``python benchmarks/bench_distill.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F
from timing import interleaved, step_times

from skdlib.distill import METHODS, DistillConfig, DistillTrainer, Method, get_method, register
from skdlib.distill.cifar import DeviceLoader, cifar_loader, load_split
from skdlib.models import create_model, stage_channels, stage_names

PAIRS = (("resnet32x4", "resnet8x4"), ("resnet56", "resnet20"))
#: The registered methods, before this script registers its comparison.
BUILT_IN = list(METHODS)


def straightforward_skd(student, vectors, config):
    """Eq. 2 written the obvious way (normalise, matmul, log_softmax), left to autograd."""
    total = 0.0
    for name, v in vectors.items():
        a = F.normalize(student[name].flatten(2), dim=2)
        vn = F.normalize(v, dim=1)
        p = torch.softmax(vn @ vn.T, dim=-1)
        log_q = torch.log_softmax(a @ a.transpose(1, 2), dim=-1)
        total = total - (p * log_q).sum(-1).mean()
    return total / len(vectors)


# the comparison is one more entry of the method registry, for this benchmark only
register(
    Method(
        "skd-straightforward", "SKD (straightforward)", "SKD left to autograd",
        loss=straightforward_skd, static=True, beta=0.5,
    )
)  # fmt: skip


def make_trainer(method: str, teacher: str, student: str, device: str):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    vectors = {
        n: torch.randn(c, 16, generator=g)
        for n, c in zip(stage_names(teacher), stage_channels(teacher), strict=True)
    }
    entry = get_method(method)
    trainer = DistillTrainer(
        create_model(student),
        DistillConfig(method=method),
        student,
        teacher_model=create_model(teacher) if entry.teacher_forward else None,
        teacher_arch=teacher,
        embedding=vectors if entry.static else None,
        device=device,
    )
    trainer.student.train()
    return trainer


def bench_steps(teacher: str, student: str, batch: int, repeats: int, device: str) -> dict:
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 100, (batch,), device=device)
    sides = {
        "plain": make_trainer("none", teacher, student, device),
        "skd": make_trainer("skd", teacher, student, device),
        "kd": make_trainer("kd", teacher, student, device),
        "naive_skd": make_trainer("skd-straightforward", teacher, student, device),
    }

    t = step_times(sides, x, y, repeats, device)
    for tr in sides.values():
        tr.close()
    return {
        **t,
        "skd_over_plain": t["skd"] / t["plain"],
        "skd_over_kd": t["skd"] / t["kd"],
        "kd_over_plain": t["kd"] / t["plain"],
        "naive_over_plain": t["naive_skd"] / t["plain"],
    }


def bench_methods(teacher: str, student: str, batch: int, repeats: int, device: str) -> dict:
    """Seconds per step of every built-in method (and of each initialisation stage), and the
    ratio to the plain step."""
    n_data = 50_000  # CIFAR-100's training set: the size of CRD's memory bank
    labels = torch.arange(n_data) % 100
    g = torch.Generator().manual_seed(0)
    index = torch.randperm(n_data, generator=g)[:batch]
    x = torch.randn(batch, 3, 32, 32, generator=g).to(device)
    y, idx = labels[index].to(device), index.to(device)
    torch.manual_seed(0)
    teacher_model = create_model(teacher).to(device).eval()
    vectors = {
        n: torch.randn(c, 16, generator=g)
        for n, c in zip(stage_names(teacher), stage_channels(teacher), strict=True)
    }
    fns, trainers = {}, []
    for name in BUILT_IN:
        entry = get_method(name)
        torch.manual_seed(0)
        tr = DistillTrainer(
            create_model(student), DistillConfig(method=name), student,
            teacher_model=teacher_model if entry.needs_teacher else None, teacher_arch=teacher,
            embedding=vectors if entry.static else None, train_targets=labels, device=device,
        )  # fmt: skip
        trainers.append(tr)

        def step(tr=tr, stage="main"):
            tr.term.set_modes(stage)
            if stage == "init":
                tr.init_stage.step(x, y)
            else:
                tr.train_step(x, y, idx if tr.method.needs_index else None)
            if device == "cuda":
                torch.cuda.synchronize()

        fns[name] = step
        if entry.init is not None:
            fns[f"{name} (init)"] = lambda tr=tr: step(tr, "init")
    t = interleaved(fns, repeats)
    for tr in trainers:
        tr.close()
    return {name: {"seconds": s, "over_plain": s / t["none"]} for name, s in t.items()}


def images_per_second(loader, limit: int, device: str) -> float:
    n = 0
    start = time.perf_counter()
    for x, _ in loader:
        x = x.to(device, non_blocking=True)
        n += x.shape[0]
        if n >= limit:
            break
    if device == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def bench_pipelines(dataset, device: str, limit: int, workers: int) -> dict:
    out = {}
    device_loader = DeviceLoader(dataset, 64, device, shuffle=True, augment=True)
    tv_loader = cifar_loader(dataset, 64, True, device, pipeline="torchvision", workers=workers)
    for _ in range(2):  # interleave two rounds, keep the better of each
        for name, loader in (("device_resident", device_loader), ("torchvision", tv_loader)):
            rate = images_per_second(loader, limit, device)
            out[name] = max(out.get(name, 0.0), rate)
    out["speedup"] = out["device_resident"] / out["torchvision"]
    out["workers"] = workers
    return out


def bench_epochs(dataset, device: str) -> dict:
    loader = DeviceLoader(dataset, 64, device, shuffle=True, augment=True)
    out = {}
    for method in ("none", "skd", "kd"):
        trainer = make_trainer(method, "resnet32x4", "resnet8x4", device)
        torch.backends.cudnn.benchmark = True
        for _ in range(2):  # first epoch warms cuDNN up; time the second
            torch.cuda.synchronize()
            start = time.perf_counter()
            for x, y in loader:
                trainer.train_step(x, y)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - start
        out[method] = seconds
        trainer.close()
    out["skd_over_plain"] = out["skd"] / out["none"]
    out["skd_over_kd"] = out["skd"] / out["kd"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="device of (1): cpu (default) or cuda")
    parser.add_argument("--data", default="synthetic", help="(2)/(3): synthetic or cifar100")
    parser.add_argument("--per-class", type=int, default=None, help="synthetic images per class")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers in (2)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    cuda = torch.cuda.is_available()
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, CUDA: "
        f"{torch.cuda.get_device_name() if cuda else 'none'}",
        flush=True,
    )
    results: dict = {"steps": {}}
    for teacher, student in PAIRS:
        r = bench_steps(teacher, student, args.batch, repeats, args.device)
        results["steps"][f"{teacher}->{student}"] = r
        print(
            f"(1) {teacher} -> {student}, batch {args.batch}, {args.device}, s/step: "
            f"plain {r['plain']:.3f} | SKD {r['skd']:.3f} | KD {r['kd']:.3f} | "
            f"straightforward SKD {r['naive_skd']:.3f}\n"
            f"    SKD/plain {r['skd_over_plain']:.3f} (target <= 1.15) | SKD/KD "
            f"{r['skd_over_kd']:.3f} (target <= 0.50) | KD/plain {r['kd_over_plain']:.2f} | "
            f"straightforward SKD/plain {r['naive_over_plain']:.3f}",
            flush=True,
        )

    device = "cuda" if cuda else "cpu"
    per_class = args.per_class or (500 if cuda else 20)
    dataset = load_split(args.data, True, n_per_class=per_class)
    workers = args.workers if args.workers is not None else (8 if cuda else 0)
    limit = len(dataset) if cuda else min(len(dataset), 2000)
    p = bench_pipelines(dataset, device, limit, workers)
    results["pipeline"] = {**p, "device": device, "images": limit}
    print(
        f"(2) input pipeline on {device}, {limit} augmented images, batch 64: device-resident "
        f"{p['device_resident']:.0f} img/s | torchvision DataLoader ({workers} workers) "
        f"{p['torchvision']:.0f} img/s | x{p['speedup']:.1f}",
        flush=True,
    )

    if cuda:
        e = bench_epochs(dataset, "cuda")
        results["epochs"] = {**e, "images": len(dataset)}
        print(
            f"(3) resnet8x4 epoch of {len(dataset)} images on the device pipeline, s/epoch: "
            f"plain {e['none']:.2f} | SKD {e['skd']:.2f} | KD (resnet32x4) {e['kd']:.2f} | "
            f"SKD/plain {e['skd_over_plain']:.3f} | SKD/KD {e['skd_over_kd']:.3f}",
            flush=True,
        )
    else:
        print("(3) skipped: no CUDA device", flush=True)

    teacher, student = PAIRS[0]
    m = bench_methods(teacher, student, args.batch, repeats, args.device)
    results["methods"] = m
    print(
        f"(4) every method, {teacher} -> {student}, batch {args.batch}, {args.device}: "
        "ms/step and / plain step",
        flush=True,
    )
    for name, r in m.items():
        group = get_method(name.split(" ")[0]).group or "-"
        print(f"    {name:12} {group:9} {1000 * r['seconds']:8.1f} ms  x{r['over_plain']:.2f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
