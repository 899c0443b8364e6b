"""skdlib.embedding.trainer: training recovers planted structure, resume is exact, the dataset-mean
fit is the whole-data objective.
"""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from skdlib.embedding import (
    Callback,
    EmbeddingConfig,
    EmbeddingTrainer,
)

GROUPS = 8


def planted_model(groups: int = GROUPS, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    """A 1x1 conv + ReLU whose 2*groups channels are scaled copies of ``groups`` inputs.

    Channel k copies input ``owner[k]``; every input feeds exactly two channels, so channels come
    in pairs with identical maps (cosine 1), and channels of different groups are never co-active
    on the data below (cosine 0).
    """
    g = torch.Generator().manual_seed(seed)
    c = 2 * groups
    owner = torch.randperm(c, generator=g) % groups
    conv = nn.Conv2d(groups, c, 1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[torch.arange(c), owner, 0, 0] = torch.rand(c, generator=g) + 0.5
    return nn.Sequential(conv, nn.ReLU()), owner


def planted_data(n: int, groups: int = GROUPS, size: int = 8, seed: int = 1) -> torch.Tensor:
    """Images whose every pixel belongs to exactly one group (one-hot), positive intensity."""
    g = torch.Generator().manual_seed(seed)
    region = torch.randint(0, groups, (n, size, size), generator=g)
    x = nn.functional.one_hot(region, groups).permute(0, 3, 1, 2).float()
    return x * (torch.rand(n, 1, size, size, generator=g) + 0.5)


def loader(n: int = 256, batch_size: int = 64) -> DataLoader:
    targets = torch.zeros(n, dtype=torch.long)
    return DataLoader(TensorDataset(planted_data(n), targets), batch_size=batch_size, shuffle=True)


@pytest.fixture(scope="module")
def trained():
    model, owner = planted_model()
    trainer = EmbeddingTrainer(
        model, ["1"], EmbeddingConfig(epochs=30), arch="planted", data_info={"name": "x"}
    )
    return trainer.fit(loader(), progress=False), owner, trainer


def test_trained_embedding_recovers_planted_pairs(trained):
    emb, owner, _ = trained
    for unit in range(2 * GROUPS):
        (best, cos), *_ = emb.nearest("1", unit, k=3)
        assert owner[best] == owner[unit], f"unit {unit}: nearest {best} is not its copy"
        # the copy is clearly closer than any never-co-active channel
        others = [c for u, c in emb.nearest("1", unit, k=2 * GROUPS - 1) if owner[u] != owner[unit]]
        assert cos > max(others) + 0.2


def test_loss_falls_and_history_is_recorded(trained):
    emb, _, _ = trained
    history = emb.meta["history"]
    assert history["epoch"] == list(range(1, 31))
    assert history["loss"][-1] < history["loss"][0] - 0.03
    # step decay at 50/75/90 % of 30 epochs: lr 0.1 until epoch 15, then 0.01, 0.001, 1e-4
    assert history["lr"][14] == pytest.approx(0.1) and history["lr"][15] == pytest.approx(0.01)
    assert history["lr"][-1] == pytest.approx(1e-4)


def test_metadata_is_complete(trained):
    emb, _, _ = trained
    meta = emb.meta
    assert meta["arch"] == "planted"
    assert meta["layers"] == ["1"] and meta["channels"] == {"1": 2 * GROUPS}
    assert meta["dim"] == 16 and meta["tau"] == 1.0 and meta["exclude_diagonal"] is False
    assert meta["input_shape"] == [GROUPS, 8, 8]
    assert meta["data"] == {"name": "x", "batch_size": 64, "n_samples": 256}
    assert meta["training"]["lr"] == 0.1 and meta["training"]["momentum"] == 0.9
    assert meta["training"]["weight_decay"] == 5e-4 and meta["training"]["epochs_done"] == 30
    assert "library_version" in meta
    assert emb.vectors["1"].shape == (2 * GROUPS, 16)


def test_frozen_model_is_untouched(trained):
    _, _, trainer = trained
    model = trainer.model
    fresh, _ = planted_model()
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b) and a.requires_grad


class Interrupt(Exception):
    pass


class StopAt(Callback):
    def __init__(self, epoch: int, step: int):
        self.epoch, self.step = epoch, step

    def on_step_end(self, trainer, step, loss):
        if trainer.epoch + 1 == self.epoch and step == self.step:
            raise Interrupt


class Recorder(Callback):
    """Logs every hook; keeps its state across a resume through state_dict."""

    def __init__(self):
        self.events: list[tuple] = []

    def on_train_start(self, trainer):
        self.events.append(("start", trainer.epoch))

    def on_epoch_end(self, trainer, epoch, logs):
        first = trainer.vectors.as_dict()["1"][0].detach().clone()
        self.events.append(("epoch", epoch, logs["loss"], first))

    def on_train_end(self, trainer):
        self.events.append(("end", trainer.epoch))

    def state_dict(self):
        return {"events": self.events}

    def load_state_dict(self, state):
        self.events = list(state["events"])


def make_trainer():
    model, _ = planted_model()
    return EmbeddingTrainer(model, ["1"], EmbeddingConfig(epochs=5, seed=3), arch="planted")


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    recorder = Recorder()
    full = make_trainer().fit(loader(96, 32), tmp_path / "full.ckpt", [recorder], progress=False)

    ckpt = tmp_path / "cut.ckpt"
    with pytest.raises(Interrupt):
        make_trainer().fit(loader(96, 32), ckpt, [StopAt(epoch=4, step=2)], progress=False)
    assert ckpt.exists()
    resumed_recorder = Recorder()
    resumed = make_trainer().fit(loader(96, 32), ckpt, [resumed_recorder], progress=False)

    assert torch.equal(resumed.vectors["1"], full.vectors["1"])
    for key in ("epoch", "loss", "lr"):
        assert resumed.meta["history"][key] == full.meta["history"][key]
    # the recorder of the interrupted run was not passed; the resumed one restarts at epoch 3
    assert [e[:2] for e in resumed_recorder.events] == [
        ("start", 3),
        ("epoch", 4),
        ("epoch", 5),
        ("end", 5),
    ]
    epochs_full = [e for e in recorder.events if e[0] == "epoch"]
    epochs_resumed = [e for e in resumed_recorder.events if e[0] == "epoch"]
    for a, b in zip(epochs_full[3:], epochs_resumed, strict=True):
        assert a[1:3] == b[1:3] and torch.equal(a[3], b[3])


def test_callback_state_survives_resume(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    first = Recorder()
    with pytest.raises(Interrupt):
        make_trainer().fit(loader(64, 32), ckpt, [first, StopAt(epoch=3, step=1)], progress=False)
    second = Recorder()
    make_trainer().fit(loader(64, 32), ckpt, [second, Callback()], progress=False)
    kinds = [e[:2] for e in second.events]
    assert kinds == [
        ("start", 0),
        ("epoch", 1),
        ("epoch", 2),
        ("start", 2),
        ("epoch", 3),
        ("epoch", 4),
        ("epoch", 5),
        ("end", 5),
    ]


def test_checkpoint_of_another_run_is_refused(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    make_trainer().fit(loader(32, 32), ckpt, progress=False)
    model, _ = planted_model()
    other = EmbeddingTrainer(model, ["1"], EmbeddingConfig(epochs=5, dim=8), arch="planted")
    with pytest.raises(ValueError, match="belongs to a different run"):
        other.fit(loader(32, 32), ckpt, progress=False)


def test_finished_checkpoint_on_other_data_is_not_resumed(tmp_path):
    """A finished checkpoint from one data set is never "resumed" on another (issue 11, item 9)."""
    ckpt = tmp_path / "run.ckpt"
    model, _ = planted_model()
    config = EmbeddingConfig(epochs=2, seed=3)
    first = EmbeddingTrainer(model, ["1"], config, arch="planted", data_info={"images": 64})
    first.fit(loader(64, 32), ckpt, progress=False)
    other = EmbeddingTrainer(model, ["1"], config, arch="planted", data_info={"images": 32})
    with pytest.raises(ValueError, match="belongs to a different run") as info:
        other.fit(loader(32, 32), ckpt, progress=False)
    assert "'images': 64" in str(info.value) and "'images': 32" in str(info.value)
    # the same data resumes the finished run: nothing is trained again
    again = EmbeddingTrainer(model, ["1"], config, arch="planted", data_info={"images": 64})
    emb = again.fit(loader(64, 32), ckpt, progress=False)
    assert emb.meta["data"]["images"] == 64 and again.epoch == 2


def test_trainer_rejects_unknown_layer_and_empty_loader():
    model, _ = planted_model()
    with pytest.raises(KeyError, match="no module named .l."):
        EmbeddingTrainer(model, ["l"])
    with pytest.raises(ValueError, match="no batches"):
        EmbeddingTrainer(model, ["1"], EmbeddingConfig(epochs=1)).fit([], progress=False)
    with pytest.raises(TypeError, match="must yield image tensors"):
        EmbeddingTrainer(model, ["1"], EmbeddingConfig(epochs=1)).fit([[1, 2]], progress=False)


def test_dataset_mean_objective_equals_mean_of_per_image_losses():
    from skdlib.losses import embedding_loss, relation_cross_entropy_to

    model, _ = planted_model()
    data = loader(40, batch_size=16)  # batches of 16, 16, 8: unequal sizes are weighted right
    trainer = EmbeddingTrainer(model, ["1"], EmbeddingConfig(tau=0.5))
    trainer.prepare((GROUPS, 8, 8))
    targets = trainer.dataset_targets(data, progress=False)
    vectors = torch.randn(2 * GROUPS, 16, dtype=torch.float64)
    images = data.dataset.tensors[0]
    with torch.no_grad():
        acts = model(images).double()
    per_image = [float(embedding_loss(acts[i : i + 1], vectors, tau=0.5)) for i in range(40)]
    whole = float(relation_cross_entropy_to(targets["1"].double(), vectors, tau=0.5))
    assert whole == pytest.approx(sum(per_image) / 40, rel=1e-6)


def test_fit_dataset_mean_recovers_planted_pairs_and_logs_callbacks():
    model, owner = planted_model()
    recorder = Recorder()
    trainer = EmbeddingTrainer(model, ["1"], EmbeddingConfig(epochs=5, optimizer="adam", lr=0.05))
    emb = trainer.fit_dataset_mean(loader(), steps=200, callbacks=[recorder], progress=False)
    for unit in range(2 * GROUPS):
        best, _ = emb.nearest("1", unit, k=1)[0]
        assert owner[best] == owner[unit]
    history = emb.meta["history"]
    assert history["epoch"] == [1, 2, 3, 4, 5] and history["loss"][-1] < history["loss"][0]
    assert [e[0] for e in recorder.events] == ["start"] + ["epoch"] * 5 + ["end"]
    assert (emb.meta["training"]["mode"], emb.meta["training"]["steps"]) == ("dataset_mean", 200)
    assert all(p.requires_grad for p in model.parameters())


def _nan_loader(bad: tuple[int, ...] = (3, 17)) -> DataLoader:
    images = planted_data(32)
    images[list(bad), :, 2, 2] = float("nan")  # one pixel of two images
    return DataLoader(TensorDataset(images, torch.zeros(32, dtype=torch.long)), batch_size=16)


@pytest.mark.parametrize("mode", ["fit", "fit_dataset_mean"])
def test_non_finite_activations_stop_training_naming_layer_and_images(mode, tmp_path):
    model, _ = planted_model()
    trainer = EmbeddingTrainer(model, ["1"], EmbeddingConfig(epochs=2), arch="planted")
    with pytest.raises(FloatingPointError) as info:
        if mode == "fit":
            trainer.fit(_nan_loader(), checkpoint=tmp_path / "c.ckpt", progress=False)
        else:
            trainer.fit_dataset_mean(_nan_loader(), steps=10, progress=False)
    message = str(info.value)
    assert "layer '1': non-finite activations (NaN or inf) on 1 image(s)" in message
    assert "at batch positions [3]" in message and "nothing was saved" in message
    if mode == "fit_dataset_mean":
        assert "the batch starting at image 0" in message
    assert not list(tmp_path.iterdir())  # no checkpoint of NaN vectors


def test_diverged_vectors_stop_training_with_advice():
    model, _ = planted_model()
    trainer = EmbeddingTrainer(model, ["1"], EmbeddingConfig(epochs=1), arch="planted")
    prepare = trainer.prepare

    def prepare_diverged(shape):  # vectors that blew up, as with a far too large learning rate
        prepare(shape)
        with torch.no_grad():
            for p in trainer.vectors.parameters():
                p.fill_(float("inf"))

    trainer.prepare = prepare_diverged
    with pytest.raises(
        FloatingPointError, match=r"loss became nan in step 1 of epoch 1.*lower the learning rate"
    ):
        trainer.fit_dataset_mean(loader(64), steps=5, progress=False)


def test_train_runs_the_configs_mode_and_records_what_ran(tmp_path):
    """``train`` is ``fit`` for ``mode="minibatch"`` and ``fit_dataset_mean(steps=config.steps)``
    for ``"dataset_mean"``: the vectors equal those of calling each directly."""
    batches = [torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU())

    def vectors(config, direct):
        trainer = EmbeddingTrainer(net, ["1"], config, device="cpu")
        emb = direct(trainer) if direct else trainer.train(batches, progress=False)
        return emb

    mean_cfg = EmbeddingConfig(dim=3, epochs=2, mode="dataset_mean", steps=6, optimizer="adam")
    ours = vectors(mean_cfg, None)
    direct = vectors(mean_cfg, lambda t: t.fit_dataset_mean(batches, steps=6, progress=False))
    assert torch.equal(ours.vectors["1"], direct.vectors["1"])
    assert ours.meta["training"]["mode"] == "dataset_mean" and ours.meta["training"]["steps"] == 6
    mini_cfg = EmbeddingConfig(dim=3, epochs=2, optimizer="adam")
    ours = vectors(mini_cfg, None)
    direct = vectors(mini_cfg, lambda t: t.fit(batches, progress=False))
    assert torch.equal(ours.vectors["1"], direct.vectors["1"])
    assert ours.meta["training"]["mode"] == "minibatch"
