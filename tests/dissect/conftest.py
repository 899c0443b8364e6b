"""Broden folders shared by the dissection tests: a hand-written one and a small generated one."""

from pathlib import Path

import pytest
from support.broden_files import write_hand_broden

from skdlib.data import make_synthetic_broden


@pytest.fixture()
def hand(tmp_path) -> Path:
    """The hand-written Broden of :mod:`support.broden_files` (one per test: tests damage it)."""
    return write_hand_broden(tmp_path / "hand")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A generated Broden of 24 images at 64 px."""
    return make_synthetic_broden(
        tmp_path_factory.mktemp("d") / "b", n_images=24, size=64, seed=1, progress=False
    )
