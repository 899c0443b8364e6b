"""The main-job command line: offline default end to end, and clear errors."""

import json

import torch

from skdlib.cli import OFFLINE_NOTE, main
from skdlib.embedding import NeuronEmbedding


def test_offline_embed_writes_artifact_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["embed", "--images", "8", "--size", "32", "--epochs", "2", "--batch-size", "4"]
    assert main([*args, "--layers", "layer3", "layer4", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert printed.count(OFFLINE_NOTE) == 2  # before and after the run
    emb = NeuronEmbedding.load(out / "embedding.pt")
    assert emb.meta["arch"] == "resnet18"
    assert emb.meta["channels"] == {"layer3": 256, "layer4": 512}
    assert emb.meta["data"]["name"] == "synthetic" and emb.meta["data"]["n_images"] == 8
    assert emb.meta["training"]["optimizer"] == "adam" and emb.meta["training"]["lr"] == 0.01
    summary = json.loads((out / "summary.json").read_text())
    assert summary["loss_last_epoch"] == emb.meta["history"]["loss"][-1]
    assert summary["neighbours"]["layer4:0"][0][0] == emb.nearest("layer4", 0, k=1)[0][0]
    assert (out / "embedding.ckpt").exists()
    # a second call resumes from the finished checkpoint: same vectors, no new training
    assert main([*args, "--layers", "layer3", "layer4", "--out", str(out), "--no-progress"]) == 0
    again = NeuronEmbedding.load(out / "embedding.pt")
    assert torch.equal(again.vectors["layer4"], emb.vectors["layer4"])


def test_bad_arguments_give_clear_errors(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["embed", "--data", str(missing), "--out", str(tmp_path / "o")]) == 1
    assert f"data folder {missing} does not exist" in capsys.readouterr().err
    assert main(["embed", "--arch", "resnet19", "--out", str(tmp_path / "o")]) == 1
    assert "unknown torchvision model 'resnet19'" in capsys.readouterr().err
    assert main(["embed", "--layers", "layer9", "--images", "2", "--out", str(tmp_path)]) == 1
    assert "no module named 'layer9'" in capsys.readouterr().err
