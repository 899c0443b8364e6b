"""skdlib.kl_metric: the KL against a float64 loop, baselines, and the Figure-4 callback."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch
from torch.utils.data import DataLoader

from skdlib.broden import BrodenDataset, BrodenImages
from skdlib.data import make_synthetic_broden, planted_concept_model
from skdlib.dissect import dissect
from skdlib.embedding import Callback, EmbeddingConfig, EmbeddingTrainer
from skdlib.kl_metric import (
    KLMetricCallback,
    kl_over_layers,
    kl_to_targets,
    plot_kl_curves,
    random_baseline,
    random_vectors,
    upper_bound,
)

matplotlib.use("Agg")


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
    both = kl_over_layers({"a": iou, "b": torch.randn(6, 2)}, {"a": iou, "b": iou})
    assert both["a"] == pytest.approx(0.0, abs=1e-14)
    assert both["mean"] == pytest.approx(both["b"] / 2)
    with pytest.raises(KeyError, match=r"no vectors for layer\(s\) \['c'\]"):
        kl_over_layers({"a": iou}, {"c": iou})


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


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    """Concept-selective units (three noisy copies of each of 16 concepts, with a little of a
    second concept), their IoU targets, and an embedding trained with the KL callback."""
    root = make_synthetic_broden(
        tmp_path_factory.mktemp("kl") / "b", 32, size=64, seed=2, progress=False
    )
    g = torch.Generator().manual_seed(0)
    concepts = torch.randperm(52, generator=g)[:16]
    mix = torch.zeros(48, 52)
    for u in range(48):
        mix[u, concepts[u // 3]] = 0.5 + float(torch.rand(1, generator=g))
        mix[u, concepts[(u // 3 + 1) % 16]] = 0.3 * float(torch.rand(1, generator=g))
    model = planted_concept_model(root, mix=mix)
    targets = dissect(model, ["units"], root, quantile=0.5, progress=False)
    loader = DataLoader(BrodenImages(BrodenDataset(root)), batch_size=8, shuffle=True)
    return model, targets, loader


class Interrupt(Callback):
    """Stops training at the end of an epoch, before its checkpoint is written."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _fit(model, loader, targets, epochs, checkpoint=None, stop_at=None):
    trainer = EmbeddingTrainer(
        model, ["units"], EmbeddingConfig(epochs=epochs, optimizer="adam", lr=0.01)
    )
    callback = KLMetricCallback(targets, every=2)
    extra = [Interrupt(stop_at)] if stop_at else []
    trainer.fit(loader, checkpoint=checkpoint, callbacks=[callback, *extra], progress=False)
    return trainer, callback


def test_learned_vectors_beat_random_and_the_bound_beats_both(planted_run):
    model, targets, loader = planted_run
    trainer, callback = _fit(model, loader, targets, epochs=12)
    h = callback.history
    assert h["step"] == list(range(0, 49, 2))  # step 0 and every 2 of 48 steps
    assert len(h["learned"]) == len(h["random"]) == len(h["upper"]) == 25
    # all three start from the same random vectors' level; learned falls clearly below random
    assert h["learned"][0] == pytest.approx(h["upper"][0])
    assert h["learned"][-1] < 0.6 * h["random"][-1]
    assert h["upper"][-1] < h["learned"][-1] and h["upper"][-1] < h["random"][-1]
    assert h["learned"][-1] == pytest.approx(
        float(kl_to_targets(trainer.vectors["units"].detach(), targets.iou["units"]))
    )
    ax = callback.plot()
    assert [line.get_label() for line in ax.get_lines()][2].startswith("upper bound")
    assert len(plot_kl_curves(h, layer="units").get_lines()) == 3


def test_callback_resumes_its_curves_from_the_checkpoint(planted_run, tmp_path):
    model, targets, loader = planted_run
    _, whole = _fit(model, loader, targets, epochs=4)
    ckpt = tmp_path / "emb.ckpt"
    with pytest.raises(KeyboardInterrupt):
        _fit(model, loader, targets, epochs=4, checkpoint=ckpt, stop_at=3)  # epoch 2 is saved
    _, resumed = _fit(model, loader, targets, epochs=4, checkpoint=ckpt)
    assert resumed.history["step"] == whole.history["step"]
    for key in ("learned", "random", "upper"):
        assert resumed.history[key] == pytest.approx(whole.history[key], rel=1e-6, abs=1e-9)


def test_callback_checks_layers_and_widths(planted_run):
    model, targets, loader = planted_run
    trainer = EmbeddingTrainer(model, ["units"], EmbeddingConfig(epochs=1, optimizer="adam"))
    with pytest.raises(KeyError, match="layer 'layer4', which the trainer does not embed"):
        trainer.fit(loader, callbacks=[KLMetricCallback({"layer4": torch.rand(48, 5)})],
                    progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="embeds 48 channels but the IoU targets have 7 rows"):
        trainer.fit(loader, callbacks=[KLMetricCallback({"units": torch.rand(7, 5)})],
                    progress=False)  # fmt: skip
    with pytest.raises(TypeError, match="targets must be"):
        KLMetricCallback([1, 2])


def test_kl_summary_collects_the_three_numbers_per_layer_and_their_mean():
    from skdlib.kl_metric import kl_summary, random_baseline, upper_bound

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
