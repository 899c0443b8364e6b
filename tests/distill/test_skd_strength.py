"""skdlib.distill.skd_strength: the loss, its floor and the gradient ratio against explicit float64
loops; the floor is reached exactly when the student's similarity equals the target."""

import math

import pytest
import torch
from torch import nn

from skdlib.distill.skd_strength import format_strength, skd_strength, target_entropy


def tiny_student(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),  # "1": stage one, 4 channels
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),  # "3": stage two, 6 channels
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5),
    )  # fmt: skip


def loop_loss(acts: dict, vectors: dict, tau: float) -> torch.Tensor:
    """mean over stages and samples of -(1/C) Σ_i Σ_j p_ij log q_ij, every sum an explicit loop."""
    per_stage = []
    for name, v in vectors.items():
        a = acts[name].double().flatten(2)
        c = a.shape[1]
        p = [[0.0] * c for _ in range(c)]
        for i in range(c):
            row = [float(v[i] @ v[j] / (v[i].norm() * v[j].norm())) / tau for j in range(c)]
            z = sum(math.exp(x) for x in row)
            p[i] = [math.exp(x) / z for x in row]
        samples = []
        for b in range(a.shape[0]):
            total = 0.0
            for i in range(c):
                sims = [
                    a[b, i] @ a[b, j] / (a[b, i].norm() * a[b, j].norm()).clamp_min(1e-12)
                    for j in range(c)
                ]
                log_z = torch.logsumexp(torch.stack(sims) / tau, 0)
                for j in range(c):
                    total = total - p[i][j] * (sims[j] / tau - log_z)
            samples.append(total / c)
        per_stage.append(torch.stack(samples).mean())
    return torch.stack(per_stage).mean()


def loop_entropy(v: torch.Tensor, tau: float) -> float:
    c = len(v)
    total = 0.0
    for i in range(c):
        row = [float(v[i] @ v[j] / (v[i].norm() * v[j].norm())) / tau for j in range(c)]
        z = sum(math.exp(x) for x in row)
        total -= sum(math.exp(x) / z * math.log(math.exp(x) / z) for x in row)
    return total / c


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_loss_floor_and_gradient_ratio_match_the_loop_reference(tau):
    g = torch.Generator().manual_seed(1)
    vectors = {
        "1": torch.randn(4, 3, generator=g).double(),
        "3": torch.randn(6, 5, generator=g).double(),
    }
    images, labels = torch.randn(3, 3, 5, 5, generator=g), torch.randint(0, 5, (3,), generator=g)
    student = tiny_student()
    (row,) = skd_strength(student, vectors, [(images, labels)], taus=(tau,), beta=0.5)

    ref = tiny_student().double().train()
    acts = {}
    hooks = [
        ref[int(n)].register_forward_hook(lambda m, i, o, n=n: acts.__setitem__(n, o))
        for n in vectors
    ]
    logits = ref(images.double())
    for h in hooks:
        h.remove()
    params = list(ref.parameters())
    task = nn.functional.cross_entropy(logits, labels)
    g_task = torch.autograd.grad(task, params, retain_graph=True)
    loss = loop_loss(acts, vectors, tau)
    g_skd = torch.autograd.grad(loss, params, allow_unused=True)
    norm = lambda gs: math.sqrt(sum(float((x**2).sum()) for x in gs if x is not None))  # noqa: E731
    floor = (loop_entropy(vectors["1"], tau) + loop_entropy(vectors["3"], tau)) / 2

    loss = float(loss.detach())
    assert row["loss"] == pytest.approx(loss, rel=1e-5)
    assert row["floor"] == pytest.approx(floor, rel=1e-9)
    assert row["gap"] == pytest.approx(loss - floor, abs=1e-5)
    assert row["grad_ratio"] == pytest.approx(norm(g_skd) / norm(g_task), rel=1e-4)
    assert row["weighted_ratio"] == pytest.approx(0.5 * row["grad_ratio"])
    assert row["loss"] >= row["floor"]


def test_student_is_left_as_it_was():
    student = tiny_student().eval()
    before = {k: v.clone() for k, v in student.state_dict().items()}
    batch = (torch.randn(4, 3, 5, 5), torch.randint(0, 5, (4,)))
    skd_strength(student, {"1": torch.randn(4, 2)}, [batch, batch])
    after = student.state_dict()
    assert not student.training
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN-free here; nothing moved
    assert all(p.grad is None for p in student.parameters())


def test_the_floor_is_reached_when_the_student_matches_the_target():
    student = tiny_student().train()
    images = torch.randn(1, 3, 5, 5)
    with torch.no_grad():
        stage = student[:2](images)[0].flatten(1)  # (4, 25): the student's own maps as vectors
    (row,) = skd_strength(student, {"1": stage}, [(images, torch.tensor([0]))], taus=(0.25,))
    assert row["gap"] == pytest.approx(0.0, abs=1e-5)
    assert row["floor"] == pytest.approx(loop_entropy(stage.double(), 0.25), rel=1e-9)


def test_entropy_limits_and_errors():
    assert float(target_entropy(torch.randn(7, 3), tau=1e9)) == pytest.approx(math.log(7))
    orthogonal = torch.eye(5)
    assert float(target_entropy(orthogonal, tau=1e-3)) == pytest.approx(0.0, abs=1e-9)
    assert float(target_entropy(orthogonal, tau=1e9, exclude_diagonal=True)) == pytest.approx(
        math.log(4)
    )
    with pytest.raises(ValueError, match="tau must be > 0"):
        target_entropy(orthogonal, tau=0)
    batch = (torch.randn(2, 3, 5, 5), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"'1'.*4.*3|'1'.*3.*4"):
        skd_strength(tiny_student(), {"1": torch.randn(3, 2)}, [batch])
    with pytest.raises(ValueError, match="batches is empty"):
        skd_strength(tiny_student(), {"1": torch.randn(4, 2)}, [])


def test_format_states_each_tau_plainly():
    rows = [
        {
            "tau": 0.1,
            "loss": 1.5,
            "floor": 1.0,
            "gap": 0.5,
            "grad_ratio": 2.0,
            "weighted_ratio": 1.0,
        },
        {
            "tau": 1.0,
            "loss": 1.79,
            "floor": 1.7899,
            "gap": 1e-4,
            "grad_ratio": 0.02,
            "weighted_ratio": 0.01,
        },
    ]
    text = format_strength(rows)
    assert "| 0.1 | 1.5000 | 1.0000 | 5.00e-01 | 2 | 1 |" in text
    assert (
        text.splitlines()[-2]
        == "- tau = 0.1: the loss lies 50 % above its floor; beta · ‖∇SKD‖ is 1× ‖∇task‖."
    )
    assert text.splitlines()[-1].startswith("- tau = 1: the loss lies 0.0056 % above its floor")
