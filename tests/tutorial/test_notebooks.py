"""skdlib.tutorial.notebooks: papermill executes notebooks with the profile set, stops on failure,
summarises.
"""

import nbformat
import pytest

from skdlib.tutorial import NotebookFailed, execute_notebooks, notebook_paths


def make_notebook(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "quick"')
    params.metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "skdlib").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("SKD_ROOT", raising=False)
    return tmp_path


def test_runs_every_notebook_with_the_profile_and_writes_a_summary(project):
    body = (
        "from skdlib.tutorial import OutputFolder\n"
        "out = OutputFolder(profile)\n"
        "out.record('first', profile=profile, value=0.5)\n"
        "out.figure('fig').write_bytes(b'png')\n"
    )
    make_notebook(project / "notebooks" / "01_a.ipynb", body)
    make_notebook(project / "notebooks" / "02_b.ipynb", "assert profile == 'smoke'")
    (project / "notebooks" / "scratch.ipynb").write_text("not numbered")
    assert [p.name for p in notebook_paths(project / "notebooks")] == ["01_a.ipynb", "02_b.ipynb"]
    summary = execute_notebooks("smoke", notebook_paths(project / "notebooks"), progress=False)
    assert summary == project / "runs" / "smoke" / "summary.md"
    text = summary.read_text()
    assert "| profile | smoke |" in text and "| value | 0.5 |" in text
    assert "[fig](figures/fig.png)" in text and "not the paper's numbers" in text
    assert (project / "runs" / "smoke" / "notebooks" / "02_b.ipynb").exists()
    assert "| total |" in text


def test_first_failure_stops_the_run_and_names_the_notebook(project):
    make_notebook(project / "notebooks" / "01_bad.ipynb", "raise ValueError('broken step')")
    make_notebook(project / "notebooks" / "02_never.ipynb", "pass")
    with pytest.raises(NotebookFailed, match=r"01_bad\.ipynb failed with profile 'smoke'") as info:
        execute_notebooks("smoke", notebook_paths(project / "notebooks"), progress=False)
    assert "ValueError: broken step" in str(info.value)
    assert not (project / "runs" / "smoke" / "notebooks" / "02_never.ipynb").exists()


def test_unknown_profile_is_refused(project):
    with pytest.raises(ValueError, match="profile must be one of"):
        execute_notebooks("fast", [project / "x.ipynb"], progress=False)
