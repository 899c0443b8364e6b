"""skdlib.distill.distributed: two gloo processes train what one process trains, resume after a
kill, and split global batches evenly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from support import ddp_run

from skdlib.distill.distributed import Distributed, rank_slice

SCRIPT = Path(ddp_run.__file__)


def torchrun(out: Path, *extra: str, processes: int = 2, ok: bool = True) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(SCRIPT.parent.parent.parent)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={processes}", str(SCRIPT), str(out), *extra]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert (done.returncode == 0) == ok, done.stdout[-3000:] + done.stderr[-3000:]


def weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, weights_only=True)
    return state["state_dict"] if "state_dict" in state else state["student"]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    ddp_run.run(str(out))
    return out


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    torchrun(out)
    return out


def test_two_gloo_processes_train_the_weights_of_one(one_process, two_processes):
    one, two = weights(one_process / "model.pt"), weights(two_processes / "model.pt")
    assert one.keys() == two.keys()
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5, msg=key)
    start = ddp_run.Student()  # training moved them: the comparison is not trivial
    assert not torch.allclose(start.state_dict()["fc.weight"], one["fc.weight"], atol=1e-3)
    m1 = json.loads((one_process / "metrics.json").read_text())
    m2 = json.loads((two_processes / "metrics.json").read_text())
    assert m1["processes"] == 1 and m2["processes"] == 2
    for a, b in zip(m1["history"], m2["history"], strict=True):  # losses reduced over ranks
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["train_distill"] == pytest.approx(a["train_distill"], rel=1e-4)
        assert b["test_top1"] == a["test_top1"]


@pytest.mark.parametrize("rank", [0, 1])
def test_a_killed_two_process_run_resumes_to_the_same_weights(two_processes, tmp_path, rank):
    """SIGKILL of either rank in the middle of epoch 2; the same command then finishes the run
    from the checkpoint of epoch 1, with the weights of an uninterrupted run."""
    torchrun(tmp_path, "--kill", str(rank), "2", ok=False)
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs_done"] == 1
    assert not (tmp_path / "model.pt").exists()
    torchrun(tmp_path)
    resumed, whole = weights(tmp_path / "model.pt"), weights(two_processes / "model.pt")
    for key in whole:
        torch.testing.assert_close(resumed[key], whole[key], rtol=1e-5, atol=1e-6, msg=key)


def test_rank_slices_cover_each_global_batch_once():
    batches = [(torch.arange(10), torch.arange(10) * 2), (torch.arange(10, 16), torch.zeros(6))]
    parts = [list(rank_slice(iter(batches), Distributed(rank=r, world=2))) for r in (0, 1)]
    assert [p[0][0].tolist() for p in parts] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [p[1][0].tolist() for p in parts] == [[10, 11, 12], [13, 14, 15]]
    assert parts[1][0][1].tolist() == [10, 12, 14, 16, 18]


def test_a_global_batch_must_split_evenly():
    assert Distributed(world=4).rank_batch(64) == 16
    with pytest.raises(ValueError, match="global batch size 30 is not a multiple of the 4"):
        Distributed(world=4).rank_batch(30)


def test_the_distill_command_under_torchrun_shards_with_a_distributed_sampler(tmp_path):
    """README's command, on 2 CPU processes with the torchvision pipeline (DistributedSampler)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "skdlib", "distill", "--data", "synthetic", "--per-class", "1", "--arch",
               "resnet20", "--epochs", "1", "--batch-size", "50", "--pipeline", "torchvision",
               "--device", "cpu", "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("none resnet20: last-epoch top-1") == 1  # rank 0 alone reports
    assert done.stdout.count("none resnet20: epoch 1/1") == 1
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["complete"]
    assert (tmp_path / "model.pt").exists()


def test_embed_teacher_under_torchrun_embeds_once(tmp_path):
    """Rank 0 embeds the teacher (a one-off cost); the other ranks wait and write nothing."""
    from skdlib.embedding import NeuronEmbedding
    from skdlib.models import create_model, save_model

    torch.manual_seed(0)
    teacher = save_model(create_model("resnet20"), "resnet20", tmp_path / "t" / "model.pt")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "skdlib", "embed-teacher", "--teacher-model", str(teacher),
               "--data", "synthetic", "--per-class", "1", "--epochs", "1", "--device", "cpu",
               "--out", str(tmp_path / "t"), "--no-progress"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("embedded resnet20") == 1
    assert done.stdout.count("embedding: epoch 1/1") == 1
    emb = NeuronEmbedding.load(tmp_path / "t" / "embedding.pt")
    assert emb.meta["data"]["n_images"] == 100
