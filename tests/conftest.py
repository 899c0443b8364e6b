"""Fixtures shared across the test folders."""

import os
import shutil
from pathlib import Path

import pytest

from skdlib.tutorial import execute_notebooks, notebook_paths

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """All six tutorial notebooks executed with ``python -m skdlib notebooks --profile smoke``'s
    runner in a fresh project folder (a copy of ``notebooks/``); returns that folder, whose
    ``runs/smoke/`` holds the executed copies, figures and artifacts."""
    root = tmp_path_factory.mktemp("project")
    (root / "skdlib").mkdir()  # marks the project root, as in the repository
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    before = os.environ.get("SKD_ROOT")
    os.environ["SKD_ROOT"] = str(root)
    try:
        execute_notebooks("smoke", notebook_paths(root / "notebooks"), progress=False)
    finally:
        if before is None:
            del os.environ["SKD_ROOT"]
        else:
            os.environ["SKD_ROOT"] = before
    return root
