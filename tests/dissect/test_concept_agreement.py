"""skdlib.dissect.concept_agreement: float64 loop references, and a planted network whose
neighbour and concept structure is known end to end (dissection + embedding + measures)."""

import itertools

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from skdlib.data import make_synthetic_broden, planted_concept_model
from skdlib.dissect import BrodenDataset, BrodenImages, dissect
from skdlib.dissect.concept_agreement import (
    concept_structure,
    knn_concept_purity,
    nearest_concept_agreement,
)
from skdlib.embedding import EmbeddingConfig, EmbeddingTrainer


def cosine_ranking(v: np.ndarray, i: int) -> list[int]:
    """Other units ordered by cosine similarity to unit ``i``, explicit loop, float64."""
    sims = []
    for j in range(len(v)):
        if j != i:
            cos = float(v[i] @ v[j]) / (np.linalg.norm(v[i]) * np.linalg.norm(v[j]))
            sims.append((-cos, j))
    return [j for _, j in sorted(sims)]


def random_case(c: int = 40, k_dim: int = 6, n_labels: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    vectors = torch.randn(c, k_dim, generator=g)
    labels = [f"concept {int(x)}" for x in torch.randint(0, n_labels, (c,), generator=g)]
    return vectors, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nearest_agreement_matches_the_loop_reference(seed):
    vectors, labels = random_case(seed=seed)
    v = vectors.double().numpy()
    c = len(labels)
    hits = sum(labels[cosine_ranking(v, i)[0]] == labels[i] for i in range(c))
    chance = 0.0
    for i in range(c):  # a uniformly random other unit shares the label with this probability
        chance += sum(labels[j] == labels[i] for j in range(c) if j != i) / (c - 1)
    got = nearest_concept_agreement(vectors, labels)
    assert got["nearest"] == pytest.approx(hits / c, abs=1e-12)
    assert got["random"] == pytest.approx(chance / c, abs=1e-12)
    assert got["units"] == c


@pytest.mark.parametrize("k", [1, 3, 7])
def test_knn_purity_matches_the_loop_reference(k):
    vectors, labels = random_case(seed=k)
    v = vectors.double().numpy()
    c = len(labels)
    ref = np.mean(
        [np.mean([labels[j] == labels[i] for j in cosine_ranking(v, i)[:k]]) for i in range(c)]
    )
    got = knn_concept_purity(vectors, labels, k=k, shuffles=5)
    assert got["purity"] == pytest.approx(ref, abs=1e-12)
    assert got["k"] == k


def test_shuffled_purity_is_the_mean_over_seeded_permutations():
    vectors, labels = random_case(seed=3)
    v = vectors.double().numpy()
    graph = [cosine_ranking(v, i)[:4] for i in range(len(labels))]
    codes = np.array([int(s.split()[1]) for s in labels])
    # the permutations are numpy's, seeded; relabelling to codes does not change equality tests
    got = knn_concept_purity(vectors, labels, k=4, shuffles=6, seed=11)
    rng = np.random.default_rng(11)
    lookup: dict[int, int] = {}
    dense = np.array([lookup.setdefault(x, len(lookup)) for x in codes])
    values = []
    for _ in range(6):
        lab = rng.permutation(dense)
        values.append(
            np.mean([np.mean([lab[j] == lab[i] for j in graph[i]]) for i in range(len(lab))])
        )
    assert got["shuffled"] == pytest.approx(np.mean(values), abs=1e-12)
    assert got["shuffled_std"] == pytest.approx(np.std(values), abs=1e-12)


def test_clustered_vectors_are_pure_and_shuffled_labels_are_not():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(8, 16, generator=g)
    labels = [f"c{i % 8}" for i in range(64)]
    vectors = centres[torch.arange(64) % 8] + 0.05 * torch.randn(64, 16, generator=g)
    purity = knn_concept_purity(vectors, labels, k=5)
    assert purity["purity"] == 1.0
    assert purity["shuffled"] < 0.3  # chance: 7 of the 63 others share a label, 0.11
    agree = nearest_concept_agreement(vectors, labels)
    assert agree["nearest"] == 1.0 and agree["random"] == pytest.approx(7 / 63)


def test_bad_input_names_the_problem():
    vectors, labels = random_case(c=5)
    with pytest.raises(ValueError, match="got 4 labels for 5 units"):
        nearest_concept_agreement(vectors, labels[:4])
    with pytest.raises(ValueError, match=r"k must be in \[1, 4\] for 5 units"):
        knn_concept_purity(vectors, labels, k=5)
    with pytest.raises(ValueError, match=r"vectors must be \(C, K\)"):
        nearest_concept_agreement(vectors[0], labels[:1])


# -- a planted network: three units per concept, whose maps are that concept's masks -------------

PLANTED = ["red", "blue", "green", "circle", "square", "star", "striped", "sky"]
COPIES = 3


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = make_synthetic_broden(
        tmp_path_factory.mktemp("p") / "b", n_images=48, size=64, seed=2, progress=False
    )
    units = len(PLANTED) * COPIES
    weights = torch.tensor([1.0, 1.5, 2.0])

    def model_for(order: list[int]):
        """Unit ``u`` shows concept ``PLANTED[order[u] // COPIES]``."""
        mix = torch.zeros(units, len(PLANTED))
        for u, slot in enumerate(order):
            mix[u, slot // COPIES] = weights[slot % COPIES]
        return planted_concept_model(root, concepts=PLANTED, mix=mix)

    model = model_for(list(range(units)))
    loader = DataLoader(BrodenImages(BrodenDataset(root)), batch_size=16)
    trainer = EmbeddingTrainer(
        model, ["units"], EmbeddingConfig(epochs=5, optimizer="adam", lr=0.01), arch="planted"
    )
    emb = trainer.fit_dataset_mean(loader, steps=300, progress=False)
    # every concept covers well under half of its images' pixels: threshold 0, mask = concept
    dissection = dissect(model, ["units"], root, quantile=0.5, progress=False)
    shuffled_order = torch.randperm(units, generator=torch.Generator().manual_seed(5)).tolist()
    shuffled = dissect(model_for(shuffled_order), ["units"], root, quantile=0.5, progress=False)
    return emb, dissection, shuffled


def test_planted_dissection_finds_the_planted_concepts(planted):
    _, dissection, _ = planted
    best = [name for name, _, _ in dissection.best_concepts("units")]
    expected = [name for name in PLANTED for _ in range(COPIES)]
    assert best == expected


def test_planted_structure_gives_full_agreement_and_shuffled_gives_chance(planted):
    emb, dissection, shuffled = planted
    got = concept_structure(emb.vectors["units"], dissection, "units", k=2)
    assert got["nn_agreement"] == 1.0 and got["knn_purity"] == 1.0
    assert got["nn_random"] == pytest.approx(2 / 23) and got["concepts"] == len(PLANTED)
    # the same vectors read against labels that were dealt out at random: chance level
    wrong = concept_structure(emb.vectors["units"], shuffled, "units", k=2)
    assert wrong["nn_agreement"] < 0.35 and wrong["knn_purity"] < 0.35
    assert wrong["knn_shuffled"] == pytest.approx(got["knn_shuffled"], abs=0.05)


def test_concept_structure_refuses_vectors_of_another_network(planted):
    emb, dissection, _ = planted
    with pytest.raises(ValueError, match="23 vectors but 24 dissected units"):
        concept_structure(emb.vectors["units"][:23], dissection, "units")


def test_every_pair_of_planted_copies_is_closer_than_any_other_pair(planted):
    emb, _, _ = planted
    v = torch.nn.functional.normalize(emb.vectors["units"].double(), dim=1)
    cos = v @ v.T
    same = [
        cos[a, b]
        for g in range(len(PLANTED))
        for a, b in itertools.combinations(range(g * COPIES, (g + 1) * COPIES), 2)
    ]
    other = [cos[a, b] for a in range(len(v)) for b in range(len(v)) if a // COPIES != b // COPIES]
    assert min(same) > max(other)
