"""skdlib.schedule: milestones from fractions, the step decay, and per-epoch seeds."""

import pytest
import torch

from skdlib.schedule import epoch_seed, milestone_epochs, step_decay


@pytest.mark.parametrize(
    ("fractions", "epochs", "expected"),
    [
        ((0.625, 0.75, 0.875), 240, [150, 180, 210]),  # CRD
        ((0.5, 0.75, 0.9), 100, [50, 75, 90]),  # the paper's embedding
        ((0.5, 0.75, 0.9), 2, [1, 2]),  # short runs: at least epoch 1, no duplicates
        ((0.01,), 10, [1]),
    ],
)
def test_milestone_epochs(fractions, epochs, expected):
    assert milestone_epochs(fractions, epochs) == expected


def test_step_decay_matches_an_explicit_schedule():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05)
    sched = step_decay(opt, (0.625, 0.75, 0.875), 16, 0.1)  # milestones 10, 12, 14
    seen = []
    for _ in range(16):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.05 * 0.1 ** sum(e >= m for m in (10, 12, 14)) for e in range(16)]
    assert seen == pytest.approx(expected, rel=1e-12)


def test_epoch_seeds_are_deterministic_distinct_and_in_range():
    seeds = {epoch_seed(s, e) for s in range(3) for e in range(1, 50)}
    assert len(seeds) == 3 * 49 and all(0 <= x < 2**63 for x in seeds)
    assert epoch_seed(7, 3) == epoch_seed(7, 3)
