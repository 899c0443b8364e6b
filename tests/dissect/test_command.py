"""skdlib.dissect.command: ``python -m skdlib dissect``'s defaults reach dissect()."""

from __future__ import annotations

import torch

from skdlib.cli import build_parser, main
from skdlib.dissect import DissectionResult


def test_defaults_are_the_papers_setting_and_default_workers():
    args = build_parser().parse_args(["dissect"])
    assert args.weights == "imagenet" and args.arch == "resnet18" and args.quantile == 0.995
    assert args.layers == ["layer1", "layer2", "layer3", "layer4"]
    assert args.data == "data/broden1_224" and args.out == "runs/dissect"
    assert args.workers is None  # -> skdlib.runtime.default_workers()
    assert args.checkpoint_minutes == 5.0 and args.checkpoint_batches is None


def test_without_workers_it_decodes_in_default_workers_processes(small, tmp_path, monkeypatch,
                                                                 capsys):  # fmt: skip
    import skdlib.dissect.pipeline as pipeline

    base = ["dissect", "--weights", "none", "--layers", "layer2", "--data", str(small),
            "--batch-size", "8", "--no-progress"]  # fmt: skip
    assert main([*base, "--workers", "0", "--out", str(tmp_path / "serial")]) == 0
    seen = []
    real = pipeline.DataLoader
    monkeypatch.setattr(
        pipeline, "DataLoader", lambda *a, **k: seen.append(k["num_workers"]) or real(*a, **k)
    )
    monkeypatch.setenv("SKD_WORKERS", "1")
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "default")]) == 0
    assert seen == [1] and "with 1 image-decoding worker process(es)" in capsys.readouterr().out
    serial = DissectionResult.load(tmp_path / "serial")
    default = DissectionResult.load(tmp_path / "default")
    assert torch.equal(default.iou["layer2"], serial.iou["layer2"])
    assert torch.equal(default.intersection["layer2"], serial.intersection["layer2"])
    assert default.meta["arch"] == "resnet18 (random weights)"
