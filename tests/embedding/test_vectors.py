"""skdlib.embedding.vectors: seeded unit-row initialisation, any layer name."""

import torch

from skdlib.embedding import (
    SemanticVectors,
)


def test_semantic_vectors_are_seeded_unit_rows_and_allow_dotted_names():
    a = SemanticVectors({"layer4.1.conv2": 6, "x": 3}, dim=4, seed=1)
    b = SemanticVectors({"layer4.1.conv2": 6, "x": 3}, dim=4, seed=1)
    assert torch.equal(a["layer4.1.conv2"], b["layer4.1.conv2"])
    torch.testing.assert_close(a["x"].norm(dim=1), torch.ones(3))
    assert list(a.as_dict()) == ["layer4.1.conv2", "x"]
