"""skdlib.distill.method_modules: each method's trainable modules are built from the feature
shapes by RepDistiller's rules (which convolution, which widths, which initial values, in which
RNG order), and their forward passes are the published layer sequences."""

import math

import pytest
import torch
from support.repdistiller_refs import conv_reg, convs, embed
from torch import nn

from skdlib.distill.method_modules import (
    ConvReg,
    Embed,
    Paraphraser,
    Translator,
    VIDRegressor,
    ab,
    cc,
    crd,
    fitnet,
    ft,
    vid,
)


@pytest.mark.parametrize(
    ("s", "t", "kind", "kernel", "stride"),
    [
        ((2, 16, 32, 32), (2, 64, 16, 16), nn.Conv2d, (3, 3), (2, 2)),  # H_s = 2 H_t
        ((2, 16, 8, 8), (2, 64, 16, 16), nn.ConvTranspose2d, (4, 4), (2, 2)),  # 2 H_s = H_t
        ((2, 16, 8, 8), (2, 64, 8, 8), nn.Conv2d, (1, 1), (1, 1)),  # equal
        ((2, 16, 8, 8), (2, 64, 6, 6), nn.Conv2d, (3, 3), (1, 1)),  # 1 + H_s - H_t
    ],
)
def test_convreg_follows_the_published_size_rule(s, t, kind, kernel, stride):
    reg = ConvReg(s, t)
    assert type(reg.conv) is kind and reg.conv.kernel_size == kernel
    assert reg.conv.stride == stride and reg.conv.bias is not None
    x = torch.randn(*s)
    torch.testing.assert_close(reg(x), conv_reg(x, reg), rtol=1e-5, atol=1e-5)
    assert tuple(reg(x).shape) == t and (reg(x) >= 0).all()
    assert (ConvReg(s, t, use_relu=False)(x) < 0).any()


def test_convreg_refuses_a_student_map_smaller_than_half():
    with pytest.raises(
        ValueError, match="cannot map a student map of 4x4 to a teacher map of 16x16"
    ):
        ConvReg((2, 3, 4, 4), (2, 3, 16, 16))


def test_vid_regressor_is_three_bias_free_1x1_convs_and_starts_at_variance_5():
    r = VIDRegressor(4, 6, 6)
    convs_ = [m for m in r.regressor if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.bias) for c in convs_] == [(4, 6, None), (6, 6, None),
                                                                          (6, 6, None)]  # fmt: skip
    assert float(r.log_scale[0]) == pytest.approx(math.log(math.exp(5.0 - 1e-5) - 1), rel=1e-6)
    assert r.variance().tolist() == pytest.approx([5.0] * 6, rel=1e-6)
    x = torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(r(x), convs(x, r.regressor), rtol=1e-5, atol=1e-6)


def test_paraphraser_and_translator_layers_and_widths():
    p, t = Paraphraser(7), Translator(5, 7)  # int(7 * 0.5) = 3 factor channels
    x = torch.randn(2, 7, 4, 4)
    assert tuple(p.encoder(x).shape) == (2, 3, 4, 4) and tuple(p(x).shape) == (2, 7, 4, 4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in p.modules())  # use_bn=False
    assert sum(isinstance(m, nn.BatchNorm2d) for m in t.modules()) == 3
    torch.testing.assert_close(p.encoder(x), convs(x, p.encoder, leaky=0.1), rtol=1e-5, atol=1e-6)
    dec = convs(convs(x, p.encoder, leaky=0.1), p.decoder, leaky=0.1)
    torch.testing.assert_close(p(x), dec, rtol=1e-5, atol=1e-6)
    y = torch.randn(3, 5, 4, 4)
    torch.testing.assert_close(t(y), convs(y, t.encoder, leaky=0.1), rtol=1e-4, atol=1e-5)


def test_embeddings_are_linear_and_crds_are_l2_normalised_without_eps():
    e, lin = Embed(6, 4), Embed(6, 4, normalise=False)
    x = torch.randn(3, 6)
    torch.testing.assert_close(e(x), embed(x, e), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(lin(x), embed(x, lin, normalise=False), rtol=1e-6, atol=1e-6)
    assert e(x).norm(dim=1).tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_builders_take_the_shapes_of_the_tapped_features():
    s = [torch.Size((2, 16, 32, 32)), torch.Size((2, 32, 16, 16))]
    t = [torch.Size((2, 16, 32, 32)), torch.Size((2, 64, 16, 16))]
    conn = ab(s, t, {"margin": 1.0})["connector"]
    assert isinstance(conn[0], nn.Identity) and isinstance(conn[1], ConvReg)
    assert not conn[1].use_relu
    heads = vid(s, t, {"init_pred_var": 5.0, "eps": 1e-5})["regressors"]
    assert [(h.regressor[0].in_channels, h.regressor[4].out_channels) for h in heads] == [
        (16, 16), (32, 64)
    ]  # fmt: skip
    reg = fitnet(s[1:], t[1:], {})["regressor"]
    assert (reg.conv.in_channels, reg.conv.out_channels) == (32, 64)
    both = ft(s[1:], t[1:], {})
    assert list(both) == ["paraphraser", "translator"]  # RepDistiller builds the paraphraser first
    pooled_s, pooled_t = [torch.Size((2, 64))], [torch.Size((2, 256))]
    m = cc(pooled_s, pooled_t, {"feat_dim": 128})
    assert (m["embed_s"].linear.in_features, m["embed_t"].linear.in_features) == (64, 256)
    assert not m["embed_s"].normalise
    with pytest.raises(ValueError, match="compares one tensor per model, got 2"):
        fitnet(s, t, {})


def test_crd_builds_embeds_then_memories_in_repdistillers_rng_order():
    settings = {"feat_dim": 8, "nce_k": 4, "nce_t": 0.07, "nce_m": 0.5}
    labels = torch.arange(10) % 2
    torch.manual_seed(3)
    m = crd([torch.Size((2, 6))], [torch.Size((2, 5))], settings, labels)
    torch.manual_seed(3)
    es, et = nn.Linear(6, 8), nn.Linear(5, 8)
    stdv = 1 / math.sqrt(8 / 3)
    mem_s, mem_t = torch.rand(10, 8) * 2 * stdv - stdv, torch.rand(10, 8) * 2 * stdv - stdv
    assert torch.equal(m["embed_s"].linear.weight, es.weight)
    assert torch.equal(m["embed_t"].linear.weight, et.weight)
    torch.testing.assert_close(m["memory"].memory_s, mem_s)
    torch.testing.assert_close(m["memory"].memory_t, mem_t)
    assert m["memory"].k == 4 and m["embed_s"].normalise
    with pytest.raises(ValueError, match="needs the training set's labels by sample index"):
        crd([torch.Size((2, 6))], [torch.Size((2, 5))], settings, None)
