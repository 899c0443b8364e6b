"""skdlib.distill.feature_baselines: FitNet's hint, VID, AB, FT and NST each equal a float64 loop
reference written from RepDistiller's definition, in value and gradient, and never send gradient
into the teacher's tensor."""

import math

import pytest
import torch

from skdlib.distill.feature_baselines import (
    ab_loss,
    factor,
    factor_loss,
    hint_loss,
    nst_loss,
    pool_to_smaller,
    vid_nll,
)


def tensors(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]


def avg_pool(f, side):
    """Adaptive average pooling by loops, for sides that divide evenly."""
    b, c, h, _ = f.shape
    k = h // side
    return torch.stack(
        [torch.stack([f[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k].mean((2, 3))
                      for j in range(side)], -1) for i in range(side)], -2
    )  # fmt: skip


def test_pool_to_smaller_pools_the_larger_side():
    a, b = tensors((2, 3, 8, 8), (2, 5, 4, 4))
    pa, pb = pool_to_smaller(a, b)
    torch.testing.assert_close(pa, avg_pool(a, 4))
    assert pb is b
    pb2, pa2 = pool_to_smaller(b, a)
    assert pb2 is b and torch.allclose(pa2, avg_pool(a, 4))


def test_hint_is_the_mean_squared_error():
    r, t = tensors((2, 3, 4, 4), (2, 3, 4, 4))
    want = sum((r[i, c, h, w] - t[i, c, h, w]) ** 2 for i in range(2) for c in range(3)
               for h in range(4) for w in range(4)) / 96  # fmt: skip
    got = hint_loss(r, t)
    assert float(got) == pytest.approx(float(want), rel=1e-12)
    got.backward()
    assert t.grad is None
    torch.testing.assert_close(r.grad, 2 * (r - t).detach() / 96)
    with pytest.raises(ValueError, match="regressor must map to the teacher's shape"):
        hint_loss(r, t[:, :2])


def test_vid_is_the_gaussian_nll_with_per_channel_variance():
    mu, t = tensors((2, 3, 2, 2), (2, 3, 2, 2))
    var = torch.tensor([0.5, 2.0, 5.0], dtype=torch.float64)
    want = 0.0
    for i in range(2):
        for c in range(3):
            for h in range(2):
                for w in range(2):
                    d = mu[i, c, h, w] - t[i, c, h, w]
                    want = want + 0.5 * (d * d / var[c] + math.log(var[c]))
    assert float(vid_nll(mu, t, var)) == pytest.approx(float(want / 24), rel=1e-12)


def test_ab_thresholds_at_the_margin_and_weights_stages_by_powers_of_two():
    s1, t1, s2, t2 = tensors((2, 2, 3, 3), (2, 2, 3, 3), (2, 4, 2, 2), (2, 4, 2, 2))
    m = 1.0

    def boundary(s, t):
        total = 0.0
        for v, u in zip(s.flatten(), t.flatten(), strict=True):
            if v > -m and u <= 0:
                total = total + (v + m) ** 2
            if v <= m and u > 0:
                total = total + (v - m) ** 2
        return total

    want = (0.5 * boundary(s1, t1) + 1.0 * boundary(s2, t2)) / 2 / 1000 * 3
    got = ab_loss([s1, s2], [t1, t2])
    assert float(got) == pytest.approx(float(want), rel=1e-12)
    got.backward()
    assert t1.grad is None and s1.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="1 student and 2 teacher maps"):
        ab_loss([s1], [t1, t2])


def test_ft_factor_is_attention_of_the_factor_and_the_loss_is_l1():
    fs, ft = tensors((2, 4, 4, 4), (2, 6, 2, 2))
    f = factor(fs)
    for b in range(2):
        row = torch.stack([sum(fs[b, c, h, w] ** 2 for c in range(4)) / 4
                           for h in range(4) for w in range(4)])  # fmt: skip
        torch.testing.assert_close(f[b], row / row.norm())
    pooled = avg_pool(fs, 2)
    want = (factor(pooled) - factor(ft)).abs().mean()
    assert float(factor_loss(fs, ft)) == pytest.approx(float(want), rel=1e-12)


def test_nst_is_the_squared_mmd_of_the_polynomial_kernel():
    fs, ft = tensors((2, 3, 2, 2), (2, 5, 2, 2))

    def unit(f):
        flat = f.reshape(2, f.shape[1], 4)
        return flat / flat.norm(dim=2, keepdim=True)

    s, t = unit(fs), unit(ft)

    def k(a, b):
        return sum((a[n, i] @ b[n, j]) ** 2 for n in range(2) for i in range(a.shape[1])
                   for j in range(b.shape[1])) / (2 * a.shape[1] * b.shape[1])  # fmt: skip

    want = k(t, t) + k(s, s) - 2 * k(s, t)
    got = nst_loss(fs, ft)
    assert float(got) == pytest.approx(float(want), rel=1e-10)
    got.backward()
    assert ft.grad is None
    assert float(nst_loss(fs, torch.cat([fs, 2 * fs], 1))) == pytest.approx(
        float(nst_loss(fs, fs)), abs=1e-12
    ) and float(nst_loss(fs, fs)) == pytest.approx(0.0, abs=1e-12)
