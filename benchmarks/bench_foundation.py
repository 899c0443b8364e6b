"""Foundation benchmarks, measured side by side in one run (never a pass/fail test).

1. One neuron-embedding step on ResNet18 at 224x224 (frozen forward + loss + update) over the
   frozen forward alone. Target <= 1.05; the FLOP count puts the floor near 1.03.
2. ``skd_loss`` forward+backward over resnet8x4's stage shapes (64x32x32, 128x16x16, 256x8x8,
   batch 64) as a fraction of one training step of resnet8x4. Target <= 0.12. A straightforward
   normalise-then-matmul version is timed beside it for comparison.
3. Peak extra memory of ``embedding_loss`` (forward + backward) for C = 2048, 7x7, batch 64
   (ResNet50's last stage): chunked default against one unchunked pass, each in a fresh process.

The machine is shared and noisy: the two sides of each ratio are interleaved, repeated, and the
medians compared. Usage: ``python benchmarks/bench_foundation.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

import torch
import torch.nn.functional as F
import torchvision
from timing import interleaved

from skdlib.embedding import EmbeddingConfig, EmbeddingTrainer
from skdlib.hooks import capture
from skdlib.losses import DEFAULT_CHUNK_BYTES, skd_loss
from skdlib.models import create_model


def bench_embedding_step(batch: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    layers = ["layer1", "layer2", "layer3", "layer4"]
    images = torch.randn(batch, 3, 224, 224)
    trainer = EmbeddingTrainer(model, layers, EmbeddingConfig(), device="cpu")
    trainer.prepare(images.shape[1:])
    for p in model.parameters():
        p.requires_grad_(False)

    def forward_only():
        with torch.no_grad(), capture(model, layers, detach=True):
            model(images)

    def embedding_step():
        trainer.train_step(images)

    t = interleaved({"forward": forward_only, "step": embedding_step}, repeats)
    return {**t, "ratio": t["step"] / t["forward"]}


def naive_skd(acts, vecs):
    """Normalise-then-matmul through plain autograd, for comparison only."""
    total = 0.0
    for a, v in zip(acts, vecs, strict=True):
        an = F.normalize(a.flatten(2), dim=2)
        vn = F.normalize(v, dim=1)
        p = torch.softmax(vn @ vn.T, dim=-1)
        total = total - (p * torch.log_softmax(an @ an.transpose(1, 2), dim=-1)).sum(-1).mean()
    return total / len(acts)


def bench_skd_fraction(batch: int, repeats: int) -> dict:
    torch.manual_seed(0)
    student = create_model("resnet8x4")
    opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 100, (batch,))
    shapes = [(batch, 64, 32, 32), (batch, 128, 16, 16), (batch, 256, 8, 8)]
    acts = [torch.relu(torch.randn(s)).requires_grad_() for s in shapes]
    vecs = [torch.randn(s[1], 16) for s in shapes]

    def train_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(student(x), y).backward()
        opt.step()

    def skd():
        torch.stack([skd_loss(a, v) for a, v in zip(acts, vecs, strict=True)]).mean().backward()

    def naive():
        naive_skd(acts, vecs).backward()

    t = interleaved({"train_step": train_step, "skd": skd, "naive_skd": naive}, repeats)
    return {
        **t,
        "skd_fraction": t["skd"] / t["train_step"],
        "naive_fraction": t["naive_skd"] / t["train_step"],
    }


MEMORY_CHILD = """
import json, os, sys, threading, time, torch
from skdlib.losses import embedding_loss
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
torch.manual_seed(0)
act = torch.relu(torch.randn(64, 2048, 7, 7))
vec = torch.randn(2048, 16, requires_grad=True)
chunk = int(sys.argv[1])
embedding_loss(act[:1, :8], vec[:8].detach().requires_grad_())  # warm up
peak, done = [0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.0005)
base = rss()
thread = threading.Thread(target=sample)
thread.start()
embedding_loss(act, vec, max_chunk_bytes=chunk).backward()
done.set()
thread.join()
print(json.dumps({"extra_mib": (max(peak[0], rss()) - base) / 2**20}))
"""


def bench_memory() -> dict:
    """Peak resident memory above the baseline, sampled every 0.5 ms in a fresh process.

    glibc's mmap threshold is pinned so freed blocks go back to the OS and RSS tracks what is
    allocated now.
    """
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    out = {}
    for name, chunk in (("chunked_default", DEFAULT_CHUNK_BYTES), ("unchunked", 2**62)):
        proc = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(chunk)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        out[name] = json.loads(proc.stdout)["extra_mib"]
    act_mib = 64 * 2048 * 49 * 4 / 2**20
    return {**out, "activation_mib": act_mib, "one_sample_cc_mib": 2048 * 2048 * 4 / 2**20}


def bench_synthetic(repeats: int) -> dict:
    import numpy as np

    from skdlib.data import render_scene

    t = interleaved({"scene224": lambda: render_scene(np.random.default_rng(0))}, repeats * 5)
    return {"ms_per_224_scene": 1e3 * t["scene224"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, batch 16 for (1)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )

    r1 = bench_embedding_step(16 if args.quick else 64, repeats)
    print(
        f"(1) ResNet18 224x224 batch {16 if args.quick else 64}: frozen forward "
        f"{r1['forward']:.3f} s, embedding step {r1['step']:.3f} s, "
        f"ratio {r1['ratio']:.3f} (target <= 1.05)",
        flush=True,
    )

    r2 = bench_skd_fraction(64, repeats)
    print(
        f"(2) resnet8x4 train step {r2['train_step']:.3f} s; skd_loss fwd+bwd {r2['skd']:.4f} s "
        f"= {r2['skd_fraction']:.3f} of a step (target <= 0.12); straightforward version "
        f"{r2['naive_skd']:.4f} s = {r2['naive_fraction']:.3f}",
        flush=True,
    )

    r3 = bench_memory()
    print(
        f"(3) embedding_loss C=2048 7x7 batch 64 (activation itself {r3['activation_mib']:.0f} "
        f"MiB): peak extra {r3['chunked_default']:.0f} MiB chunked (default 16 MiB blocks) vs "
        f"{r3['unchunked']:.0f} MiB unchunked",
        flush=True,
    )

    r4 = bench_synthetic(repeats)
    print(f"(4) synthetic concept scene at 224 px: {r4['ms_per_224_scene']:.2f} ms", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {"embedding_step": r1, "skd": r2, "memory": r3, "synthetic": r4}, handle, indent=2
            )


if __name__ == "__main__":
    main()
