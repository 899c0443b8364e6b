"""skdlib.tutorial.outputs: output folders, hand-off errors that name the notebook to run first,
metrics.
"""

import json

import pytest

from skdlib.tutorial import MissingInputError, OutputFolder, project_root


def test_require_names_the_notebook_to_run_first(tmp_path):
    out = OutputFolder("smoke", root=tmp_path)
    with pytest.raises(
        MissingInputError,
        match=r"embedding\.pt is missing: run notebook "
        r"01_embed with profile='smoke' first",
    ):
        out.require("embedding.pt", made_by="01_embed")
    out.path("embedding.pt").write_text("x")
    assert out.require("embedding.pt", made_by="01_embed") == tmp_path / "smoke" / "embedding.pt"
    assert out.figure("fig2") == tmp_path / "smoke" / "figures" / "fig2.png"


def test_record_merges_sections_across_calls(tmp_path):
    out = OutputFolder("quick", root=tmp_path)
    out.record("embedding", loss=1.5)
    out.record("embedding", epochs=3)
    out.record("kl", learned=0.1)
    assert json.loads(out.metrics_path.read_text()) == {
        "embedding": {"loss": 1.5, "epochs": 3},
        "kl": {"learned": 0.1},
    }


def test_project_root_found_from_inside_notebooks(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "skdlib").mkdir()
    monkeypatch.delenv("SKD_ROOT", raising=False)
    assert project_root(tmp_path / "notebooks") == tmp_path
    monkeypatch.chdir(tmp_path / "notebooks")
    assert OutputFolder("smoke").root == tmp_path / "runs" / "smoke"
    monkeypatch.setenv("SKD_ROOT", str(tmp_path / "elsewhere"))
    assert project_root() == tmp_path / "elsewhere"


def test_paths_are_shown_relative_to_the_project(tmp_path, monkeypatch):
    from skdlib.tutorial import shown_path

    monkeypatch.setenv("SKD_ROOT", str(tmp_path))
    out = OutputFolder("quick")
    assert str(out) == "runs/quick"
    assert shown_path(tmp_path / "data" / "broden") == "data/broden"
    assert shown_path("/elsewhere/x.png") == "/elsewhere/x.png"  # outside: unchanged


def test_save_figure_writes_the_png_and_prints_a_relative_path(tmp_path, monkeypatch, capsys):
    from matplotlib.figure import Figure

    monkeypatch.setenv("SKD_ROOT", str(tmp_path))
    out = OutputFolder("smoke")
    fig = Figure()
    fig.subplots().plot([0, 1])
    assert out.save_figure(fig, "f") is None  # a cell ending with it shows no path object
    assert out.figure("f").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == "figure saved: runs/smoke/figures/f.png\n"
