"""skdlib.commands.dissect: ``python -m skdlib dissect``'s defaults reach dissect()."""

from __future__ import annotations

import pytest
import torch

from skdlib.cli import build_parser, main
from skdlib.dissect import DissectionResult


def test_defaults_are_the_papers_setting_and_default_workers():
    args = build_parser().parse_args(["dissect"])
    assert args.weights == "imagenet" and args.arch == "resnet18" and args.quantile == 0.995
    assert args.layers == ["layer1", "layer2", "layer3", "layer4"]
    assert args.data == "data/broden1_224" and args.out == "runs/dissect"
    assert args.workers is None  # -> skdlib.loaders.default_workers()
    assert args.checkpoint_minutes == 5.0 and args.checkpoint_batches is None
    assert args.report is True and args.top_k == 8


def test_without_workers_it_decodes_in_default_workers_processes(small, tmp_path, monkeypatch,
                                                                 capsys):  # fmt: skip
    import skdlib.loaders as loaders

    base = ["dissect", "--weights", "none", "--layers", "layer2", "--data", str(small),
            "--batch-size", "8", "--no-progress"]  # fmt: skip
    assert main([*base, "--workers", "0", "--out", str(tmp_path / "serial")]) == 0
    seen = []
    real = loaders.make_loader
    monkeypatch.setattr(
        "skdlib.dissect.pipeline.make_loader",
        lambda *a, **k: seen.append(k["workers"]) or real(*a, **k),
    )
    monkeypatch.setenv("SKD_WORKERS", "1")
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "default")]) == 0
    assert seen == [1, 1]  # the loaders of both passes
    assert "with 1 image-decoding worker process(es)" in capsys.readouterr().out
    serial = DissectionResult.load(tmp_path / "serial")
    default = DissectionResult.load(tmp_path / "default")
    assert torch.equal(default.iou["layer2"], serial.iou["layer2"])
    assert torch.equal(default.intersection["layer2"], serial.intersection["layer2"])
    assert default.meta["arch"] == "resnet18 (random weights)"


def test_dissect_resumes_after_a_crash_in_its_second_pass_from_its_output_folder(
    tmp_path, monkeypatch, capsys
):
    """Issue 11: ``dissect`` keeps its checkpoint in --out; a rerun after a crash in the second
    pass skips the first, and its files equal those of an uninterrupted run and of dissect()."""
    import skdlib.dissect.pipeline as pipeline
    from skdlib.data import make_synthetic_broden
    from skdlib.dissect import DissectionResult, dissect
    from skdlib.models import create_model

    data = make_synthetic_broden(tmp_path / "broden", 12, size=64, seed=2, progress=False)
    base = ["dissect", "--weights", "none", "--seed", "3", "--layers", "layer1", "layer2",
            "--data", str(data), "--batch-size", "4", "--workers", "0",
            "--no-progress"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    assert "RANDOM weights" in capsys.readouterr().out
    torch.manual_seed(3)
    library = dissect(create_model("resnet18"), ["layer1", "layer2"], data,
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
        for field in ("score", "image", "maps"):  # the same top images: the same report
            assert torch.equal(getattr(resumed.top_images, field)[name],
                               getattr(whole.top_images, field)[name])  # fmt: skip
        page = f"report/{name}.html"
        assert (out / page).read_bytes() == (tmp_path / "whole" / page).read_bytes()
    assert resumed.top_images.files == whole.top_images.files
    assert torch.equal(resumed.label_area, whole.label_area)


def test_it_writes_the_report_unless_told_not_to(small, tmp_path, capsys):
    """Issue 24: <out>/report/index.html and a page per layer by default; --no-report none."""
    base = ["dissect", "--weights", "none", "--layers", "layer3", "layer4", "--data", str(small),
            "--batch-size", "8", "--workers", "0", "--no-progress"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "with"), "--top-k", "3"]) == 0
    report = tmp_path / "with" / "report"
    assert f"report: {report / 'index.html'}" in capsys.readouterr().out
    result = DissectionResult.load(tmp_path / "with")
    assert result.top_images.k == 3
    for layer in ("layer3", "layer4"):
        page = (report / f"{layer}.html").read_text()
        assert page.count("data-unit=") == result.iou[layer].shape[0]
        assert (report / f"{layer}-categories.png").is_file()
        assert (report / f"{layer}-unit0000.jpg").is_file()
    assert main([*base, "--out", str(tmp_path / "without"), "--no-report"]) == 0
    assert "report:" not in capsys.readouterr().out
    assert not (tmp_path / "without" / "report").exists()
    assert DissectionResult.load(tmp_path / "without").top_images.k == 8
