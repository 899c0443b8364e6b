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
