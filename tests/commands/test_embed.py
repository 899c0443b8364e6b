"""skdlib.commands.embed: the offline default end to end, its settings, and clear errors."""

import json

import pytest
import torch

from skdlib.cli import build_parser, main
from skdlib.commands import embed
from skdlib.commands.embed import OFFLINE_NOTE
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


def test_embed_on_a_broden_folder_reads_its_images_only(tmp_path, capsys):
    """Issue 11, item 8: the folder used to be read as an ImageFolder, so 79 % of the samples
    were segmentation PNGs."""
    from skdlib.data import make_synthetic_broden
    from skdlib.dissect import BrodenDataset

    root = make_synthetic_broden(tmp_path / "broden", 6, size=32, progress=False)
    pngs = len(list(root.rglob("*.png")))
    assert pngs > 6  # the folder holds more label maps than images
    out = tmp_path / "run"
    args = ["embed", "--data", str(root), "--layers", "layer4", "--epochs", "1"]
    assert main([*args, "--batch-size", "3", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"{root} is a Broden data set: embedding on its 6 images" in printed
    emb = NeuronEmbedding.load(out / "embedding.pt")
    assert emb.meta["data"]["n_images"] == len(BrodenDataset(root)) == 6
    assert emb.meta["input_shape"] == [3, 32, 32]  # the images at their own size, not 224


def test_embed_settings_offline_and_paper(monkeypatch):
    """``--setting paper`` is the paper's SGD lr 0.1 for 100 epochs; explicit flags win."""
    seen = []
    monkeypatch.setattr(
        "skdlib.embedding.EmbeddingTrainer", lambda *a, **k: seen.append(a[2]) or 1 / 0
    )
    cases = ([], ["--setting", "paper"], ["--setting", "paper", "--epochs", "3"],
             ["--optimizer", "sgd"], ["--setting", "paper", "--mode", "dataset_mean"])  # fmt: skip
    for flags in cases:
        with pytest.raises(ZeroDivisionError):
            embed.run(build_parser().parse_args(["embed", "--images", "1", *flags]))
    assert [(c.optimizer, c.lr, c.epochs, c.mode) for c in seen] == [
        ("adam", 0.01, 8, "minibatch"),
        ("sgd", 0.1, 100, "minibatch"),
        ("sgd", 0.1, 3, "minibatch"),
        ("sgd", 0.1, 8, "minibatch"),  # --optimizer alone brings its own default lr
        ("sgd", 0.1, 100, "dataset_mean"),
    ]


def test_bad_arguments_give_clear_errors(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["embed", "--data", str(missing), "--out", str(tmp_path / "o")]) == 1
    assert f"data folder {missing} does not exist" in capsys.readouterr().err
    assert main(["embed", "--arch", "resnet19", "--out", str(tmp_path / "o")]) == 1
    assert "unknown architecture 'resnet19'. Did you mean 'resnet18'" in capsys.readouterr().err
    assert main(["embed", "--arch", "vgg11", "--out", str(tmp_path / "o")]) == 1
    assert "vgg11 has no declared stages: name its layers with --layers" in capsys.readouterr().err
    assert main(["embed", "--layers", "layer9", "--images", "2", "--out", str(tmp_path)]) == 1
    assert "no module named 'layer9'" in capsys.readouterr().err
