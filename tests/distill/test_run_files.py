"""skdlib.distill.run_files: the run folder — written by rank 0 alone, strict JSON, resumable."""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch
from support.distill_refs import loaders

from skdlib.distill import DistillConfig, DistillTrainer
from skdlib.models import create_model


@dataclass
class NotRankZero:
    """A stand-in for rank 1 of 2 whose collective calls do nothing (no process group here)."""

    rank: int = 1
    world: int = 1  # no DDP wrapping; only the file rules of a non-main rank are under test
    device: torch.device = torch.device("cpu")
    barriers: int = 0

    @property
    def main(self) -> bool:
        return False

    def rank_batch(self, batch_size: int) -> int:
        return batch_size

    def sum(self, tensor):
        return tensor

    def barrier(self) -> None:
        self.barriers += 1


def test_only_rank_zero_writes_the_run_folder(data, tmp_path):
    tl, vl = loaders(data)
    torch.manual_seed(0)
    other = NotRankZero()
    trainer = DistillTrainer(
        create_model("resnet20"), DistillConfig(epochs=2), "resnet20", distributed=other
    )
    trainer.fit(tl, vl, out_dir=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
    assert other.barriers == 3  # after each epoch's files, and after the final model
    assert trainer.summary.complete and len(trainer.summary.history) == 2


def test_rank_zero_files_are_complete_and_strict_json(data, tmp_path):
    tl, vl = loaders(data)
    torch.manual_seed(0)
    trainer = DistillTrainer(create_model("resnet20"), DistillConfig(epochs=1), "resnet20",
                             device="cpu")  # fmt: skip
    trainer.fit(tl, vl, out_dir=tmp_path, progress=False)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.pt", "checkpoint.pt", "metrics.csv", "metrics.json", "model.pt"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["processes"] == 1 and metrics["complete"] and metrics["epochs_done"] == 1
