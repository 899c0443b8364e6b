"""skdlib.models.build: one builder for both families, and stages answered for the model."""

import pytest
import torch
from torch import nn

from skdlib.models import architecture_of, classifier, create_model, stage_channels, stage_names
from skdlib.models.cifar.resnet import resnet20


def test_a_cifar_model_is_its_zoo_builder_under_the_same_seed():
    torch.manual_seed(1)
    ours = create_model("resnet20", num_classes=10)
    torch.manual_seed(1)
    reference = resnet20(10)
    assert ours.arch == "resnet20" and classifier(ours)[1].out_features == 10
    for (name, a), (_, b) in zip(
        ours.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_torchvision_models_and_their_stages():
    model = create_model("resnet18", num_classes=52)
    assert model.arch == "resnet18" and model.fc.out_features == 52
    assert stage_names(model) == ["layer1", "layer2", "layer3", "layer4"]
    assert stage_channels("resnet50") == [256, 512, 1024, 2048]
    other = create_model("mobilenet_v2")  # any torchvision classifier, without declared stages
    with pytest.raises(ValueError, match="unknown architecture 'mobilenet_v2'"):
        stage_names(other)


def test_cifar_models_have_no_published_weights():
    with pytest.raises(ValueError, match="resnet8x4 has no published weights here"):
        create_model("resnet8x4", weights="imagenet")


def test_a_model_of_your_own_declares_its_stages():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.Flatten())
    with pytest.raises(TypeError, match="declares its stages"):
        architecture_of(net)
    net.stage_names = ["0", "2"]
    entry = architecture_of(net)
    assert (entry.family, entry.stages, entry.widths) == ("custom", ("0", "2"), (4, 6))
    with pytest.raises(TypeError, match="has no nn.Linear classifier"):
        classifier(net)
