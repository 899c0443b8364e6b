"""skdlib.commands.distill: ``distill``'s flags, ``embed-teacher`` on a published file, and every
registered method run from the command line."""

import json
import math

import pytest
import torch

from skdlib.cli import build_parser, main
from skdlib.distill import METHODS, DistillConfig
from skdlib.embedding import NeuronEmbedding


def test_distill_tau_flag_parses():
    args = build_parser().parse_args(
        ["distill", "--arch", "resnet20", "--out", "x", "--tau", "0.5"]
    )
    assert args.tau == 0.5
    assert build_parser().parse_args(["distill", "--arch", "resnet20", "--out", "x"]).tau == 1.0


def test_embed_teacher_on_a_published_repdistiller_file(tmp_path, capsys):
    """README, 'Published teachers': a RepDistiller checkpoint with --teacher-arch; without the
    flag the error names it; a second call with other settings names what differs."""
    from skdlib.models import create_model

    torch.manual_seed(0)
    published = tmp_path / "resnet20_vanilla" / "ckpt_epoch_240.pth"
    published.parent.mkdir()
    torch.save({"model": create_model("resnet20").state_dict(), "epoch": 240}, published)
    base = ["embed-teacher", "--teacher-model", str(published), "--data", "synthetic"]
    base += ["--per-class", "1", "--epochs", "1", "--out", str(tmp_path / "t"), "--no-progress"]
    assert main(base) == 1
    assert "name it with --teacher-arch" in capsys.readouterr().err
    assert main([*base, "--teacher-arch", "resnet20"]) == 0
    emb = NeuronEmbedding.load(tmp_path / "t" / "embedding.pt")
    assert emb.meta["arch"] == "resnet20" and emb.meta["channels"]["layer3"] == 64
    assert main([*base, "--teacher-arch", "resnet20", "--dim", "8"]) == 1
    assert "dim: 16 -> 8" in capsys.readouterr().err


# -- every method from the command line: resnet32x4 -> resnet8x4 on synthetic data ---------------

COMMON = ["--data", "synthetic", "--per-class", "1", "--test-per-class", "1", "--device", "cpu",
          "--no-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def x4_teacher(tmp_path_factory):
    """A tiny resnet32x4 teacher, one epoch, and its embedding. Batches of 10 at lr 0.01: ten
    steps move its batch-norm statistics enough, and its weights little enough, that its
    eval-mode features have a sane size (two steps of 50 leave them in the hundreds)."""
    out = tmp_path_factory.mktemp("x4") / "teacher"
    teacher = ["distill", "--arch", "resnet32x4", "--epochs", "1", "--batch-size", "10"]
    teacher += ["--lr", "0.01"]
    assert main([*teacher, *COMMON, "--out", str(out)]) == 0
    embed = ["embed-teacher", "--teacher-model", str(out / "model.pt"), "--epochs", "1",
             "--optimizer", "adam", "--lr", "0.01", *COMMON, "--out", str(out)]  # fmt: skip
    assert main(embed) == 0
    return out


@pytest.mark.parametrize("method", [m for m in METHODS if m != "none"])
def test_every_method_runs_from_the_command_line(x4_teacher, method, tmp_path, capsys):
    """``python -m skdlib distill --method M`` for resnet32x4 -> resnet8x4, one epoch (lr 0.01,
    init stage 1 epoch at 1e-4: the tiny teacher's features are large for FitNet/CC/FT)."""
    args = ["distill", "--arch", "resnet8x4", "--method", method, "--teacher-arch", "resnet32x4",
            "--teacher-model", str(x4_teacher / "model.pt"), "--epochs", "1", "--batch-size", "50",
            "--lr", "0.01", "--init-epochs", "1", "--init-lr", "1e-4", *COMMON,
            "--out", str(tmp_path / method)]  # fmt: skip
    if METHODS[method].static:
        args += ["--embedding", str(x4_teacher / "embedding.pt")]
    assert main(args) == 0, capsys.readouterr().err
    assert f"{method} resnet8x4: last-epoch top-1" in capsys.readouterr().out
    metrics = json.loads((tmp_path / method / "metrics.json").read_text())
    assert metrics["complete"] and metrics["epochs_done"] == 1
    assert math.isfinite(metrics["history"][0]["train_loss"])
    assert metrics["run"]["weights"] == DistillConfig(method=method).weights(
        "resnet32x4", "resnet8x4"
    )
    assert metrics["init_epochs_done"] == (1 if METHODS[method].init else 0)
    assert (tmp_path / method / "model.pt").exists()
