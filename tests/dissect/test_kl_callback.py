"""skdlib.dissect.kl_callback: on planted units the learned curve falls below random, the bound
below both; the curves survive a resume.
"""

from __future__ import annotations

import matplotlib
import pytest
import torch
from torch.utils.data import DataLoader

from skdlib.data import make_synthetic_broden, planted_concept_model
from skdlib.dissect import (
    BrodenDataset,
    BrodenImages,
    KLMetricCallback,
    dissect,
    kl_to_targets,
)
from skdlib.embedding import Callback, EmbeddingConfig, EmbeddingTrainer, VectorSnapshots
from skdlib.viz import plot_kl_curves

matplotlib.use("Agg")


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
    fig = plot_kl_curves(h)
    assert [line.get_label() for line in fig.axes[0].get_lines()][2].startswith("upper bound")
    assert len(plot_kl_curves(h, layer="units").axes[0].get_lines()) == 3


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


@pytest.mark.parametrize("every", [0, 3])
def test_replay_of_snapshots_equals_the_live_curves(planted_run, tmp_path, every):
    """Issue 11, item 12: the curves come from the one embedding run (notebook 04 used to train
    a second embedding only to log them)."""
    model, targets, loader = planted_run
    trainer = EmbeddingTrainer(model, ["units"], EmbeddingConfig(epochs=3, optimizer="adam"))
    live, snaps = KLMetricCallback(targets, every=every), VectorSnapshots(every=every)
    trainer.fit(loader, callbacks=[live, snaps], progress=False)
    snaps.save(tmp_path / "snaps.pt")
    replayed = KLMetricCallback.replay(targets, VectorSnapshots.load(tmp_path / "snaps.pt"))
    assert replayed.history == live.history  # exactly: same vectors, same bound steps
    assert len(live.history["step"]) == (4 if every == 0 else 1 + 12 // 3)
    assert torch.equal(snaps.vectors[-1]["units"], trainer.vectors["units"].detach())


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
