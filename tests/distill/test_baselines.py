"""skdlib.distill.baselines: each loss equals a float64 loop reference written from its
paper's formula.

The references below use explicit Python loops over samples, classes, positions and triplets, so
they share no vectorised code with the library. Gradients are compared too (the references are
built from differentiable scalar torch ops), and the teacher's tensor never receives gradient.
"""

import math

import pytest
import torch

from skdlib.distill.baselines import (
    at_loss,
    at_loss_sum,
    attention_map,
    kd_loss,
    pkt_loss,
    rkd_loss,
    sp_loss,
)


def tensors(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


def huber(x):
    return 0.5 * x * x if abs(x.item()) < 1.0 else abs(x) - 0.5


# -- references written from the formulas -------------------------------------------------------


def ref_kd(s, t, temp):
    total = 0.0
    for b in range(s.shape[0]):
        zs = [s[b, k] / temp for k in range(s.shape[1])]
        zt = [t[b, k] / temp for k in range(t.shape[1])]
        ns = sum(torch.exp(z) for z in zs)
        nt = sum(torch.exp(z) for z in zt)
        for k in range(len(zs)):
            p, q = torch.exp(zt[k]) / nt, torch.exp(zs[k]) / ns
            total = total + p * torch.log(p / q)
    return total / s.shape[0] * temp**2


def ref_sp(fs, ft):
    b = fs.shape[0]
    fs, ft = fs.reshape(b, -1), ft.reshape(b, -1)

    def gram(f):
        rows = []
        for i in range(b):
            row = [sum(f[i, d] * f[j, d] for d in range(f.shape[1])) for j in range(b)]
            norm = torch.sqrt(sum(v * v for v in row))
            rows.append([v / norm for v in row])
        return rows

    gs, gt = gram(fs), gram(ft)
    return sum((gt[i][j] - gs[i][j]) ** 2 for i in range(b) for j in range(b)) / (b * b)


def ref_rkd(fs, ft, wd=25.0, wa=50.0):
    b = fs.shape[0]
    es, et = fs.reshape(b, -1), ft.reshape(b, -1)

    def dist(e, i, j):
        return torch.sqrt(sum((e[i, d] - e[j, d]) ** 2 for d in range(e.shape[1])))

    def distances(e):
        d = [[dist(e, i, j) if i != j else torch.zeros((), dtype=e.dtype) for j in range(b)]
             for i in range(b)]  # fmt: skip
        mu = sum(d[i][j] for i in range(b) for j in range(b) if i != j) / (b * (b - 1))
        return [[d[i][j] / mu for j in range(b)] for i in range(b)]

    ds, dt = distances(es), distances(et)
    loss_d = sum(huber(ds[i][j] - dt[i][j]) for i in range(b) for j in range(b)) / b**2

    def cos_angle(e, i, j, k):
        if j == i or k == i:
            return torch.zeros((), dtype=e.dtype)
        u, v = e[j] - e[i], e[k] - e[i]
        return (u * v).sum() / (torch.sqrt((u * u).sum()) * torch.sqrt((v * v).sum()))

    loss_a = 0.0
    for i in range(b):
        for j in range(b):
            for k in range(b):
                loss_a = loss_a + huber(cos_angle(es, i, j, k) - cos_angle(et, i, j, k))
    return wd * loss_d + wa * loss_a / b**3


def ref_attention(f):
    """Per sample: q[x] = mean_c f[c, x]^2 over positions x, L2-normalised."""
    b, c, h, w = f.shape
    out = []
    for n in range(b):
        q = [sum(f[n, ch, y, x] ** 2 for ch in range(c)) / c for y in range(h) for x in range(w)]
        norm = torch.sqrt(sum(v * v for v in q))
        out.append([v / norm for v in q])
    return out


def ref_avg_pool(f, k):
    b, c, h, w = f.shape
    out = torch.zeros(b, c, h // k, w // k, dtype=f.dtype)
    for y in range(h // k):
        for x in range(w // k):
            out[:, :, y, x] = f[:, :, y * k : (y + 1) * k, x * k : (x + 1) * k].mean((2, 3))
    return out


def ref_at(fs, ft):
    qs, qt = ref_attention(fs), ref_attention(ft)
    total, count = 0.0, 0
    for a, b in zip(qs, qt, strict=True):
        for u, v in zip(a, b, strict=True):
            total = total + (u - v) ** 2
            count += 1
    return total / count


def ref_pkt(fs, ft, eps=1e-7):
    b = fs.shape[0]
    es, et = fs.reshape(b, -1), ft.reshape(b, -1)

    def conditionals(e):
        unit = [e[i] / (torch.sqrt((e[i] * e[i]).sum()) + eps) for i in range(b)]
        k = [[((unit[i] * unit[j]).sum() + 1) / 2 for j in range(b)] for i in range(b)]
        return [[k[i][j] / sum(k[i]) for j in range(b)] for i in range(b)]

    q, p = conditionals(es), conditionals(et)
    total = 0.0
    for i in range(b):
        for j in range(b):
            total = total + p[i][j] * torch.log((p[i][j] + eps) / (q[i][j] + eps))
    return total / b**2


# -- values and gradients ---------------------------------------------------------------------


def check(fn, ref, s, t, **kw):
    s = s.clone().requires_grad_()
    t = t.clone().requires_grad_()
    ours = fn(s, t, **kw)
    (g_ours,) = torch.autograd.grad(ours, s, retain_graph=True)
    s_ref = s.detach().clone().requires_grad_()
    theirs = ref(s_ref, t.detach(), **kw)
    (g_ref,) = torch.autograd.grad(theirs, s_ref)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-9, abs=1e-12)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-7, atol=1e-10)
    ours.backward()
    assert t.grad is None, "the teacher's tensor must not receive gradient"
    return ours.item()


@pytest.mark.parametrize("temp", [1.0, 4.0])
def test_kd_matches_reference(temp):
    s, t = tensors((5, 7), (5, 7))
    value = check(lambda a, b: kd_loss(a, b, temp), lambda a, b: ref_kd(a, b, temp), 3 * s, 3 * t)
    assert value > 0


def test_kd_known_value_zero_at_agreement_and_class_mismatch():
    # p = (3/4, 1/4) against q = (1/2, 1/2) at T = 1
    s, t = torch.zeros(1, 2), torch.tensor([[math.log(3.0), 0.0]])
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert float(kd_loss(s, t, 1.0)) == pytest.approx(expected, rel=1e-6)
    (t,) = tensors((4, 6), seed=1)
    assert float(kd_loss(t, t)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="same number of classes"):
        kd_loss(torch.zeros(2, 10), torch.zeros(2, 100))


def test_sp_matches_reference():
    s, t = tensors((5, 3, 2, 2), (5, 6, 3, 3), seed=2)  # different feature sizes are fine
    value = check(sp_loss, ref_sp, s, t)
    assert value > 0
    assert float(sp_loss(t, 4 * t)) == pytest.approx(0.0, abs=1e-15)


def test_rkd_matches_reference():
    s, t = tensors((5, 4), (5, 6), seed=3)
    value = check(rkd_loss, ref_rkd, s, t)
    assert value > 0
    # similarity-invariant: a rotated, scaled and shifted copy has the same relations
    q, _ = torch.linalg.qr(tensors((4, 4), seed=4)[0])
    assert float(rkd_loss(2.5 * s @ q + 1.0, s)) == pytest.approx(0.0, abs=1e-12)


def test_rkd_weights_split_the_two_terms():
    s, t = tensors((4, 3), (4, 3), seed=5)
    both = float(rkd_loss(s, t))
    dist = float(rkd_loss(s, t, w_distance=1.0, w_angle=0.0))
    angle = float(rkd_loss(s, t, w_distance=0.0, w_angle=1.0))
    assert both == pytest.approx(25 * dist + 50 * angle, rel=1e-12)
    assert dist == pytest.approx(float(ref_rkd(s, t, 1.0, 0.0)), rel=1e-9)


def test_attention_map_matches_reference():
    (f,) = tensors((2, 3, 2, 3), seed=6)
    ref = torch.tensor([[float(v) for v in row] for row in ref_attention(f)], dtype=f.dtype)
    torch.testing.assert_close(attention_map(f), ref)


def test_at_matches_reference_same_size():
    s, t = tensors((3, 4, 3, 3), (3, 8, 3, 3), seed=7)  # channel counts may differ
    check(at_loss, ref_at, s, t)


def test_at_pools_the_larger_map():
    s, t = tensors((2, 3, 4, 4), (2, 5, 2, 2), seed=8)
    ours = at_loss(s, t)
    assert float(ours) == pytest.approx(float(ref_at(ref_avg_pool(s, 2), t)), rel=1e-9)
    ours_swapped = at_loss(t, s)
    assert float(ours_swapped) == pytest.approx(float(ref_at(t, ref_avg_pool(s, 2))), rel=1e-9)


def test_at_loss_sum_is_the_sum_over_layers_paired_by_position():
    a, b, c, d = tensors((2, 3, 4, 4), (2, 3, 4, 4), (2, 5, 2, 2), (2, 6, 2, 2), seed=9)
    total = at_loss_sum({"layer1": a, "layer2": c}, {"block1": b, "block2": d})
    assert float(total) == pytest.approx(float(ref_at(a, b) + ref_at(c, d)), rel=1e-9)
    with pytest.raises(ValueError, match="same non-zero number"):
        at_loss_sum({"layer1": a}, {"block1": b, "block2": d})


def test_pkt_matches_reference():
    s, t = tensors((5, 4), (5, 9), seed=10)
    value = check(pkt_loss, ref_pkt, s, t)
    assert value > 0
    assert float(pkt_loss(t, 3 * t)) == pytest.approx(0.0, abs=1e-12)


def test_batch_mismatch_is_a_clear_error():
    for fn in (sp_loss, rkd_loss, pkt_loss, kd_loss):
        with pytest.raises(ValueError, match="same batch size"):
            fn(torch.zeros(4, 8), torch.zeros(5, 8))
