"""skdlib.filenames: every file name a job writes is spelled once, in this module.

The check reads every string constant of the package's code (docstrings aside) and of the
notebooks' code cells: a run-folder file name found anywhere but in skdlib/filenames.py is a
second spelling of it.
"""

import ast
import json
import re
from pathlib import Path

from skdlib import filenames

ROOT = Path(__file__).resolve().parent.parent
NAMES = {getattr(filenames, n) for n in filenames.__all__ if not n.endswith(("_FORMAT", "_FOLDER"))}
#: Folder names: plain words, so they are not searched for (``"report"`` is also a module name).
FOLDERS = {getattr(filenames, n) for n in filenames.__all__ if n.endswith("_FOLDER")}
FORMATS = {getattr(filenames, n) for n in filenames.__all__ if n.endswith("_FORMAT")}


def _constants(tree: ast.AST) -> list[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    ]  # fmt: skip


def _names_in(text: str) -> list[str]:
    """The names and formats spelled in ``text`` as whole words (``best.pt`` is not in
    ``resnet_best.pth``)."""
    return [n for n in NAMES | FORMATS if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", text)]


def _spellings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "skdlib").rglob("*.py")):
        for text in _constants(ast.parse(path.read_text())):
            for name in _names_in(text):
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                code = "".join(cell["source"])
                code = "\n".join(  # IPython's ! and % lines are not Python
                    re.sub(r"[!%]", "pass  # ", line, count=1)
                    if line.lstrip()[:1] in "!%"
                    else line
                    for line in code.split("\n")
                )
                for text in _constants(ast.parse(code)):
                    for name in _names_in(text):
                        found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_file_name_and_format_is_spelled_once():
    found = _spellings()
    assert set(found) == NAMES | FORMATS  # the check sees the module's own spelling of each
    twice = {name: places for name, places in found.items() if places != ["skdlib/filenames.py"]}
    assert twice == {}


def test_names_are_plain_file_names_and_formats_are_versioned():
    assert all("/" not in n and "." in n for n in NAMES)
    assert all(f.startswith("skdlib.") and f.rsplit("/", 1)[1].isdigit() for f in FORMATS)
    assert len(NAMES) == len(
        [n for n in filenames.__all__ if not n.endswith(("_FORMAT", "_FOLDER"))]
    )
    assert all(f.isidentifier() for f in FOLDERS)  # no suffix, no separator
    assert filenames.TALLY_CSV.format(layer="layer4") == "tally_layer4.csv"
