"""skdlib.models.torchvision_zoo: torchvision's classifiers by name, and a clear error when the
published weights cannot be downloaded."""

import pytest
import torch
import torchvision

from skdlib.models.torchvision_zoo import is_torchvision_model, load_torchvision_model


def test_random_weights_are_torchvisions_own_builder_under_the_same_seed():
    torch.manual_seed(5)
    ours = load_torchvision_model("resnet18", num_classes=7)
    torch.manual_seed(5)
    reference = torchvision.models.resnet18(num_classes=7)
    assert ours.fc.out_features == 7
    for (name, a), (_, b) in zip(
        ours.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_names_and_weights_are_checked():
    assert is_torchvision_model("resnet50") and not is_torchvision_model("wrn_16_2")
    with pytest.raises(ValueError, match="unknown torchvision model 'resnet19'"):
        load_torchvision_model("resnet19")
    with pytest.raises(ValueError, match="weights must be 'none' or 'imagenet', got 'cifar'"):
        load_torchvision_model("resnet18", "cifar")
    with pytest.raises(ValueError, match="ImageNet weights have 1000 outputs, not 10"):
        load_torchvision_model("resnet18", "imagenet", num_classes=10)


def test_missing_weights_offline_is_a_clear_error(monkeypatch, tmp_path):
    def refuse(url, *args, **kwargs):
        raise OSError(f"no network for {url}")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(RuntimeError) as info:
        load_torchvision_model("resnet18", "imagenet")
    message = str(info.value)
    assert "https://download.pytorch.org/models/resnet18" in message
    assert str(tmp_path / "hub" / "checkpoints") in message and "--weights none" in message
