"""One SKD training run of a small batch-norm-free student, on as many processes as started it.

``python tests/support/ddp_run.py OUT`` trains on one process; ``torchrun --standalone
--nproc_per_node 2 tests/support/ddp_run.py OUT`` on two (gloo, CPU). Same seed, same global
batch: the final weights must agree (tests/distill/test_distributed.py). ``--until E`` stops after
epoch E, as a killed run would (its checkpoint is on disk).
"""

from __future__ import annotations

import argparse
import os
import signal

import torch
from torch import nn

from skdlib.data import SyntheticCIFAR100
from skdlib.distill import DistillConfig, DistillTrainer
from skdlib.distill.cifar import DeviceLoader
from skdlib.distill.distributed import init_distributed


class Student(nn.Module):
    """Two conv stages (no batch norm: per-rank statistics would differ) and a classifier."""

    stage_names = ("layer1", "layer2")

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.fc = nn.Linear(16, 100)

    def forward(self, x):
        return self.fc(self.layer2(self.layer1(x)).mean((2, 3)))


class KilledAt:
    """The loader of rank ``rank``, whose process is killed (SIGKILL) at a batch of an epoch."""

    def __init__(self, loader, rank: int, epoch: int, batch: int = 2) -> None:
        self.loader, self.rank, self.epoch, self.batch = loader, rank, epoch, batch
        self.epochs = 0

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.epochs += 1
        for i, batch in enumerate(self.loader, 1):
            if self.epochs == self.epoch and i == self.batch and self.rank == RANK[0]:
                os.kill(os.getpid(), signal.SIGKILL)
            yield batch


RANK = [0]


def run(
    out: str, until: int | None = None, epochs: int = 3, kill: tuple[int, int] | None = None
) -> DistillTrainer:
    d = init_distributed("cpu")
    RANK[0] = d.rank
    torch.manual_seed(0)
    student = Student()
    g = torch.Generator().manual_seed(1)
    vectors = {
        "layer1": torch.randn(8, 16, generator=g),
        "layer2": torch.randn(16, 16, generator=g),
    }
    config = DistillConfig(method="skd", epochs=epochs, batch_size=20, lr=0.05, seed=3)
    trainer = DistillTrainer(student, config, "student", embedding=vectors, distributed=d)
    train = DeviceLoader(SyntheticCIFAR100(n_per_class=1), 20, "cpu", shuffle=True, augment=True)
    test = DeviceLoader(SyntheticCIFAR100(n_per_class=1, train=False), 50, "cpu", shuffle=False,
                        augment=False)  # fmt: skip
    if kill is not None:  # (rank, epoch): that rank dies in the middle of that epoch
        train = KilledAt(train, *kill)
    trainer.fit(train, test, out_dir=out, until=until, progress=False)
    return trainer


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--until", type=int, default=None)
    parser.add_argument("--kill", type=int, nargs=2, metavar=("RANK", "EPOCH"))
    args = parser.parse_args()
    run(args.out, args.until, kill=tuple(args.kill) if args.kill else None)
