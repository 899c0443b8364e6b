"""Data the command tests share."""

from pathlib import Path

import pytest

from skdlib.data import make_synthetic_broden


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A generated Broden of 24 images at 64 px."""
    return make_synthetic_broden(
        tmp_path_factory.mktemp("d") / "b", n_images=24, size=64, seed=1, progress=False
    )
