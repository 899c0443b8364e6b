"""skdlib.commands.notebooks: --only names notebooks that exist, and the runner gets them."""

import pytest

from skdlib.cli import build_parser, main


def test_only_unknown_notebooks_is_a_clear_error(capsys):
    assert main(["notebooks", "--profile", "smoke", "--only", "99_nothing.ipynb"]) == 1
    err = capsys.readouterr().err
    assert "no notebooks ['99_nothing.ipynb']" in err and "01_embed_neurons.ipynb" in err


def test_the_runner_gets_the_chosen_notebooks_in_order(monkeypatch, tmp_path, capsys):
    seen = []

    def fake(profile, paths, trial_run=False):  # the runner is tested in tests/tutorial
        seen.append((profile, [p.name for p in paths], trial_run))
        return tmp_path / "summary.md"

    monkeypatch.setattr("skdlib.tutorial.execute_notebooks", fake)
    argv = ["notebooks", "--profile", "smoke", "--trial-run", "--only",
            "03_additive_relations.ipynb", "01_embed_neurons.ipynb"]  # fmt: skip
    assert main(argv) == 0
    assert seen == [("smoke", ["01_embed_neurons.ipynb", "03_additive_relations.ipynb"], True)]
    assert f"summary: {tmp_path / 'summary.md'}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        build_parser().parse_args(["notebooks", "--profile", "huge"])
