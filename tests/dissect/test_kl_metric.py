"""skdlib.dissect.kl_metric: the KL against a float64 loop reference, its baselines and summary."""

from __future__ import annotations

import math

import pytest
import torch

from skdlib.dissect import (
    kl_by_layer,
    kl_to_targets,
    random_baseline,
    random_vectors,
    upper_bound,
)


def kl_loop(vectors, iou, tau=1.0, exclude_diagonal=False) -> float:
    """KL(h(D_T) || h(D_S)) with explicit loops and the math module."""

    def cos_matrix(x):
        rows = x.double().tolist()
        norms = [math.sqrt(sum(v * v for v in r)) for r in rows]
        return [
            [
                sum(a * b for a, b in zip(r, s, strict=True)) / (n * m) if n > 0 and m > 0 else 0.0
                for s, m in zip(rows, norms, strict=True)
            ]
            for r, n in zip(rows, norms, strict=True)
        ]

    def h(d, i):
        js = [j for j in range(len(d)) if not (exclude_diagonal and j == i)]
        z = sum(math.exp(d[i][j] / tau) for j in js)
        return {j: math.exp(d[i][j] / tau) / z for j in js}

    dt, ds = cos_matrix(iou), cos_matrix(vectors)
    total = 0.0
    for i in range(len(dt)):
        p, q = h(dt, i), h(ds, i)
        total += sum(p[j] * math.log(p[j] / q[j]) for j in p)
    return total / len(dt)


@pytest.mark.parametrize(("tau", "exclude"), [(1.0, False), (0.3, True)])
def test_kl_matches_the_loop_reference(tau, exclude):
    g = torch.Generator().manual_seed(0)
    iou = torch.rand(7, 11, generator=g) * (torch.rand(7, 11, generator=g) > 0.5)
    iou[3] = 0  # a neuron with no concept: uniform target row
    vectors = torch.randn(7, 4, generator=g)
    got = float(kl_to_targets(vectors, iou, tau, exclude))
    assert got == pytest.approx(kl_loop(vectors, iou, tau, exclude), rel=1e-10, abs=1e-14)
    assert got > 0


def test_kl_is_zero_for_the_same_structure_and_differentiable():
    iou = torch.rand(6, 9)
    assert float(kl_to_targets(iou, iou)) == pytest.approx(0.0, abs=1e-14)
    assert float(kl_to_targets(3.0 * iou, iou)) == pytest.approx(0.0, abs=1e-14)  # scale-free
    v = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: kl_to_targets(s, iou), (v,))
    with pytest.raises(ValueError, match=r"same C neurons, got \(5, 3\) and \(6, 9\)"):
        kl_to_targets(torch.randn(5, 3), iou)
    both = kl_by_layer({"a": iou, "b": torch.randn(6, 2)}, {"a": iou, "b": iou})
    assert both["a"] == pytest.approx(0.0, abs=1e-14)
    assert both["mean"] == pytest.approx(both["b"] / 2)
    with pytest.raises(KeyError, match=r"no vectors for layer\(s\) \['c'\]"):
        kl_by_layer({"a": iou}, {"c": iou})


def test_random_baseline_and_upper_bound():
    g = torch.Generator().manual_seed(1)
    iou = torch.rand(12, 8, generator=g)
    draws = [float(kl_to_targets(random_vectors(12, 16, s), iou)) for s in (5, 6, 7)]
    assert random_baseline(iou, dim=16, draws=3, seed=5) == pytest.approx(sum(draws) / 3)
    assert torch.allclose(random_vectors(12, 16, 5).norm(dim=1), torch.ones(12))
    # K = 16 >= 8 = N: the target structure is reachable, so the bound goes to ~0
    vectors, curve = upper_bound(iou, dim=16, steps=150, lr=0.05, progress=False)
    assert len(curve) == 151 and curve[-1] < 0.02 * curve[0]
    assert float(kl_to_targets(vectors, iou)) == pytest.approx(curve[-1])
    assert curve[-1] < min(draws)


def test_kl_summary_collects_the_three_numbers_per_layer_and_their_mean():
    from skdlib.dissect import kl_summary, random_baseline, upper_bound

    g = torch.Generator().manual_seed(3)
    targets = {"a": torch.rand(6, 9, generator=g), "b": torch.rand(5, 9, generator=g)}
    vectors = {"a": torch.randn(6, 4, generator=g), "b": torch.randn(5, 4, generator=g)}
    out = kl_summary(vectors, targets, upper_steps=30, draws=2)
    for layer, t in targets.items():
        assert out["learned"][layer] == pytest.approx(float(kl_to_targets(vectors[layer], t)))
        assert out["random"][layer] == pytest.approx(random_baseline(t, 4, draws=2))
        assert out["upper"][layer] == pytest.approx(
            upper_bound(t, 4, steps=30, progress=False)[1][-1]
        )
    for kind in ("learned", "random", "upper"):
        assert out[kind]["mean"] == pytest.approx((out[kind]["a"] + out[kind]["b"]) / 2)
