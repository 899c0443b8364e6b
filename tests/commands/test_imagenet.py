"""skdlib.commands.imagenet: ``python -m skdlib imagenet`` runs a job file and reports each run."""

from __future__ import annotations

import json

from support.imagenet_job import TINY

from skdlib.cli import main


def test_the_imagenet_command_runs_a_job_file(tmp_path, capsys):
    config = tmp_path / "job.json"
    job = {**TINY, "methods": ["none", "skd"], "data": str(tmp_path / "d"),
           "out": str(tmp_path / "o")}  # fmt: skip
    config.write_text(json.dumps(job))
    assert main(["imagenet", "--config", str(config), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert " skd resnet18: last-epoch top-1" in printed and "none resnet18: epoch 1/1" in printed
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["processes"] == 1 and [r["method"] for r in results["runs"]] == ["none", "skd"]
    assert main(["imagenet", "--config", str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err
