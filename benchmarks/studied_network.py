"""The ResNet18 of the dissection benchmarks: random weights, or a state dict from the tutorial."""

from __future__ import annotations

import torch
import torchvision

from skdlib.checkpoint import load_artifact


def resnet18(network: str | None) -> torch.nn.Module:
    """A torchvision ResNet18 in eval mode: random weights (seed 0) when ``network`` is None,
    else the weights of a ``{"model": state_dict}`` file such as the quick profile's
    concept-trained ``runs/quick/network.pt`` (its classifier may have any number of classes)."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    if network:
        state = load_artifact(network, "network weights")["model"]
        model.fc = torch.nn.Linear(model.fc.in_features, state["fc.weight"].shape[0])
        model.load_state_dict(state)
    return model.eval()
