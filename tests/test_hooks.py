"""skdlib.hooks: capture named module outputs, always clean up, explain bad names."""

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from skdlib.hooks import capture, input_of, layer_channels, module_names, resolve_modules


def hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Sequential(nn.Conv2d(4, 6, 3, stride=2), nn.ReLU()),
    )


def test_capture_returns_the_outputs_computed_by_hand():
    net = small_net()
    x = torch.randn(2, 3, 8, 8)
    with capture(net, ["1", "2.0"]) as acts:
        out = net(x)
    first = torch.relu(net[0](x))
    torch.testing.assert_close(acts["1"], first)
    torch.testing.assert_close(acts["2.0"], net[2][0](first))
    torch.testing.assert_close(torch.relu(acts["2.0"]), out)
    assert list(acts) == ["1", "2.0"]


def test_capture_keeps_graph_unless_detached():
    net = small_net()
    x = torch.randn(1, 3, 8, 8)
    with capture(net, ["1"]) as acts:
        net(x)
    assert acts["1"].requires_grad
    with capture(net, ["1"], detach=True) as acts:
        net(x)
    assert not acts["1"].requires_grad


def test_hooks_removed_on_exit_and_on_exception():
    net = small_net()
    with capture(net, ["0", "2.1"]):
        assert hook_count(net) == 2
    assert hook_count(net) == 0
    with pytest.raises(RuntimeError, match="boom"), capture(net, ["0", "2.1"]):
        assert hook_count(net) == 2
        raise RuntimeError("boom")
    assert hook_count(net) == 0


def test_wrong_name_lists_close_matches_and_registers_nothing():
    model = resnet18(weights=None)
    with pytest.raises(KeyError) as info, capture(model, ["layer1", "layer5"]):
        pass
    message = str(info.value)
    assert "layer5" in message and "layer1" in message and "layer4" in message
    assert "ResNet" in message
    assert hook_count(model) == 0


def test_torchvision_resnet18_stage_shapes():
    model = resnet18(weights=None).eval()
    with torch.no_grad(), capture(model, ["layer1", "layer2", "layer3", "layer4"]) as acts:
        model(torch.randn(2, 3, 64, 64))
    shapes = {k: tuple(v.shape) for k, v in acts.items()}
    assert shapes == {
        "layer1": (2, 64, 16, 16),
        "layer2": (2, 128, 8, 8),
        "layer3": (2, 256, 4, 4),
        "layer4": (2, 512, 2, 2),
    }
    assert layer_channels(model, ["layer2", "layer4.1.conv2"], (3, 32, 32)) == {
        "layer2": 128,
        "layer4.1.conv2": 512,
    }


def test_non_tensor_output_is_a_clear_error():
    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pair = Pair()

        def forward(self, x):
            return self.pair(x)[0]

    net = Net()
    with pytest.raises(TypeError, match="'pair' returned tuple"), capture(net, ["pair"]):
        net(torch.zeros(1))
    assert hook_count(net) == 0


def test_module_names_and_resolve():
    net = small_net()
    assert module_names(net) == ["0", "1", "2", "2.0", "2.1"]
    assert resolve_modules(net, "2.0") == {"2.0": net[2][0]}


def test_input_of_records_what_a_module_receives():
    model = resnet18(weights=None).eval()
    with torch.no_grad(), capture(model, ["avgpool", input_of("fc")]) as acts:
        model(torch.randn(2, 3, 64, 64))
    assert list(acts) == ["avgpool", "fc:input"]
    # the classifier receives the pooled feature, flattened: an independent reference
    torch.testing.assert_close(acts["fc:input"], acts["avgpool"].flatten(1), rtol=0, atol=0)
    assert hook_count(model) == 0
    with pytest.raises(KeyError, match="no module named 'fx'"), capture(model, ["fx:input"]):
        pass


def test_check_finite_passes_finite_and_names_layer_images_kinds_and_units():
    from skdlib.hooks import NonFiniteActivationError, check_finite

    a = torch.randn(4, 5, 3, 3)
    b = torch.randn(4, 6)
    check_finite({"a": a, "b": b}, ["a", "b"], "batch 1")  # finite: no error
    a[1, 3, 0, 2] = float("nan")
    a[3, 0, 1, 1] = -float("inf")
    b[2, 4] = float("inf")  # a later layer: not reported, the first one is
    with pytest.raises(NonFiniteActivationError) as info:
        check_finite({"a": a, "b": b}, ["a", "b"], "batch 7",
                     images=lambda pos: [f"img{p}.jpg" for p in pos], advice="do this")  # fmt: skip
    assert str(info.value) == (
        "layer 'a': non-finite activations (NaN or inf) on 2 image(s) of batch 7, at batch "
        "positions [1, 3]: img1.jpg, img3.jpg; NaN and -inf in unit(s) [0, 3]; do this"
    )
    assert isinstance(info.value, FloatingPointError) and isinstance(info.value, ValueError)
    with pytest.raises(NonFiniteActivationError, match=r"'b'.*\[2\]; \+inf in unit\(s\) \[4\]"):
        check_finite({"a": a, "b": b}, ["b"], "batch 7")


def test_check_finite_lists_at_most_five_images_and_ten_positions():
    from skdlib.hooks import NonFiniteActivationError, check_finite

    a = torch.zeros(12, 2)
    a[:, 1] = float("nan")
    asked = []
    with pytest.raises(NonFiniteActivationError) as info:
        check_finite({"x": a}, ["x"], "b", images=lambda pos: asked.extend(pos) or ["f"] * len(pos))
    assert asked == [0, 1, 2, 3, 4]
    assert "on 12 image(s)" in str(info.value) and "... (12 in all): f, f, f, f, f ..." in str(
        info.value
    )
