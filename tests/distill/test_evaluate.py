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


def test_check_finite_epoch_looks_at_losses_weights_and_batch_norm_statistics():
    import math

    from skdlib.distill.evaluate import check_finite_epoch

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    ok = {"train_loss": 1.0, "test_loss": 2.0, "lr": 0.1}
    assert check_finite_epoch(model, ok, 1, "run") is None
    for row in ({**ok, "train_loss": math.inf}, {**ok, "test_loss": math.nan}):
        with pytest.raises(FloatingPointError, match=r"run: training diverged in epoch 2"):
            check_finite_epoch(model, row, 2, "run")
    model[1].running_var[0] = math.inf  # finite weights, a diverged batch-norm statistic
    with pytest.raises(FloatingPointError, match=r"finite weights: False.*now 0.1\)"):
        check_finite_epoch(model, ok, 3, "run")
