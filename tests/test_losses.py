"""skdlib.losses against an independent float64 reference written with explicit loops."""

import math

import pytest
import torch

from skdlib.losses import (
    embedding_loss,
    embedding_loss_over_layers,
    pairwise_cosine,
    relation_cross_entropy,
    skd_loss,
    skd_loss_over_layers,
)

# ---------------------------------------------------------------- reference (loops, float64)


def ref_cosine(rows):
    """rows: list of lists of floats -> C x C list of cosines (0 for a zero row)."""
    norms = [math.sqrt(sum(v * v for v in r)) for r in rows]
    out = []
    for i, ri in enumerate(rows):
        line = []
        for j, rj in enumerate(rows):
            if norms[i] == 0 or norms[j] == 0:
                line.append(0.0)
            else:
                line.append(sum(a * b for a, b in zip(ri, rj, strict=True)) / (norms[i] * norms[j]))
        out.append(line)
    return out


def ref_softmax_rows(mat, tau, exclude_diagonal):
    out = []
    for i, row in enumerate(mat):
        keep = [j for j in range(len(row)) if not (exclude_diagonal and j == i)]
        top = max(row[j] / tau for j in keep)
        z = sum(math.exp(row[j] / tau - top) for j in keep)
        out.append(
            [0.0 if j not in keep else math.exp(row[j] / tau - top) / z for j in range(len(row))]
        )
    return out


def ref_ce(target, pred, tau, exclude_diagonal):
    """-(1/C) sum_i sum_j p(j|i) log q(j|i), both from similarity matrices."""
    p = ref_softmax_rows(target, tau, exclude_diagonal)
    q = ref_softmax_rows(pred, tau, exclude_diagonal)
    c = len(target)
    total = 0.0
    for i in range(c):
        for j in range(c):
            if exclude_diagonal and i == j:
                continue
            total -= p[i][j] * math.log(q[i][j])
    return total / c


def maps_as_rows(act_b):
    """(C, H, W) tensor -> list of C flat python lists."""
    return [act_b[c].reshape(-1).tolist() for c in range(act_b.shape[0])]


def ref_embedding_loss(act, vec, tau, exclude_diagonal):
    act = act.double()
    pred = ref_cosine(vec.double().tolist())
    losses = [
        ref_ce(ref_cosine(maps_as_rows(act[b])), pred, tau, exclude_diagonal)
        for b in range(act.shape[0])
    ]
    return sum(losses) / len(losses)


def ref_skd_loss(act, vec, tau, exclude_diagonal):
    act = act.double()
    target = ref_cosine(vec.double().tolist())
    losses = [
        ref_ce(target, ref_cosine(maps_as_rows(act[b])), tau, exclude_diagonal)
        for b in range(act.shape[0])
    ]
    return sum(losses) / len(losses)


def ref_entropy(target, tau, exclude_diagonal):
    p = ref_softmax_rows(target, tau, exclude_diagonal)
    c = len(p)
    return -sum(v * math.log(v) for row in p for v in row if v > 0) / c


def rel_err(value, reference):
    """Relative error, measured against at least 1: a float32 loss near zero is the difference of
    log-sum-exp terms of order one, so its absolute resolution is ~1e-7, not ~1e-7 * loss."""
    return abs(float(value.detach()) - reference) / max(abs(reference), 1.0)


SHAPES = [(1, 2, 1, 1), (3, 5, 4, 4), (2, 7, 3, 5), (4, 16, 2, 2)]
TAUS = [1.0, 0.5, 0.1, 2.0]


def sample_activation(shape, seed, relu=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g) + 0.3
    return torch.relu(x) if relu else x


# ---------------------------------------------------------------- pairwise_cosine


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 7), (2, 3, 6, 4)])
def test_pairwise_cosine_matches_loops(shape):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    got = pairwise_cosine(x)
    assert got.shape == (*shape[:-1], shape[-2])
    flat = x.reshape(-1, shape[-2], shape[-1])
    for b in range(flat.shape[0]):
        ref = torch.tensor(ref_cosine(flat[b].double().tolist()), dtype=torch.float64)
        torch.testing.assert_close(
            got.reshape(-1, shape[-2], shape[-2])[b].double(), ref, rtol=1e-5, atol=1e-6
        )


def test_pairwise_cosine_gradient_matches_finite_differences():
    x = torch.randn(2, 5, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pairwise_cosine, (x,))


def test_pairwise_cosine_zero_row_is_zero_not_nan():
    x = torch.randn(3, 4, dtype=torch.float64)
    x[1] = 0
    x.requires_grad_()
    sim = pairwise_cosine(x)
    assert torch.all(sim[1] == 0) and torch.all(sim[:, 1] == 0)
    (sim * torch.randn(3, 3, dtype=torch.float64)).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.all(x.grad[1] == 0)


# ---------------------------------------------------------------- relation_cross_entropy


@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("exclude_diagonal", [False, True])
def test_relation_cross_entropy_matches_loops(tau, exclude_diagonal):
    g = torch.Generator().manual_seed(3)
    target = pairwise_cosine(torch.randn(6, 4, generator=g))
    pred = pairwise_cosine(torch.randn(6, 3, generator=g))
    got = relation_cross_entropy(target, pred, tau, exclude_diagonal)
    ref = ref_ce(target.double().tolist(), pred.double().tolist(), tau, exclude_diagonal)
    assert rel_err(got, ref) < 1e-5


def test_relation_cross_entropy_broadcasts_and_averages_batch():
    g = torch.Generator().manual_seed(4)
    target = pairwise_cosine(torch.randn(3, 5, 4, generator=g))
    pred = pairwise_cosine(torch.randn(5, 2, generator=g))
    got = relation_cross_entropy(target, pred)
    ref = sum(ref_ce(t.double().tolist(), pred.double().tolist(), 1.0, False) for t in target) / 3
    assert rel_err(got, ref) < 1e-5


@pytest.mark.parametrize("tau", [1.0, 0.2])
def test_cross_entropy_bounded_below_by_entropy_with_equality_when_matched(tau):
    g = torch.Generator().manual_seed(5)
    target = pairwise_cosine(torch.randn(8, 4, generator=g))
    entropy = ref_entropy(target.double().tolist(), tau, False)
    matched = relation_cross_entropy(target, target.clone(), tau)
    assert abs(float(matched) - entropy) < 1e-5
    for _ in range(5):
        other = pairwise_cosine(torch.randn(8, 4, generator=g))
        assert float(relation_cross_entropy(target, other, tau)) > entropy + 1e-4


def test_relation_cross_entropy_rejects_bad_shapes_and_tau():
    with pytest.raises(ValueError, match="same C"):
        relation_cross_entropy(torch.zeros(3, 3), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="tau"):
        relation_cross_entropy(torch.zeros(3, 3), torch.zeros(3, 3), tau=0)


# ---------------------------------------------------------------- both losses against the loops

# (loss, reference, whether the activation sample is post-ReLU, seed offset)
LOSSES = [
    pytest.param(embedding_loss, ref_embedding_loss, True, 0, id="embedding_loss"),
    pytest.param(skd_loss, ref_skd_loss, False, 10, id="skd_loss"),
]


@pytest.mark.parametrize(("loss_fn", "ref_fn", "relu", "seed"), LOSSES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tau", TAUS)
def test_loss_matches_loops(loss_fn, ref_fn, relu, seed, shape, tau):
    act = sample_activation(shape, seed=seed + shape[1], relu=relu)
    vec = torch.randn(shape[1], 3, generator=torch.Generator().manual_seed(seed + 9))
    assert rel_err(loss_fn(act, vec, tau), ref_fn(act, vec, tau, False)) < 1e-5


@pytest.mark.parametrize(("loss_fn", "ref_fn", "relu", "seed"), LOSSES)
@pytest.mark.parametrize("tau", [1.0, 0.3])
def test_loss_exclude_diagonal_matches_loops(loss_fn, ref_fn, relu, seed, tau):
    act = sample_activation((3, 6, 3, 3), seed=seed + 2, relu=relu)
    vec = torch.randn(6, 4, generator=torch.Generator().manual_seed(seed + 2))
    got = loss_fn(act, vec, tau, exclude_diagonal=True)
    assert rel_err(got, ref_fn(act, vec, tau, True)) < 1e-5


# ---------------------------------------------------------------- embedding_loss (Eq. 1)


def test_embedding_loss_chunking_gives_same_value():
    act = sample_activation((9, 12, 4, 4), seed=3)
    vec = torch.randn(12, 5)
    whole = embedding_loss(act, vec)
    chunked = embedding_loss(act, vec, max_chunk_bytes=1)  # one sample per chunk
    assert abs(float(whole) - float(chunked)) < 1e-6


@pytest.mark.parametrize(
    ("loss_fn", "learns"), [(embedding_loss, "vectors"), (skd_loss, "activation")]
)
def test_gradient_reaches_only_the_learned_side(loss_fn, learns):
    """Eq. 1 trains the vectors (activations are targets); Eq. 2 the reverse."""
    act = sample_activation((4, 6, 3, 3), seed=4).requires_grad_()
    vec = torch.randn(6, 4, requires_grad=True)
    loss_fn(act, vec).backward()
    learned, frozen = (vec, act) if learns == "vectors" else (act, vec)
    assert learned.grad is not None and learned.grad.abs().sum() > 0
    assert frozen.grad is None


def test_embedding_loss_gradient_matches_autograd_of_reference_formula():
    act = sample_activation((3, 5, 2, 3), seed=5).double()
    vec = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    embedding_loss(act, vec, tau=0.5).backward()
    got = vec.grad.clone()
    vec.grad = None
    a = torch.nn.functional.normalize(act.flatten(2), dim=2)
    p = torch.softmax(a @ a.transpose(1, 2) / 0.5, -1)
    s = torch.nn.functional.normalize(vec, dim=1)
    logq = torch.log_softmax(s @ s.T / 0.5, -1)
    (-(p * logq).sum(-1).mean()).backward()
    torch.testing.assert_close(got, vec.grad)


# ---------------------------------------------------------------- skd_loss (Eq. 2)


@pytest.mark.parametrize("tau", [1.0, 0.25])
@pytest.mark.parametrize("exclude_diagonal", [False, True])
def test_skd_loss_gradient_matches_finite_differences(tau, exclude_diagonal):
    act = torch.randn(2, 4, 3, 2, dtype=torch.float64, requires_grad=True)
    vec = torch.randn(4, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: skd_loss(a, vec, tau, exclude_diagonal), (act,))


def test_skd_loss_at_matching_structure_equals_target_entropy():
    # activations whose channel cosines equal the teacher's vector cosines: CE = H(p)
    vec = torch.randn(5, 8, dtype=torch.float64)
    act = vec.reshape(1, 5, 2, 4).repeat(3, 1, 1, 1)
    entropy = ref_entropy(ref_cosine(vec.tolist()), 1.0, False)
    assert abs(float(skd_loss(act, vec)) - entropy) < 1e-10


# ---------------------------------------------------------------- degenerate input


def test_all_zero_activation_maps_give_finite_losses_and_gradients():
    act = torch.zeros(2, 4, 3, 3, requires_grad=True)
    act2 = sample_activation((2, 4, 3, 3), seed=6).detach()
    act2[:, 1] = 0  # one dead channel
    act2.requires_grad_()
    vec = torch.randn(4, 3, requires_grad=True)
    for a in (act, act2):
        for loss in (embedding_loss(a, vec), skd_loss(a, vec)):
            assert torch.isfinite(loss)
            loss.backward()
        assert torch.isfinite(vec.grad).all()
        if a.grad is not None:
            assert torch.isfinite(a.grad).all()
    # the dead-channel case still agrees with the reference (zero map = zero similarity)
    ref = ref_skd_loss(act2.detach(), vec.detach(), 1.0, False)
    assert rel_err(skd_loss(act2, vec), ref) < 1e-5


# ---------------------------------------------------------------- several layers


def test_multi_layer_forms_average_over_layers():
    acts = {"a": sample_activation((3, 4, 2, 2), 20), "b.x": sample_activation((3, 6, 3, 1), 21)}
    vecs = {"a": torch.randn(4, 5), "b.x": torch.randn(6, 5)}
    emb = (
        ref_embedding_loss(acts["a"], vecs["a"], 1.0, False)
        + ref_embedding_loss(acts["b.x"], vecs["b.x"], 1.0, False)
    ) / 2
    skd = (
        ref_skd_loss(acts["a"], vecs["a"], 1.0, False)
        + ref_skd_loss(acts["b.x"], vecs["b.x"], 1.0, False)
    ) / 2
    assert rel_err(embedding_loss_over_layers(acts, vecs), emb) < 1e-5
    assert rel_err(skd_loss_over_layers(acts, vecs), skd) < 1e-5


def test_channel_mismatch_names_layer_and_both_counts():
    acts = {"layer3": torch.rand(2, 256, 2, 2)}
    vecs = {"layer3": torch.randn(128, 16)}
    for fn in (embedding_loss_over_layers, skd_loss_over_layers):
        with pytest.raises(ValueError, match=r"layer3.*256 channels.*128 rows"):
            fn(acts, vecs)


def test_layer_name_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="same layers"):
        skd_loss_over_layers({"layer1": torch.rand(2, 4, 2, 2)}, {"layer2": torch.randn(4, 3)})
