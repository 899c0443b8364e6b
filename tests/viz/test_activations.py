"""skdlib.viz.activations: activations equal a direct forward pass; top images and units by peak
activation.
"""

import torch
from torch import nn

from skdlib.viz import (
    collect_activations,
    most_active_units,
    shared_top_images,
    top_images,
)


def test_collect_activations_matches_direct_forward_and_restores_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).train()
    x = torch.randn(5, 3, 6, 6)
    loader = [(x[:2], 0), (x[2:], 0)]
    acts = collect_activations(net, ["2"], loader, device="cpu")
    assert net.training  # mode restored
    with torch.no_grad():
        expected = net.eval()(x)
    torch.testing.assert_close(acts["2"], expected)
    again = collect_activations(net, ["2"], x, batch_size=3, device="cpu")
    torch.testing.assert_close(again["2"], expected)


def test_top_images_orders_by_peak_activation():
    maps = torch.zeros(4, 2, 3, 3)
    maps[1, 0, 2, 2], maps[3, 0, 0, 1], maps[0, 0, 1, 1] = 5.0, 9.0, 1.0
    assert top_images(maps, 0, 3) == [3, 1, 0]


def test_most_active_units():
    maps = torch.zeros(2, 4, 1, 1)
    maps[1, 3], maps[0, 1] = 3.0, 2.0
    assert most_active_units(maps, 2) == [3, 1]


def test_shared_top_images_matches_an_explicit_loop():
    g = torch.Generator().manual_seed(0)
    maps = torch.rand(12, 5, 3, 3, generator=g) * torch.tensor([1.0, 10.0, 0.1, 3.0, 5.0]).view(
        1, 5, 1, 1
    )
    units = [1, 2, 4]
    scores = []
    for i in range(12):
        per_unit = []
        for u in units:
            best = max(float(maps[j, u].max()) for j in range(12))
            per_unit.append(float(maps[i, u].max()) / best)
        scores.append((-min(per_unit), i))
    expected = [i for _, i in sorted(scores)[:4]]
    assert shared_top_images(maps, units, 4) == expected
    assert shared_top_images(maps, [3], 2) == top_images(maps, 3, 2)
