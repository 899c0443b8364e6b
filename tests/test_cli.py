"""The main-job command line: offline default end to end, and clear errors."""

import json

import pytest
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
    import skdlib.cli as cli

    seen = []
    monkeypatch.setattr(cli, "EmbeddingTrainer", lambda *a, **k: seen.append(a[2]) or 1 / 0)
    for flags in ([], ["--setting", "paper"], ["--setting", "paper", "--epochs", "3"]):
        with pytest.raises(ZeroDivisionError):
            cli.cmd_embed(cli.build_parser().parse_args(["embed", "--images", "1", *flags]))
    assert [(c.optimizer, c.lr, c.epochs) for c in seen] == [
        ("adam", 0.01, 8),
        ("sgd", 0.1, 100),
        ("sgd", 0.1, 3),
    ]


def test_bad_arguments_give_clear_errors(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["embed", "--data", str(missing), "--out", str(tmp_path / "o")]) == 1
    assert f"data folder {missing} does not exist" in capsys.readouterr().err
    assert main(["embed", "--arch", "resnet19", "--out", str(tmp_path / "o")]) == 1
    assert "unknown torchvision model 'resnet19'" in capsys.readouterr().err
    assert main(["embed", "--layers", "layer9", "--images", "2", "--out", str(tmp_path)]) == 1
    assert "no module named 'layer9'" in capsys.readouterr().err


def test_table1_tau_and_beta_reach_every_student_run(tmp_path, monkeypatch, capsys):
    import skdlib.cli as cli
    from skdlib.distill import Table1Config

    config = tmp_path / "job.json"
    config.write_text(json.dumps({"out": str(tmp_path / "o"), "student": {"epochs": 2}}))
    seen = []

    def fake_run(cfg, progress=True):  # the job itself is tested in tests/distill
        seen.append(cfg)
        return {"config": cfg.to_dict(), "runs": []}

    monkeypatch.setattr(cli, "run_table1", fake_run)
    assert (
        main(["table1", "--config", str(config), "--tau", "0.25", "--beta", "2", "--no-progress"])
        == 0
    )
    (cfg,) = seen
    assert isinstance(cfg, Table1Config) and cfg.student == {
        "epochs": 2,
        "beta": 2.0,
        "skd_tau": 0.25,
    }
    student = cfg.student_config("skd", 1)
    assert (student.skd_tau, student.weights()["beta"], student.epochs) == (0.25, 2.0, 2)
    assert main(["table1", "--config", str(config), "--no-progress"]) == 0
    assert seen[-1].student == {"epochs": 2}  # no flags: the file's settings
    capsys.readouterr()
    assert main(["table1", "--config", str(config), "--tau", "-1", "--no-progress"]) != 0
    assert "skd_tau (SKD's temperature) must be > 0, got -1.0" in capsys.readouterr().err
    assert main(["table1", "--config", str(config), "--beta", "-0.5", "--no-progress"]) != 0
    assert "beta (the feature term's weight) must be >= 0, got -0.5" in capsys.readouterr().err
    assert len(seen) == 2  # neither bad value reached the job


def test_distill_tau_flag_parses():
    from skdlib.cli import build_parser

    args = build_parser().parse_args(
        ["distill", "--arch", "resnet20", "--out", "x", "--tau", "0.5"]
    )
    assert args.tau == 0.5
    assert build_parser().parse_args(["distill", "--arch", "resnet20", "--out", "x"]).tau == 1.0


def test_embed_teacher_on_a_published_repdistiller_file(tmp_path, capsys):
    """README, 'Published teachers': a RepDistiller checkpoint with --teacher-arch; without the
    flag the error names it; a second call with other settings names what differs."""
    from skdlib.distill import create_model

    torch.manual_seed(0)
    published = tmp_path / "resnet20_vanilla" / "ckpt_epoch_240.pth"
    published.parent.mkdir()
    torch.save({"model": create_model("resnet20").state_dict(), "epoch": 240}, published)
    base = ["embed-teacher", "--teacher", str(published), "--data", "synthetic"]
    base += ["--per-class", "1", "--epochs", "1", "--out", str(tmp_path / "t"), "--no-progress"]
    assert main(base) == 1
    assert "name it with --teacher-arch" in capsys.readouterr().err
    assert main([*base, "--teacher-arch", "resnet20"]) == 0
    emb = NeuronEmbedding.load(tmp_path / "t" / "embedding.pt")
    assert emb.meta["arch"] == "resnet20" and emb.meta["channels"]["layer3"] == 64
    assert main([*base, "--teacher-arch", "resnet20", "--dim", "8"]) == 1
    assert "dim: 16 -> 8" in capsys.readouterr().err


def test_dissect_resumes_after_a_crash_in_its_second_pass_from_its_output_folder(
    tmp_path, monkeypatch, capsys
):
    """Issue 11: ``dissect`` keeps its checkpoint in --out; a rerun after a crash in the second
    pass skips the first, and its files equal those of an uninterrupted run and of dissect()."""
    import skdlib.dissect.pipeline as pipeline
    from skdlib.data import make_synthetic_broden
    from skdlib.dissect import DissectionResult, dissect
    from skdlib.tutorial import load_torchvision_model

    data = make_synthetic_broden(tmp_path / "broden", 12, size=64, seed=2, progress=False)
    base = ["dissect", "--weights", "none", "--seed", "3", "--layers", "layer1", "layer2",
            "--data", str(data), "--batch-size", "4", "--workers", "0",
            "--no-progress"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    assert "RANDOM weights" in capsys.readouterr().out
    torch.manual_seed(3)
    library = dissect(load_torchvision_model("resnet18", "none"), ["layer1", "layer2"], data,
                      batch_size=4, num_workers=0, progress=False)  # fmt: skip
    whole = DissectionResult.load(tmp_path / "whole")
    real_sets, calls = pipeline.label_sets, []

    def crash_in_batch_3(pixel):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_sets(pixel)

    out = tmp_path / "crashed"
    monkeypatch.setattr(pipeline, "label_sets", crash_in_batch_3)
    with pytest.raises(KeyboardInterrupt):
        main([*base, "--out", str(out), "--checkpoint-batches", "1"])
    monkeypatch.setattr(pipeline, "label_sets", real_sets)
    assert torch.load(out / "dissection.ckpt", weights_only=True)["step"] == 2
    assert not (out / "dissection.pt").exists()

    def no_first_pass(*args, **kwargs):
        raise AssertionError("the first pass ran again")

    monkeypatch.setattr(pipeline, "_thresholds", no_first_pass)
    assert main([*base, "--out", str(out)]) == 0
    assert "first pass done, 2 batch(es) of the second tallied" in capsys.readouterr().out
    assert not (out / "dissection.ckpt").exists()  # removed once the result was saved
    resumed = DissectionResult.load(out)
    for name in ("layer1", "layer2"):
        for field in ("thresholds", "intersection", "activation_area", "iou"):
            assert torch.equal(getattr(resumed, field)[name], getattr(whole, field)[name])
            assert torch.equal(getattr(library, field)[name], getattr(whole, field)[name])
        assert (out / f"tally_{name}.csv").read_bytes() == (
            tmp_path / "whole" / f"tally_{name}.csv"
        ).read_bytes()
    assert torch.equal(resumed.label_area, whole.label_area)
