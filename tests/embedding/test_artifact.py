"""skdlib.embedding.artifact: NeuronEmbedding round-trips, checks the model it is loaded for, and
its queries match brute force.
"""

import math

import pytest
import torch
from torch import nn

from skdlib.embedding import (
    EmbeddingConfig,
    EmbeddingTrainer,
    NeuronEmbedding,
)

GROUPS = 8


def untrained(arch: str = "planted"):
    """An embedding with the trainer's full metadata, and the 16-channel model it belongs to."""
    model = nn.Sequential(nn.Conv2d(GROUPS, 2 * GROUPS, 1), nn.ReLU())
    trainer = EmbeddingTrainer(model, ["1"], EmbeddingConfig(), device="cpu", arch=arch)
    trainer.prepare((GROUPS, 8, 8))
    return trainer.result(), model


def test_save_load_round_trip(tmp_path):
    emb, model = untrained()
    path = emb.save(tmp_path / "sub" / "embedding.pt")
    back = NeuronEmbedding.load(path, model=model)
    assert back.meta == emb.meta and back.meta["arch"] == "planted"
    assert back.layers == emb.layers == ["1"]
    assert all(torch.equal(back.vectors[k], emb.vectors[k]) for k in emb.vectors)
    assert back.nearest("1", 3) == emb.nearest("1", 3)
    assert not list(tmp_path.joinpath("sub").glob("*.tmp"))


def test_loading_against_a_different_model_is_a_clear_error(tmp_path):
    emb, _ = untrained()
    path = emb.save(tmp_path / "embedding.pt")
    wider = nn.Sequential(nn.Conv2d(GROUPS, 3 * GROUPS, 1), nn.ReLU())
    with pytest.raises(ValueError, match=r"layer '1': model has 24 channels, embedding has 16"):
        NeuronEmbedding.load(path, model=wider)
    other = nn.Sequential(nn.Conv2d(GROUPS, 2 * GROUPS, 1))
    with pytest.raises(ValueError, match=r"learned for planted layers \['1'\]"):
        NeuronEmbedding.load(path, model=other)


def test_loading_a_wrong_file_names_it(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        NeuronEmbedding.load(missing)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="junk.pt"):
        NeuronEmbedding.load(junk)
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not an skdlib neuron embedding"):
        NeuronEmbedding.load(tmp_path / "other.pt")
    newer = {"format": "skdlib.neuron-embedding/2", "meta": {"library_version": "0.9.0"}}
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(ValueError, match="version mismatch") as info:
        NeuronEmbedding.load(tmp_path / "newer.pt")
    assert "format version 2 (written by skdlib 0.9.0)" in str(info.value)
    assert "reads version 1" in str(info.value)


def brute_cosines(vectors: torch.Tensor, query: torch.Tensor) -> list[float]:
    return [
        float(torch.dot(v.double(), query.double()) / (v.double().norm() * query.double().norm()))
        for v in vectors
    ]


def test_nearest_and_additive_match_brute_force():
    g = torch.Generator().manual_seed(7)
    vecs = torch.randn(20, 5, generator=g)
    emb = NeuronEmbedding({"l": vecs})
    for unit in (0, 7, 19):
        cos = brute_cosines(vecs, vecs[unit])
        order = sorted((u for u in range(20) if u != unit), key=lambda u: -cos[u])
        got = emb.nearest("l", unit, k=4)
        assert [u for u, _ in got] == order[:4]
        assert all(math.isclose(c, cos[u], abs_tol=1e-6) for u, c in got)
    for a, b in ((0, 1), (5, 12)):
        cos = brute_cosines(vecs, vecs[a] + vecs[b])
        order = sorted((u for u in range(20) if u not in (a, b)), key=lambda u: -cos[u])
        got = emb.additive("l", a, b, k=3)
        assert [u for u, _ in got] == order[:3]
        assert all(math.isclose(c, cos[u], abs_tol=1e-6) for u, c in got)


def test_queries_reject_bad_layer_and_unit():
    emb = NeuronEmbedding({"l": torch.randn(4, 3)})
    with pytest.raises(KeyError, match="no layer 'x'"):
        emb.nearest("x", 0)
    with pytest.raises(IndexError, match="units 0..3"):
        emb.additive("l", 0, 4)


def test_nearest_to_a_direction_matches_an_explicit_cosine_loop():

    g = torch.Generator().manual_seed(5)
    vectors = torch.randn(7, 3, generator=g)
    emb = NeuronEmbedding({"l": vectors})
    query = [0.3, -1.0, 2.0]
    cosines = []
    for row in vectors.double().tolist():
        dot = sum(a * b for a, b in zip(row, query, strict=True))
        cosines.append(dot / math.sqrt(sum(a * a for a in row) * sum(b * b for b in query)))
    want = sorted(range(7), key=lambda u: -cosines[u])
    got = emb.nearest_to("l", torch.tensor(query, dtype=torch.float64), k=3, exclude={want[0]})
    assert [u for u, _ in got] == want[1:4]
    assert [c for _, c in got] == pytest.approx([cosines[u] for u in want[1:4]], abs=1e-9)
    with pytest.raises(ValueError, match="layer 'l' has 3-dim vectors, got 2"):
        emb.nearest_to("l", torch.zeros(2))
