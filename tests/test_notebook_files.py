"""The tutorial notebooks as files: committed clean, thin, parameterised; `paper` fails fast."""

import json
import re
import shutil
from pathlib import Path

import pytest

from skdlib.tutorial import execute_notebooks, notebook_paths

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = notebook_paths(ROOT / "notebooks")
CHECK = "# NBVAL_CHECK_OUTPUT"


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_six_tutorial_steps_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


REFERENCES = json.loads((ROOT / "tests" / "nbval_references.json").read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    for cell in code_cells(path):
        assert cell["outputs"] == [], f"{path.name} has outputs in: {source(cell)[:60]!r}"
        assert cell.get("execution_count") is None, source(cell)[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_output_check_has_a_stored_reference(path):
    """`NBVAL_CHECK_OUTPUT` cells are compared with tests/nbval_references.json (attached by the
    root conftest.py); every check has one, and every reference belongs to a check cell."""
    checks = {c["id"] for c in code_cells(path) if source(c).startswith(CHECK)}
    assert set(REFERENCES.get(path.name, {})) == checks
    assert len(checks) <= 2, "keep output checks to a few deterministic cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_after_title_holds_tagged_profile_parameter(path):
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and source(cells[0]).startswith("# ")
    params = cells[1]
    assert params["cell_type"] == "code" and "parameters" in params["metadata"].get("tags", [])
    assert 'profile = os.environ.get("SKD_PROFILE", "quick")' in source(params)
    assert "IN_COLAB" in source(cells[2]) and "colab-badge" in source(cells[0])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_stay_thin(path):
    """No helpers defined in notebooks: the logic lives in skdlib."""
    for cell in code_cells(path):
        for line in source(cell).splitlines():
            assert not line.lstrip().startswith(("def ", "class ", "lambda")), line


def _offline_paper_project(tmp_path, monkeypatch):
    (tmp_path / "skdlib").mkdir()
    (tmp_path / "notebooks").mkdir()
    first = shutil.copy(NOTEBOOKS[0], tmp_path / "notebooks")
    monkeypatch.setenv("SKD_ROOT", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no cached weights
    cifar = tmp_path / "data" / "cifar-100-python"
    cifar.mkdir(parents=True)  # only train: incomplete, not downloadable offline
    (cifar / "train").write_bytes(b"partial")
    return Path(first)


PAPER_INPUTS = (
    "broden1_224",
    "http://netdissect.csail.mit.edu/data/broden1_224.zip",
    "download-broden",
    "resnet18-f37072fd.pth",
    "CIFAR-100",
    "cifar-100-python.tar.gz",
)


def test_paper_profile_offline_stops_before_any_notebook_naming_every_input(tmp_path, monkeypatch):
    """Issue 11, item 10: the runner checks Broden, the weights and CIFAR-100 before notebook 01
    (missing CIFAR-100 or weights used to surface in notebook 05, after hours of 01-04)."""
    first = _offline_paper_project(tmp_path, monkeypatch)
    with pytest.raises(FileNotFoundError) as info:
        execute_notebooks("paper", [first], progress=False)
    message = str(info.value)
    assert "3 of its inputs are not usable; nothing was run" in message
    for text in (*PAPER_INPUTS, str(tmp_path / "data")):
        assert text in message, text
    assert not list((tmp_path / "runs" / "paper" / "notebooks").iterdir())
    summary = (tmp_path / "runs" / "paper" / "summary.md").read_text()
    assert "**Incomplete run: the profile's data is missing (nothing was run)" in summary


def test_paper_notebook_offline_fails_fast_in_its_setup_cell(tmp_path, monkeypatch):
    """In JupyterLab (no runner) notebook 01 stops in its set-up cell with the same message."""
    import papermill

    first = _offline_paper_project(tmp_path, monkeypatch)
    executed_path = tmp_path / "executed.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(first),
            str(executed_path),
            parameters={"profile": "paper"},
            cwd=str(first.parent),
            progress_bar=False,
        )
    executed = executed_path.read_text()
    for text in PAPER_INPUTS:
        assert text in executed, text
    cells = code_cells(executed_path)
    failed = [
        i for i, c in enumerate(cells) if any(o["output_type"] == "error" for o in c["outputs"])
    ]
    assert len(failed) == 1 and "check_paper_inputs" in source(cells[failed[0]])
    assert all(c["execution_count"] is None for c in cells[failed[0] + 1 :])
    assert not (tmp_path / "runs" / "paper" / "network.pt").exists()


#: C0 control characters other than tab and newline, and DEL: e.g. "\b" from "\bar P" written in
#: a non-raw string, which renders the formula broken.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_control_characters_in_any_cell(path):
    for cell in json.loads(path.read_text())["cells"]:
        text = source(cell)
        hit = CONTROL.search(text)
        assert hit is None, (
            f"{path.name}: control character {hit.group()!r} in {cell['cell_type']} cell "
            f"{cell.get('id')}: ...{text[max(0, hit.start() - 30) : hit.end() + 10]!r}"
        )
