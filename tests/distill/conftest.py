"""Data shared by the distillation tests."""

import pytest
from support.distill_refs import head

from skdlib.distill.cifar import load_split


@pytest.fixture(scope="module")
def data():
    """40 training images (2 batches of 20) and 40 test images of the synthetic stand-in."""
    train, test = load_split("synthetic", True, n_per_class=1), load_split("synthetic", False, 1)
    return head(train, 40), head(test, 40)
