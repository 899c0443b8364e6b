"""skdlib.commands.table1: --tau and --beta reach every student run, checked like the file."""

import json

from skdlib.cli import main


def test_table1_tau_and_beta_reach_every_student_run(tmp_path, monkeypatch, capsys):
    from skdlib.distill import Table1Config

    config = tmp_path / "job.json"
    config.write_text(json.dumps({"out": str(tmp_path / "o"), "student_config": {"epochs": 2}}))
    seen = []

    def fake_run(cfg, progress=True):  # the job itself is tested in tests/distill
        seen.append(cfg)
        return {"config": cfg.to_dict(), "runs": []}

    monkeypatch.setattr("skdlib.distill.run_table1", fake_run)
    assert (
        main(["table1", "--config", str(config), "--tau", "0.25", "--beta", "2", "--no-progress"])
        == 0
    )
    (cfg,) = seen
    assert isinstance(cfg, Table1Config) and cfg.student_config == {
        "epochs": 2,
        "beta": 2.0,
        "skd_tau": 0.25,
    }
    student = cfg.student_run("skd", 1)
    assert (student.skd_tau, student.weights()["beta"], student.epochs) == (0.25, 2.0, 2)
    assert main(["table1", "--config", str(config), "--no-progress"]) == 0
    assert seen[-1].student_config == {"epochs": 2}  # no flags: the file's settings
    capsys.readouterr()
    assert main(["table1", "--config", str(config), "--tau", "-1", "--no-progress"]) != 0
    assert "skd_tau (SKD's temperature) must be > 0, got -1.0" in capsys.readouterr().err
    assert main(["table1", "--config", str(config), "--beta", "-0.5", "--no-progress"]) != 0
    assert "beta (the feature term's weight) must be >= 0, got -0.5" in capsys.readouterr().err
    assert len(seen) == 2  # neither bad value reached the job
