"""skdlib.distill.table1: configs are checked key by key, runs are planned once, the job resumes,
and the CLI runs a config end to end.
"""

import json
from pathlib import Path

import pytest

from skdlib.cli import main
from skdlib.config import ConfigError
from skdlib.distill import Table1Config, render_table1, run_table1
from skdlib.distill.table1 import _plan
from skdlib.models import PAPER_PAIRS, load_model

TINY = {
    "name": "tiny",
    "data": "synthetic",
    "train_per_class": 1,
    "test_per_class": 1,
    "pairs": [["resnet56", "resnet20"]],
    "methods": ["none", "kd", "skd"],
    "trials": 1,
    "teacher_config": {"epochs": 1, "batch_size": 50},
    "student_config": {"epochs": 1, "batch_size": 50},
    "embedding": {"epochs": 1, "optimizer": "adam", "lr": 0.01},
    "device": "cpu",
    "eval_batch_size": 100,
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("table1")
    results = run_table1({**TINY, "out": str(out)}, progress=False)
    return out, results


def test_tiny_job_writes_one_results_file_and_the_table(tiny_run):
    out, results = tiny_run
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["runs"] == results["runs"]
    roles = [(r["role"], r["method"]) for r in results["runs"]]
    assert roles == [
        ("teacher", "none"),
        ("student", "none"),
        ("student", "kd"),
        ("student", "skd"),
    ]
    for row in results["runs"]:  # every row is its run folder's last-epoch top-1
        metrics = json.loads((Path(row["dir"]) / "metrics.json").read_text())
        assert row["last_top1"] == metrics["last_top1"] and row["epochs"] == 1
    assert (out / "teachers" / "resnet56" / "embedding.pt").exists()
    assert len((out / "results.csv").read_text().splitlines()) == 1 + 4
    table = (out / "table1.md").read_text()
    assert table.strip() == render_table1(results).strip()
    skd = next(r for r in results["runs"] if r["method"] == "skd")
    rate = skd["seconds"] / skd["epochs"]
    assert f"| SKD | {skd['last_top1']:.2f} (n=1) | {rate:.1f} | 70.23 |" in table
    assert "| Teacher |" in table and "| 72.34 |" in table and "resnet56 → resnet20" in table


def test_rerun_trains_nothing_and_reports_the_same(tiny_run):
    out, results = tiny_run
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("checkpoint.pt")}
    again = run_table1({**TINY, "out": str(out)}, progress=False)
    assert [r["last_top1"] for r in again["runs"]] == [r["last_top1"] for r in results["runs"]]
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("checkpoint.pt")}


def test_changed_embedding_settings_are_refused_not_ignored(tiny_run, tmp_path):
    """Issue 11, item 9: a job whose ``embedding`` settings changed used to rerun nothing and
    record the new settings in results.json."""
    out, _ = tiny_run
    before = (out / "results.json").read_text()
    changed = {**TINY, "out": str(out), "embedding": {**TINY["embedding"], "dim": 8}}
    with pytest.raises(ValueError, match="dim: 16 -> 8"):
        run_table1(changed, progress=False)
    assert (out / "results.json").read_text() == before


def test_teacher_checkpoints_are_used_instead_of_training(tiny_run, tmp_path):
    out, results = tiny_run
    model_file = out / "teachers" / "resnet56" / "model.pt"
    cfg = {**TINY, "out": str(tmp_path), "methods": ["kd"]}
    cfg["teacher_checkpoints"] = {"resnet56": str(model_file)}
    again = run_table1(cfg, progress=False)
    teacher = again["runs"][0]
    assert teacher["role"] == "teacher" and teacher["epochs"] == 0
    assert teacher["last_top1"] == results["runs"][0]["last_top1"]
    assert not (tmp_path / "teachers" / "resnet56" / "model.pt").exists()
    kd_row = again["runs"][1]
    assert kd_row["last_top1"] == results["runs"][2]["last_top1"]  # same teacher, same seed


def test_a_published_repdistiller_teacher_file_serves_a_job(tiny_run, tmp_path):
    """``teacher_checkpoints`` may name a RepDistiller/mdistiller teacher as published
    (``resnet56_vanilla/ckpt_epoch_240.pth``: ``{"model": weights, "epoch", "best_acc"}``)."""
    import torch

    from skdlib.distill import evaluate
    from skdlib.distill.cifar import cifar_loader, load_split

    out, _ = tiny_run
    teacher = load_model(out / "teachers" / "resnet56" / "model.pt")
    published = tmp_path / "resnet56_vanilla" / "ckpt_epoch_240.pth"
    published.parent.mkdir()
    torch.save({"model": teacher.state_dict(), "epoch": 240, "best_acc": 72.3}, published)
    cfg = {**TINY, "out": str(tmp_path / "job"), "methods": ["kd", "skd"]}
    cfg["teacher_checkpoints"] = {"resnet56": str(published)}
    results = run_table1(cfg, progress=False)
    test = load_split("synthetic", False, n_per_class=1)
    expected = evaluate(teacher, cifar_loader(test, 100, train=False, device="cpu"), "cpu")
    assert results["runs"][0]["last_top1"] == expected["top1"]  # the file's own weights
    assert [r["method"] for r in results["runs"]] == ["none", "kd", "skd"]
    assert (tmp_path / "job" / "teachers" / "resnet56" / "embedding.pt").exists()


def test_plan_runs_the_plain_student_once_per_architecture():
    cfg = Table1Config.from_dict(
        {"out": "x", "pairs": [["resnet56", "resnet20"], ["resnet110", "resnet20"]],
         "methods": ["none", "skd"], "trials": 2}
    )  # fmt: skip
    plan = _plan(cfg)
    assert sum(r["method"] == "none" for r in plan) == 2  # resnet20 x 2 trials, shared
    assert sum(r["method"] == "skd" for r in plan) == 4
    assert cfg.student_run("skd", 1).seed == 1 and cfg.teacher_run().method == "none"
    assert Table1Config.from_dict({"out": "x", "pairs": "paper"}).pairs == list(PAPER_PAIRS)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"pairs": [["resnet56"]]}, r"key 'pairs': expected list\[tuple\[str, str\]\] \| str"),
        ({"pairs": [["resnet56", "resnet21"]]}, "not a \\[teacher, student\\] pair"),
        ({"pairs": "all"}, "key 'pairs': a list of \\[teacher, student\\] or 'paper'"),
        ({"methods": ["hint"]}, "unknown method 'hint'; expected one of none, kd, pkt, crd"),
        ({"methods": "skd"}, "key 'methods': expected list\\[str\\], got 'skd'"),
        ({"methods": []}, "key 'methods': choose at least one"),
        ({"trials": "3"}, "key 'trials': expected int, got '3'"),
        ({"data": "imagenet"}, "key 'data' must be one of"),
        ({"student_config": {"method": "kd"}}, "must not set 'method'"),
        (
            {"student_config": {"epoch": 3}},
            "key 'student_config': unknown key\\(s\\) \\['epoch'\\]",
        ),
        (
            {"student_config": {"lr": "0.05"}},
            "key 'student_config': key 'lr': expected float, got '0.05'",
        ),
        ({"embedding": {"dim": 1.5}}, "key 'embedding': key 'dim': expected int"),
        ({"colour": 1}, "unknown key\\(s\\) \\['colour'\\] for Table1Config"),
        (
            {"teacher_checkpoints": {"resnet56": "/no/such/ckpt_epoch_240.pth"}},
            "key 'teacher_checkpoints': the file for resnet56, /no/such/ckpt_epoch_240.pth, does",
        ),
        (
            {"teacher_checkpoints": {"vgg8": "x.pth"}},
            "'vgg8' is not the teacher of any pair",
        ),
    ],
)
def test_bad_configs_are_clear_errors(change, message):
    with pytest.raises(ValueError, match=message):
        Table1Config.from_dict({"out": "x", **change})


def test_config_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="Table1Config file not found"):
        Table1Config.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="bad.json line 1 column 2: not valid JSON"):
        Table1Config.load(tmp_path / "bad.json")
    (tmp_path / "typo.json").write_text('{"out": "x", "trials": 2.5}')
    with pytest.raises(ConfigError, match="typo.json: key 'trials': expected int"):
        Table1Config.load(tmp_path / "typo.json")
    paper = Table1Config.load("configs/table1_paper.json")
    assert len(paper.pairs) == 6 and paper.trials == 3 and paper.data == "cifar100"
    assert paper.student_run("kd", 0).epochs == 240
    demo = Table1Config.load("configs/table1_synthetic.json")
    assert demo.data == "synthetic" and "skd" in demo.methods


def test_cli_runs_a_config_and_prints_the_table(tiny_run, tmp_path, capsys):
    out, results = tiny_run
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**TINY, "out": str(out)}))
    assert main(["table1", "--config", str(config), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert render_table1(results).splitlines()[-1] in printed
    student = tmp_path / "student"
    teacher = out / "teachers" / "resnet56"
    args = ["distill", "--arch", "resnet20", "--method", "skd", "--data", "synthetic",
            "--per-class", "1", "--epochs", "1", "--device", "cpu", "--no-progress",
            "--embedding", str(teacher / "embedding.pt"), "--out", str(student)]  # fmt: skip
    assert main(args) == 0
    assert "skd resnet20: last-epoch top-1" in capsys.readouterr().out
    assert type(load_model(student / "model.pt")).__name__ == "CifarResNet"
    metrics = json.loads((student / "metrics.json").read_text())
    assert metrics["run"]["teacher"] == "resnet56" and metrics["run"]["weights"]["beta"] == 0.5
    bad = [*args[:2], "resnet8x4", *args[3:-1], str(tmp_path / "bad")]
    assert main(bad) == 1
    assert "has 64 channels but teacher resnet56 layer 'layer1' has 16" in capsys.readouterr().err


def test_skd_on_a_pair_with_unequal_widths_fails_before_any_training(tmp_path):
    bad = {
        "out": str(tmp_path / "o"),
        "data": "synthetic",
        "pairs": [["resnet56", "resnet8x4"]],
        "methods": ["none", "kd", "skd"],
    }
    with pytest.raises(ConfigError) as info:
        run_table1(bad, progress=False)
    message = str(info.value)
    assert "key 'pairs': method 'skd' cannot distil resnet56 into resnet8x4: it pairs" in message
    assert "resnet56 has [layer1: 16, layer2: 32, layer3: 64]" in message
    assert "resnet8x4 [layer1: 64, layer2: 128, layer3: 256]" in message
    assert not (tmp_path / "o" / "teachers").exists()  # nothing was trained
    # methods that do not pair stages accept the pair; the paper's six pairs all match
    assert Table1Config.from_dict({**bad, "methods": ["none", "kd"]}).pairs
    assert len(Table1Config.from_dict({"out": "x", "pairs": "paper"}).pairs) == 6


def test_the_smoke_config_runs_every_method_and_lays_the_table_out_by_group(tmp_path):
    """configs/table1_smoke.json: every registered method on one pair, one epoch each."""
    from skdlib.distill import METHODS

    cfg = json.loads(Path("configs/table1_smoke.json").read_text())
    assert cfg["methods"] == list(METHODS)
    results = run_table1({**cfg, "out": str(tmp_path / "smoke")}, progress=False)
    students = {r["method"]: r for r in results["runs"] if r["role"] == "student"}
    assert list(students) == list(METHODS)
    for name, row in students.items():
        assert row["epochs"] == 1 and 0.0 <= row["last_top1"] <= 100.0, name
        assert row["init_epochs"] == (1 if METHODS[name].init else 0), name
    crd_run = json.loads((Path(students["crd"]["dir"]) / "metrics.json").read_text())
    assert crd_run["run"]["settings"]["nce_k"] == 16384 and crd_run["run"]["weights"]["beta"] == 0.8
    table = render_table1(results).splitlines()
    labels = [line.split(" | ")[0].strip("| ") for line in table[4:]]
    assert labels == [
        "Teacher", "Student", "*Logit-based*", "KD", "PKT", "CRD", "DKD", "*Feature-based*",
        "FitNet", "AT", "VID", "AB", "FT", "NST", "*Relation-based*", "FSP", "SP", "CC", "RKD",
        "*Static (no teacher forward)*", "SKD", "SKD+KD",
    ]  # fmt: skip
    ab = next(line for line in table if line.startswith("| AB |"))
    assert "(init " in ab and ab.endswith("| 69.47 |")  # CRD's published AB for this pair
    dkd = next(line for line in table if line.startswith("| DKD |"))
    assert dkd.endswith("| 71.97 |")  # mdistiller's


def test_the_paper_config_has_every_method_on_the_six_pairs():
    from skdlib.distill import METHODS

    paper = Table1Config.load("configs/table1_paper.json")
    assert paper.methods == list(METHODS) and paper.pairs == list(PAPER_PAIRS)


@pytest.mark.parametrize(
    ("pair", "method", "reason"),
    [
        (["resnet32x4", "resnet20"], "fsp", "FSP compares Gram matrices map by map and needs equal "
         "channels, but resnet32x4 has [relu: 32"),
        (["vgg13", "resnet20"], "nst", "it pairs feature stages by position, but vgg13 has 4"),
    ],
)  # fmt: skip
def test_a_method_that_cannot_distil_a_pair_fails_at_config_check(tmp_path, pair, method, reason):
    bad = {"out": str(tmp_path / "o"), "data": "synthetic", "pairs": [pair],
           "methods": ["none", "kd", method]}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        run_table1(bad, progress=False)
    message = str(info.value)
    assert f"method {method!r} cannot distil {pair[0]} into {pair[1]}: {reason}" in message
    assert f"leave {method!r} out of 'methods'" in message
    assert not (tmp_path / "o").exists()  # nothing was trained, nothing written
