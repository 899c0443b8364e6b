"""skdlib.commands.distill: ``distill``'s flags, and ``embed-teacher`` on a published file."""

import torch

from skdlib.cli import build_parser, main
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
