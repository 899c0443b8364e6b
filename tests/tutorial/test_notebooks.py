"""skdlib.tutorial.notebooks: papermill executes notebooks with the profile set, stops on failure,
summarises.
"""

import json
import re
from pathlib import Path

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


def test_a_failed_run_marks_its_summary_incomplete(project):
    make_notebook(project / "notebooks" / "01_bad.ipynb", "raise ValueError('broken step')")
    with pytest.raises(NotebookFailed):
        execute_notebooks("smoke", notebook_paths(project / "notebooks"), progress=False)
    text = (project / "runs" / "smoke" / "summary.md").read_text()
    assert "**Incomplete run: notebook 01_bad.ipynb failed with profile 'smoke'" in text
    executed = project / "runs" / "smoke" / "notebooks"
    assert [p.name for p in executed.iterdir()] == ["01_bad.ipynb"]  # the copy with the traceback


def test_an_interrupted_run_keeps_the_previous_copy_and_says_so(project, monkeypatch):
    import papermill

    make_notebook(project / "notebooks" / "01_a.ipynb", "x = 1")
    make_notebook(project / "notebooks" / "02_b.ipynb", "y = 2")
    execute_notebooks("smoke", notebook_paths(project / "notebooks"), progress=False)
    executed = project / "runs" / "smoke" / "notebooks"
    good = (executed / "02_b.ipynb").read_bytes()
    complete = (project / "runs" / "smoke" / "summary.md").read_text()
    assert "Incomplete" not in complete
    real = papermill.execute_notebook

    def ctrl_c_in_02(source, output, **kwargs):
        if source.endswith("02_b.ipynb"):  # papermill has written part of the copy: then Ctrl-C
            Path(output).write_text('{"cells": "half"}')
            raise KeyboardInterrupt
        return real(source, output, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", ctrl_c_in_02)
    with pytest.raises(KeyboardInterrupt):
        execute_notebooks("smoke", notebook_paths(project / "notebooks"), progress=False)
    assert (executed / "02_b.ipynb").read_bytes() == good  # the previous good copy
    assert sorted(p.name for p in executed.iterdir()) == ["01_a.ipynb", "02_b.ipynb"]
    text = (project / "runs" / "smoke" / "summary.md").read_text()
    assert "**Incomplete run: interrupted during 02_b.ipynb.**" in text


def test_bars_inside_a_notebook_are_reported_by_the_runner(project, capsys):
    """Issue 11, item 12: a headless run showed nothing from inside a notebook. Every open bar
    is reported as a plain line while it runs; the saved notebook keeps only its widget."""
    body = (
        "import time\n"
        "from skdlib.progress import tqdm\n"
        "for epoch in tqdm(range(3), desc='teacher resnet56', unit='epoch'):\n"
        "    for batch in tqdm(range(4), desc=f'epoch {epoch + 1}', leave=False):\n"
        "        time.sleep(0.01)\n"
    )
    make_notebook(project / "notebooks" / "01_a.ipynb", body)
    execute_notebooks("smoke", notebook_paths(project / "notebooks"), progress=True)
    printed = capsys.readouterr().out
    reported = [line for line in printed.splitlines() if line.startswith("  01_a · ")]
    # the first update of the epoch bar (both bars open) and its closing; batch bars that
    # vanish (leave=False) are not reported when they close
    assert reported[0].startswith("  01_a · teacher resnet56:   0% 0/3 [")
    assert reported[-1].startswith("  01_a · teacher resnet56: 100% 3/3 [")
    executed = (project / "runs" / "smoke" / "notebooks" / "01_a.ipynb").read_text()
    assert "| 3/3 [" in executed and "01_a ·" not in executed  # the widget, finished
    assert not list((project / "runs" / "smoke" / "notebooks").glob(".*"))  # log removed


def test_unknown_profile_is_refused(project):
    with pytest.raises(ValueError, match="profile must be one of"):
        execute_notebooks("fast", [project / "x.ipynb"], progress=False)


# -- what a reader of the executed smoke notebooks sees --------------------------------------------
DATA_URI = re.compile(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+")
#: an absolute POSIX path: "/" + name + "/" after a quote, space, bracket or the start
ABSOLUTE = re.compile(r"(?:^|[\s'\"(=\[])(/[A-Za-z0-9_.-]+/[^\s'\"]*)")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: a tqdm meter that stopped at zero: "0%|" or " 0/16 ["
UNFINISHED_BAR = re.compile(r"(?<![\d.])0%\||\| 0/\d+ \[")


def output_texts(path: Path) -> list[tuple[str, str]]:
    """``(cell id, text)`` of every text an executed notebook shows (data URIs removed)."""
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                texts.append((cell["id"], "".join(output["text"])))
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/"):
                    value = "".join(value) if isinstance(value, list) else value
                    texts.append((cell["id"], DATA_URI.sub("data:…", value)))
            if output["output_type"] == "error":
                texts.append((cell["id"], "\n".join(output["traceback"])))
    return texts


def executed(smoke_run: Path) -> list[Path]:
    paths = sorted((smoke_run / "runs" / "smoke" / "notebooks").glob("*.ipynb"))
    assert [p.name[:2] for p in paths] == ["01", "02", "03", "04", "05", "06"]
    return paths


def test_executed_notebooks_name_no_folder_of_the_machine(smoke_run):
    for path in executed(smoke_run):
        for cell, text in output_texts(path):
            assert str(smoke_run) not in text and "PosixPath(" not in text, (path.name, cell, text)
            hit = ABSOLUTE.search(text)
            assert hit is None, f"{path.name} cell {cell} shows an absolute path: {hit.group(1)}"


def test_executed_notebooks_show_finished_bars_and_no_control_characters(smoke_run):
    bars = 0
    for path in executed(smoke_run):
        for cell, text in output_texts(path):
            assert not UNFINISHED_BAR.search(text), f"{path.name} cell {cell}: {text[:120]!r}"
            assert not CONTROL.search(text), f"{path.name} cell {cell}: {text[:120]!r}"
            bars += "100%|" in text
    assert bars >= 3  # the embedding, dissection and distillation loops show where they ended


def test_executed_explorer_keeps_its_last_view(smoke_run):
    """The saved notebook shows the explorer without a kernel: a static HTML view in its
    output, and the widget state holding the view the code cells left it in."""
    path = smoke_run / "runs" / "smoke" / "notebooks" / "06_neuron_explorer.ipynb"
    nb = json.loads(path.read_text())
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    shown = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(shown) == 1 and "skd-explorer" in "".join(shown[0]["data"]["text/html"])
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert pictures == []  # no still copy of a figure under the live explorer
    described = next(
        "".join(o["text"]) for o in outputs if "nearest: neuron" in "".join(o.get("text", ""))
    )
    title = described.splitlines()[0]  # e.g. "layer4 · neuron 74"
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [
        m["state"]["value"]
        for m in state.values()
        if m["model_name"] == "HTMLModel" and "skd-explorer" in m["state"].get("value", "")
    ]
    assert len(views) == 1 and f"<b>{title}</b>" in views[0]
    assert "neurons near" in views[0]  # the code cell searched a concept
    figure = smoke_run / "runs" / "smoke" / "figures" / "06_explorer.png"
    assert figure.read_bytes()[:4] == b"\x89PNG"
