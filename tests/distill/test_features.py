"""skdlib.distill.features: the hooked modules give exactly CRD's features, computed here by
explicit forward passes, for every family of the zoo."""

import pytest
import torch
import torch.nn.functional as F
from support.distill_refs import batch, resnet_features, vgg_features

from skdlib.distill import feature_spec
from skdlib.hooks import capture, input_of
from skdlib.models import create_model


def hooked(model, spec, x):
    names = [*spec.feature_stages, input_of(spec.classifier)]
    with torch.no_grad(), capture(model, names) as out:
        model(x)
    stages = [F.relu(out[n]) if spec.preactivation else out[n] for n in spec.feature_stages]
    return stages, out[input_of(spec.classifier)]


@pytest.mark.parametrize("arch", ["resnet20", "resnet8x4"])
def test_resnet_features_are_crds(arch):
    torch.manual_seed(0)
    model = create_model(arch).eval()
    spec = feature_spec(model)
    assert spec.stages == spec.feature_stages == ("layer1", "layer2", "layer3")
    assert (spec.last_stage, spec.preactivation, spec.classifier) == ("layer3", False, "fc")
    x, _ = batch(4)
    stages, pooled = hooked(model, spec, x)
    with torch.no_grad():
        ref_stages, ref_pooled, _ = resnet_features(model, x)
    for got, want in zip(stages, ref_stages, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(pooled, ref_pooled, rtol=0, atol=0)


def test_vgg_features_are_crds_post_relu_blocks_1_to_4():
    torch.manual_seed(0)
    model = create_model("vgg8").eval()
    spec = feature_spec(model)
    assert spec.stages == ("block0", "block1", "block2", "block3", "block4")
    assert spec.feature_stages == spec.stages[1:] and spec.preactivation
    assert (spec.last_stage, spec.classifier) == ("block4", "classifier")
    x, _ = batch(4)
    stages, pooled = hooked(model, spec, x)
    with torch.no_grad():
        ref_stages, ref_last = vgg_features(model, x)
    for got, want in zip(stages, ref_stages, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(pooled, model.pool4(ref_last).flatten(1), rtol=0, atol=0)


def test_wrn_features_are_the_group_sums_and_the_pooled_head():
    torch.manual_seed(0)
    model = create_model("wrn_16_2").eval()
    spec = feature_spec(model)
    assert spec.feature_stages == ("block1", "block2", "block3") and not spec.preactivation
    x, _ = batch(4)
    stages, pooled = hooked(model, spec, x)
    with torch.no_grad():  # the explicit forward of WideResNet
        f1 = model.block1(model.conv1(x))
        f2 = model.block2(f1)
        f3 = model.block3(f2)
        ref_pooled = F.avg_pool2d(model.relu(model.bn1(f3)), 8).flatten(1)
    for got, want in zip(stages, [f1, f2, f3], strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(pooled, ref_pooled, rtol=0, atol=0)


def test_a_model_without_classifier_is_refused():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    model.stage_names = ["0"]
    with pytest.raises(TypeError, match="no nn.Linear classifier"):
        feature_spec(model)


def test_the_spec_names_crds_stem_hint_head_and_preactivations():
    spec = feature_spec(create_model("resnet8x4"))
    assert (spec.stem, spec.head, spec.hint_stage, spec.input_size) == (
        "relu",
        ("fc",),
        "layer2",
        32,
    )
    assert spec.stem_and_stages == ("relu", "layer1", "layer2", "layer3")
    assert spec.preact[0] == (("layer1.0.bn2", "layer1.0.downsample"), None)
    wrn = feature_spec(create_model("wrn_16_2"))
    assert wrn.head == ("bn1", "fc") and wrn.preact[2] == (("block3",), "bn1")
    vgg = feature_spec(create_model("vgg8"))
    assert vgg.stem_and_stages == vgg.stages and vgg.hint_stage == "block2"
    tv = feature_spec(create_model("resnet18"))
    assert tv.input_size == 224 and tv.preact == () and tv.head == ("fc",)
    with pytest.raises(ValueError, match="declares no stem"):
        _ = tv.stem_and_stages
