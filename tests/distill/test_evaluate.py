"""skdlib.distill.evaluate: accuracy and loss against an explicit per-sample count."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skdlib.distill import (
    evaluate,
)


def test_evaluate_matches_a_loop_count():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 7))
    x, y = torch.randn(30, 3, 2, 2), torch.randint(0, 7, (30,))
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, 30, 8)]
    logits = net(x).detach()
    top1 = top5 = 0
    for k in range(30):
        order = sorted(range(7), key=lambda c: -float(logits[k, c]))
        top1 += order[0] == int(y[k])
        top5 += int(y[k]) in order[:5]
    r = evaluate(net, batches)
    assert r["n"] == 30
    assert r["top1"] == pytest.approx(100 * top1 / 30) and r["top5"] == pytest.approx(
        100 * top5 / 30
    )
    assert r["loss"] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-6)
