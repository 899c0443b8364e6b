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


def test_a_checkpoint_of_an_earlier_version_still_resumes(data, tmp_path):
    """Issue 22 added settings, init stages and three config keys; a run checkpointed before
    (its signature without them) resumes, and the new keys join a signature only when they say
    something."""
    from skdlib import filenames
    from skdlib.checkpoint import atomic_save

    tl, vl = loaders(data)
    torch.manual_seed(0)
    first = DistillTrainer(create_model("resnet20"), DistillConfig(epochs=2), "resnet20",
                           device="cpu")  # fmt: skip
    first.fit(tl, vl, out_dir=tmp_path, until=1, progress=False)
    state = torch.load(tmp_path / filenames.CHECKPOINT, weights_only=False)
    old_config = {
        k: v for k, v in DistillConfig(epochs=2).to_dict().items()
        if k not in ("init_epochs", "init_lr", "settings")
    }  # fmt: skip
    assert state["signature"]["config"] == old_config
    assert set(state["signature"]) == {"student", "teacher", "method", "weights", "config",
                                       "embedding"}  # fmt: skip
    atomic_save(state, tmp_path / filenames.CHECKPOINT)
    again = DistillTrainer(create_model("resnet20"), DistillConfig(epochs=2), "resnet20",
                           device="cpu")  # fmt: skip
    again.fit(tl, vl, out_dir=tmp_path, progress=False)
    assert again.summary.epochs_done == 2 and again.summary.history[0] == first.summary.history[0]
    crd = DistillConfig(method="crd", settings={"crd": {"nce_k": 8}}, init_lr=0.1)
    signature = DistillTrainer(
        create_model("resnet20"), crd, "resnet20", teacher_model=create_model("resnet20"),
        train_targets=torch.zeros(40, dtype=torch.long), device="cpu",
    ).signature()  # fmt: skip
    assert signature["settings"]["nce_k"] == 8.0 and signature["config"]["init_lr"] == 0.1
    assert "init_epochs" not in signature["config"] and "init" not in signature
