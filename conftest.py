"""pytest set-up shared by the unit tests and nbval.

The notebooks are committed without any output. nbval compares the cells marked
``# NBVAL_CHECK_OUTPUT`` against a stored output, so their expected results live in
``tests/nbval_references.json`` (notebook -> cell id -> text/plain) and are attached to those
cells here, at collection time, before nbval runs them.
"""

import json
from pathlib import Path

import nbformat

REFERENCES = json.loads((Path(__file__).parent / "tests" / "nbval_references.json").read_text())


def pytest_collection_modifyitems(items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or not str(item.path).endswith(".ipynb"):
            continue
        expected = REFERENCES.get(item.path.name, {}).get(cell.get("id"))
        if expected is not None:
            cell.outputs = [
                nbformat.v4.new_output(
                    "execute_result", data={"text/plain": expected}, execution_count=1
                )
            ]
            cell.execution_count = 1
