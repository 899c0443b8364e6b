"""skdlib.distill.steps: a run leaves its files and resumes; SKD never builds or loads the teacher;
the teacher embedding feeds SKD.
"""

import csv
import json

import pytest
import torch
from support.distill_refs import RESNET_STAGES, loaders, random_vectors

import skdlib.distill.steps as steps_module
import skdlib.distill.trainer as trainer_module
from skdlib.distill import DistillConfig, DistillTrainer, embed_teacher, evaluate, train_model
from skdlib.embedding import EmbeddingConfig
from skdlib.models import create_model, load_model, save_model


def test_skd_never_builds_or_loads_the_teacher(data, monkeypatch, tmp_path):
    built, loaded = [], []
    real_create = steps_module.create_model

    def counting_create(name, num_classes=100):
        built.append(name)
        return real_create(name, num_classes)

    monkeypatch.setattr(steps_module, "create_model", counting_create)
    monkeypatch.setattr(trainer_module, "load_model", lambda *a, **k: loaded.append(a) or 1 / 0)
    tl, vl = loaders(data)
    trainer = train_model(
        "resnet20",
        tl,
        vl,
        DistillConfig(method="skd", epochs=1),
        teacher_model=tmp_path / "no-such-teacher.pt",  # would fail if anyone tried to read it
        teacher_arch="resnet56",
        embedding=random_vectors([16, 32, 64]),
        device="cpu",
        progress=False,
    )
    assert built == ["resnet20"] and loaded == []
    assert trainer.summary.history[0]["train_distill"] > 0


def test_run_folder_metrics_and_models(data, tmp_path):
    tl, vl = loaders(data)
    out = tmp_path / "run"
    trainer = train_model(
        "resnet20", tl, vl, DistillConfig(epochs=2), out, device="cpu", progress=False
    )
    metrics = json.loads((out / "metrics.json").read_text())
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    history = trainer.summary.history
    assert metrics["complete"] and metrics["epochs_done"] == 2 and len(rows) == 2
    assert metrics["last_top1"] == history[-1]["test_top1"]
    best = max(history, key=lambda r: r["test_top1"])
    assert metrics["best_top1"] == best["test_top1"] and metrics["best_epoch"] == best["epoch"]
    assert float(rows[1]["test_top1"]) == pytest.approx(history[1]["test_top1"])
    assert metrics["run"]["config"]["epochs"] == 2 and metrics["run"]["method"] == "none"
    final = load_model(out / "model.pt")
    assert evaluate(final, vl)["top1"] == metrics["last_top1"]
    assert evaluate(load_model(out / "best.pt"), vl)["top1"] == metrics["best_top1"]
    # finished: a second call trains nothing and returns the same summary
    again = train_model("resnet20", tl, vl, DistillConfig(epochs=2), out, device="cpu",
                        progress=False)  # fmt: skip
    assert again.summary.history == history
    with pytest.raises(ValueError, match="belongs to a different run"):
        train_model("resnet20", tl, vl, DistillConfig(epochs=3), out, device="cpu",
                    progress=False)  # fmt: skip


def test_embed_teacher_artifact_feeds_skd(data, tmp_path):
    train, _ = data
    torch.manual_seed(0)
    path = save_model(create_model("resnet20"), "resnet20", tmp_path / "t" / "model.pt")
    cfg = EmbeddingConfig(epochs=1, optimizer="adam", lr=0.01)
    emb = embed_teacher(path, train, cfg, tmp_path / "t", device="cpu", progress=False)
    assert emb.meta["arch"] == "resnet20" and emb.layers == RESNET_STAGES
    assert emb.meta["channels"] == dict(zip(RESNET_STAGES, [16, 32, 64], strict=True))
    assert emb.meta["data"]["augmentation"] == "none" and emb.meta["data"]["n_images"] == 40
    again = embed_teacher(path, train, cfg, tmp_path / "t", device="cpu", progress=False)
    assert torch.equal(again.vectors["layer3"], emb.vectors["layer3"])  # loaded, not retrained
    trainer = DistillTrainer(
        create_model("resnet20"), DistillConfig(method="skd"), "resnet20",
        embedding=tmp_path / "t" / "embedding.pt", device="cpu",
    )  # fmt: skip
    assert trainer.teacher_arch == "resnet20"
    assert trainer.embedding_meta["channels"] == emb.meta["channels"]
    with pytest.raises(ValueError, match="holds a resnet20, not a resnet56"):
        load_model(path, "resnet56")


def test_embed_teacher_never_passes_off_an_embedding_of_other_settings(data, tmp_path):
    """A finished embedding made with other settings or data is refused, naming each difference
    (issue 11, item 9: ``--dim 32 --optimizer adam`` used to return the old dim-16 SGD one)."""
    train, _ = data
    torch.manual_seed(0)
    path = save_model(create_model("resnet20"), "resnet20", tmp_path / "t" / "model.pt")
    old = EmbeddingConfig(epochs=1, optimizer="sgd", dim=16)
    embed_teacher(path, train, old, tmp_path / "t", device="cpu", progress=False)
    stamp = (tmp_path / "t" / "embedding.pt").stat().st_mtime_ns
    new = EmbeddingConfig(epochs=1, optimizer="adam", lr=0.01, dim=32)
    with pytest.raises(ValueError, match="made with other settings") as info:
        embed_teacher(path, train, new, tmp_path / "t", device="cpu", progress=False)
    message = str(info.value)
    assert "dim: 16 -> 32" in message and "optimizer: 'sgd' -> 'adam'" in message
    assert "lr: 0.1 -> 0.01" in message and "epochs" not in message
    subset = torch.utils.data.Subset(train, range(20))
    subset.classes = train.classes
    with pytest.raises(ValueError, match="data.n_images: 40 -> 20"):
        embed_teacher(path, subset, old, tmp_path / "t", device="cpu", progress=False)
    assert (tmp_path / "t" / "embedding.pt").stat().st_mtime_ns == stamp


def test_skd_checkpoint_is_tied_to_its_embedding(data, tmp_path):
    """A student run trained against one embedding never resumes against another."""
    tl, vl = loaders(data)
    out = tmp_path / "skd"
    cfg = DistillConfig(method="skd", epochs=1)
    first = random_vectors([16, 32, 64], seed=1)
    train_model("resnet20", tl, vl, cfg, out, embedding=first, device="cpu", progress=False)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["embedding"] == metrics["embedding"]["digest"]
    again = train_model("resnet20", tl, vl, cfg, out, embedding=first, device="cpu",
                        progress=False)  # fmt: skip
    assert again.epoch == 1  # the same vectors: finished, nothing retrained
    other = random_vectors([16, 32, 64], seed=2)
    with pytest.raises(ValueError, match="belongs to a different run"):
        train_model("resnet20", tl, vl, cfg, out, embedding=other, device="cpu", progress=False)
