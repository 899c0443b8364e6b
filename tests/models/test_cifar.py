"""skdlib.models.cifar: the CRD CIFAR-100 zoo, its parameter counts and its stages."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from skdlib.models import (
    CIFAR_ARCHS,
    PAPER_PAIRS,
    create_model,
    stage_channels,
    stage_names,
)

# Parameter counts of the reference implementation (HobbitLong/RepDistiller), 100 classes.
EXPECTED_PARAMS = {
    "resnet8x4": 1_233_540,
    "resnet32x4": 7_433_860,
    "resnet20": 278_324,
    "resnet32": 472_756,
    "resnet56": 861_620,
    "resnet110": 1_736_564,
    "wrn_16_2": 703_284,
    "wrn_40_2": 2_255_156,
    "vgg8": 3_965_028,
    "vgg13": 9_462_180,
}

EXPECTED_STAGES = {
    "resnet": (["layer1", "layer2", "layer3"], [16, 32, 64], [32, 16, 8]),
    "resnetx4": (["layer1", "layer2", "layer3"], [64, 128, 256], [32, 16, 8]),
    "wrn": (["block1", "block2", "block3"], [32, 64, 128], [32, 16, 8]),
    "vgg": (
        ["block0", "block1", "block2", "block3", "block4"],
        [64, 128, 256, 512, 512],
        [32, 16, 8, 4, 4],
    ),
}


def _family(name: str) -> str:
    if name.endswith("x4"):
        return "resnetx4"
    return next(f for f in ("resnet", "wrn", "vgg") if name.startswith(f))


_CACHE: dict[str, nn.Module] = {}


def _model(name: str) -> nn.Module:
    if name not in _CACHE:
        torch.manual_seed(0)
        _CACHE[name] = create_model(name).eval()
    return _CACHE[name]


def _stage_outputs(model: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    captured: dict[str, torch.Tensor] = {}
    handles = [
        model.get_submodule(n).register_forward_hook(
            lambda _m, _i, out, n=n: captured.__setitem__(n, out)
        )
        for n in stage_names(model)
    ]
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for h in handles:
            h.remove()
    return [captured[n] for n in stage_names(model)], logits


def test_model_names() -> None:
    assert set(CIFAR_ARCHS) == set(EXPECTED_PARAMS)
    assert len(CIFAR_ARCHS) == 10
    assert {n for pair in PAPER_PAIRS for n in pair} <= set(CIFAR_ARCHS)
    assert len(PAPER_PAIRS) == 6


@pytest.mark.parametrize("name", list(EXPECTED_PARAMS))
def test_param_count(name: str) -> None:
    n_params = sum(p.numel() for p in _model(name).parameters())
    assert n_params == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", list(EXPECTED_PARAMS))
def test_forward_shape_and_stage_metadata(name: str) -> None:
    model = _model(name)
    x = torch.randn(2, 3, 32, 32)
    feats, logits = _stage_outputs(model, x)
    assert logits.shape == (2, 100)
    assert torch.isfinite(logits).all()
    names, widths, sizes = EXPECTED_STAGES[_family(name)]
    assert stage_names(name) == names == stage_names(model) and model.arch == name
    assert stage_channels(name) == widths == stage_channels(model)
    assert [tuple(f.shape) for f in feats] == [
        (2, c, s, s) for c, s in zip(widths, sizes, strict=True)
    ]
    named = dict(model.named_modules())
    assert all(n in named for n in names)


def test_num_classes_and_train_mode() -> None:
    model = create_model("resnet20", num_classes=10).train()
    out = model(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10)
    out.sum().backward()
    assert model.conv1.weight.grad is not None


@pytest.mark.parametrize(("teacher", "student"), PAPER_PAIRS)
def test_paper_pairs_have_matching_stages(teacher: str, student: str) -> None:
    x = torch.randn(2, 3, 32, 32)
    t_feats, t_logits = _stage_outputs(_model(teacher), x)
    s_feats, s_logits = _stage_outputs(_model(student), x)
    assert t_logits.shape == s_logits.shape == (2, 100)
    assert len(t_feats) == len(s_feats) > 0
    for t, s in zip(t_feats, s_feats, strict=True):
        assert t.shape == s.shape
    _, widths, sizes = EXPECTED_STAGES[_family(student)]
    assert [f.shape[1] for f in s_feats] == widths
    assert [f.shape[-1] for f in s_feats] == sizes


def test_hooks_see_documented_activation() -> None:
    x = torch.randn(2, 3, 32, 32)
    # resnet: post-ReLU stage outputs.
    feats, _ = _stage_outputs(_model("resnet20"), x)
    assert all((f >= 0).all() for f in feats)
    # vgg: pre-ReLU BN outputs (negative values present); wrn: pre-activation sums.
    for name in ("vgg8", "wrn_16_2"):
        feats, _ = _stage_outputs(_model(name), x)
        assert all((f < 0).any() for f in feats)


def test_state_dict_keys_follow_reference_layout() -> None:
    keys = set(create_model("resnet8x4").state_dict())
    assert {"conv1.weight", "layer1.0.downsample.0.weight", "fc.bias"} <= keys
    keys = set(create_model("wrn_16_2").state_dict())
    assert {"block1.layer.0.convShortcut.weight", "block3.layer.1.bn2.running_mean"} <= keys
    assert "block1.layer.1.convShortcut.weight" not in keys
    keys = set(create_model("vgg13").state_dict())
    assert {"block0.0.bias", "block0.4.weight", "classifier.weight"} <= keys


def test_unknown_name_suggests_close_match() -> None:
    with pytest.raises(ValueError, match="resnet32x4"):
        create_model("resnet32x5")
    with pytest.raises(ValueError, match="wrn_40_2"):
        stage_names("wrn-40-2")
    with pytest.raises(ValueError, match="Valid names"):
        create_model("mobilenet")
