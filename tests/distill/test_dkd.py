"""skdlib.distill.dkd: DKD as mdistiller computes it equals its definition (binary target KL plus
renormalised non-target KL, in float64), decomposes KD, and warms up linearly."""

import pytest
import torch
from support.repdistiller_refs import ref_dkd

from skdlib.distill.baselines import kd_loss
from skdlib.distill.dkd import dkd_loss, dkd_warmup


def logits(seed=0, b=6, k=10):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, k, generator=g, dtype=torch.float64, requires_grad=True),
        3 * torch.randn(b, k, generator=g, dtype=torch.float64),
        torch.randint(0, k, (b,), generator=g),
    )


@pytest.mark.parametrize(("alpha", "beta", "temp"), [(1.0, 8.0, 4.0), (0.5, 2.0, 1.0)])
def test_dkd_equals_its_definition(alpha, beta, temp):
    zs, zt, y = logits()
    got = dkd_loss(zs, zt, y, alpha, beta, temp)
    want = ref_dkd(zs, zt, y, alpha, beta, temp)
    assert float(got) == pytest.approx(float(want), rel=1e-9)
    got.backward()
    grad = zs.grad.clone()
    zs.grad = None
    want.backward()
    torch.testing.assert_close(grad, zs.grad)


def test_kd_is_tckd_plus_the_teachers_non_target_mass_times_nckd():
    """DKD's Eq. 5: per sample, KD = TCKD + (1 - p_t[target]) · NCKD."""
    zs, zt, y = logits(1, b=1)
    p_rest = 1 - torch.softmax(zt / 4.0, 1)[0, y[0]]
    tckd = dkd_loss(zs, zt, y, 1.0, 0.0, 4.0)
    nckd = dkd_loss(zs, zt, y, 0.0, 1.0, 4.0)
    assert float(tckd + p_rest * nckd) == pytest.approx(float(kd_loss(zs, zt, 4.0)), rel=1e-9)


def test_warmup_is_linear_over_twenty_one_based_epochs():
    assert [dkd_warmup(e) for e in (1, 10, 20, 21)] == [0.05, 0.5, 1.0, 1.0]
    assert dkd_warmup(3, 0) == 1.0
    with pytest.raises(ValueError, match="must both be"):
        dkd_loss(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))
