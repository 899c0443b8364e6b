"""skdlib.distill.relation_baselines: FSP's matrices and loss, and CC in RepDistiller's form, each
equal a float64 loop reference written from the definition."""

import pytest
import torch

from skdlib.distill.relation_baselines import cc_loss, fsp_loss, fsp_matrices


def tensors(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]


def test_fsp_matrix_is_the_spatial_mean_of_products_after_pooling_the_larger_map():
    bottom, top = tensors((2, 3, 4, 4), (2, 2, 2, 2))
    (g,) = fsp_matrices([bottom, top])
    pooled = torch.nn.functional.avg_pool2d(bottom, 2)  # 4x4 -> 2x2 (adaptive = exact here)
    for b in range(2):
        for j in range(2):
            for i in range(3):
                want = sum(top[b, j, h, w] * pooled[b, i, h, w] for h in range(2)
                           for w in range(2)) / 4  # fmt: skip
                assert float(g[b, j, i]) == pytest.approx(float(want), rel=1e-12)


def test_fsp_loss_sums_the_mean_squared_differences_of_consecutive_pairs():
    s = tensors((2, 3, 4, 4), (2, 2, 4, 4), (2, 5, 2, 2), seed=1)
    t = tensors((2, 3, 8, 8), (2, 2, 4, 4), (2, 5, 4, 4), seed=2)  # other sizes, same channels
    gs, gt = fsp_matrices(s), fsp_matrices(t)
    want = sum(((a - b) ** 2).sum() / a.numel() for a, b in zip(gs, gt, strict=True))
    got = fsp_loss(s, t)
    assert float(got) == pytest.approx(float(want), rel=1e-12)
    got.backward()
    assert all(x.grad is None for x in t)
    with pytest.raises(ValueError, match="FSP needs equal channels map by map"):
        fsp_loss(s, [t[0], t[1], t[2][:, :4]])
    with pytest.raises(ValueError, match="FSP needs the same number, at least 2"):
        fsp_loss(s[:1], t[:1])


def test_cc_correlates_consecutive_samples_of_the_embedding_difference():
    es, et = tensors((5, 4), (5, 4))
    d = (es - et).abs()
    want = sum(sum(d[i, k] * d[i + 1, k] for k in range(4)) for i in range(4)) / 4
    got = cc_loss(es, et)
    assert float(got) == pytest.approx(float(want), rel=1e-12)
    got.backward()
    assert es.grad is not None and et.grad is not None  # the teacher's embedding trains too
    with pytest.raises(ValueError, match="must be equal"):
        cc_loss(es, et[:, :3])
