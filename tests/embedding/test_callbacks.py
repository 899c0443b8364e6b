"""skdlib.embedding.callbacks: both fits call every hook, in order, with what the docs promise."""

import pytest
import torch
from torch import nn

from skdlib.checkpoint import load_artifact
from skdlib.embedding import Callback, EmbeddingConfig, EmbeddingTrainer, VectorSnapshots


class Log(Callback):
    def __init__(self):
        self.calls: list[tuple] = []

    def on_train_start(self, trainer):
        self.calls.append(("start", trainer.epoch))

    def on_step_end(self, trainer, step, loss):
        assert loss.dim() == 0 and not loss.requires_grad
        self.calls.append(("step", trainer.epoch + 1, step))

    def on_epoch_end(self, trainer, epoch, logs):
        assert set(logs) == {"loss", "lr"} and trainer.epoch == epoch
        self.calls.append(("epoch", epoch))

    def on_train_end(self, trainer):
        self.calls.append(("end", trainer.epoch))

    def state_dict(self):
        return {"last": self.calls[-1]}


def trainer(epochs: int = 2) -> EmbeddingTrainer:
    net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU())
    return EmbeddingTrainer(net, ["1"], EmbeddingConfig(dim=4, epochs=epochs), device="cpu")


BATCHES = [torch.rand(4, 3, 6, 6) for _ in range(3)]


def test_fit_calls_every_hook_in_order_and_checkpoints_after_the_epoch_hook(tmp_path):
    log = Log()
    trainer().fit(BATCHES, tmp_path / "ckpt.pt", [log], progress=False)
    steps = [("step", e, s) for e in (1, 2) for s in (1, 2, 3)]
    expected = [("start", 0)] + steps[:3] + [("epoch", 1)] + steps[3:] + [("epoch", 2), ("end", 2)]
    assert log.calls == expected
    saved = load_artifact(tmp_path / "ckpt.pt")["callbacks"]
    assert saved == [{"last": ("epoch", 2)}]  # the state after epoch 2's hook


@pytest.mark.parametrize("steps", [4, 7])
def test_fit_dataset_mean_treats_steps_per_epoch_as_an_epoch(steps):
    log = Log()
    trainer().fit_dataset_mean(BATCHES, steps=steps, callbacks=[log], progress=False)
    per_epoch = steps // 2
    assert [c for c in log.calls if c[0] == "epoch"] == [("epoch", 1), ("epoch", 2)]
    assert [c[2] for c in log.calls if c[0] == "step"] == list(range(1, per_epoch + 1)) * 2
    assert log.calls[0] == ("start", 0) and log.calls[-1] == ("end", 2)


def test_epoch_lines_instead_of_bars_and_silence(capsys):
    """``progress="epochs"`` (``--no-progress``): one line per epoch; ``False``: nothing."""
    emb = trainer(epochs=2).fit(BATCHES, progress="epochs")
    h = emb.meta["history"]
    assert capsys.readouterr().out.splitlines() == [
        f"embedding: epoch {e}/2 loss {loss:.5f} lr {lr:.3g}"
        for e, loss, lr in zip(h["epoch"], h["loss"], h["lr"], strict=True)
    ]
    trainer(epochs=2).fit(BATCHES, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_the_base_class_does_nothing():
    trainer().fit(BATCHES, callbacks=[Callback()], progress=False)  # no hook raises


class StopAfter(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def seeded(epochs: int) -> EmbeddingTrainer:
    torch.manual_seed(0)  # the same network each time
    return trainer(epochs)


def test_snapshots_hold_the_vectors_at_their_steps_and_survive_a_resume(tmp_path):
    whole = VectorSnapshots(every=0)
    final = seeded(epochs=3).fit(BATCHES, callbacks=[whole], progress=False)
    assert whole.steps == [0, 3, 6, 9] and whole.epochs == [0, 1, 2, 3]
    assert torch.equal(whole.vectors[-1]["1"], final.vectors["1"])
    assert not torch.equal(whole.vectors[0]["1"], whole.vectors[1]["1"])
    assert whole.settings == {"tau": 1.0, "exclude_diagonal": False, "dim": 4}

    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(KeyboardInterrupt):  # epoch 2 ends before its checkpoint: 1 is saved
        seeded(epochs=3).fit(BATCHES, ckpt, [VectorSnapshots(), StopAfter(2)], progress=False)
    resumed = VectorSnapshots()
    seeded(epochs=3).fit(BATCHES, ckpt, [resumed, Callback()], progress=False)
    assert resumed.steps == whole.steps and resumed.epochs == whole.epochs
    for a, b in zip(resumed.vectors, whole.vectors, strict=True):
        assert torch.equal(a["1"], b["1"])

    path = resumed.save(tmp_path / "snaps.pt")
    assert VectorSnapshots.load(path).steps == whole.steps
    with pytest.raises(ValueError, match="is not an skdlib vector-snapshots file"):
        VectorSnapshots.load(ckpt)
    with pytest.raises(ValueError, match="no snapshots yet"):
        VectorSnapshots().save(tmp_path / "empty.pt")
