"""skdlib.tutorial.steps: what each notebook works on, per profile."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torchvision.models import resnet18

from skdlib.data import to_display
from skdlib.dissect import BrodenImages
from skdlib.distill import Table1Config
from skdlib.tutorial import (
    PROFILES,
    OutputFolder,
    broden,
    check_paper_inputs,
    display_set,
    distillation_batches,
    distillation_config,
    embedding_loader,
    get_profile,
    train_embedding,
    vector_snapshots,
)


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("SKD_ROOT", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", list(PROFILES))
def test_distillation_config_is_a_valid_table1_job(name, root):
    p = get_profile(name)
    cfg = Table1Config.from_dict(distillation_config(p, OutputFolder(name)))
    assert cfg.pairs == [(p.teacher_arch, p.student_arch)] and cfg.methods == list(p.methods)
    assert Path(cfg.out).resolve() == root.resolve() / "runs" / name / "distillation"
    assert not Path(cfg.out).is_absolute() and cfg.trials == p.trials
    assert Path(cfg.data_root).resolve() == root.resolve() / "data"
    assert cfg.data == ("cifar100" if p.cifar == "real" else "synthetic")
    assert cfg.student_run("skd", 0).epochs == p.student_epochs
    assert cfg.embedding == p.teacher_embedding


def test_broden_is_generated_once_and_display_set_spreads_over_it(root):
    p = get_profile("smoke")
    ds = broden(p, progress=False)
    assert ds.root == root / "data" / f"broden_synthetic_{p.image_size}px_{p.broden_images}"
    stamp = (ds.root / "index.csv").stat().st_mtime_ns
    assert broden(p, progress=False).root == ds.root
    assert (ds.root / "index.csv").stat().st_mtime_ns == stamp  # reused, not rewritten
    images, display = display_set(ds, 4)
    picks = np.linspace(0, len(ds) - 1, 4).round().astype(int)
    expected = torch.stack([BrodenImages(ds)[int(i)] for i in picks])
    assert torch.equal(images, expected)
    np.testing.assert_array_equal(display, to_display(expected))


def test_check_paper_inputs_stops_at_once_only_in_the_paper_profile(root):
    check_paper_inputs(get_profile("smoke"))  # offline stand-ins: nothing to check
    with pytest.raises(FileNotFoundError, match="broden1_224.zip") as info:
        check_paper_inputs(get_profile("paper"))
    assert str(root / "data") in str(info.value)


@pytest.mark.parametrize(
    ("workers", "env", "expected"), [(0, "3", 0), (None, "2", 2), (1, None, 1)]
)
def test_embedding_loader_decodes_with_the_profiles_workers(
    root, monkeypatch, workers, env, expected
):
    """Issue 11, item 12: the notebooks' loaders used no worker processes."""
    if env is None:
        monkeypatch.delenv("SKD_WORKERS", raising=False)
    else:
        monkeypatch.setenv("SKD_WORKERS", env)
    p = dataclasses.replace(get_profile("smoke"), workers=workers, batch_size=5)
    data = broden(p, progress=False)
    loader = embedding_loader(p, data)
    assert loader.num_workers == expected and loader.batch_size == 5
    torch.manual_seed(0)
    seen = torch.cat(list(loader))
    reference = torch.stack([BrodenImages(data)[i] for i in range(len(data))])
    order = [int(torch.nonzero((reference == x).flatten(1).all(1))[0]) for x in seen]
    assert sorted(order) == list(range(len(data)))  # every image once, decoded alike
    assert get_profile("paper").workers is None  # the paper profile uses what the machine has


@pytest.mark.parametrize(("mode", "every"), [("dataset_mean", 1), ("minibatch", 3)])
def test_vector_snapshots_take_about_forty_copies(mode, every):
    smoke = get_profile("smoke")
    embedding = dataclasses.replace(smoke.embedding, mode=mode, epochs=20, steps=40)
    p = dataclasses.replace(smoke, embedding=embedding)
    loader = DataLoader(torch.rand(42, 3, 8, 8), batch_size=7)  # 6 batches per epoch
    assert vector_snapshots(p, loader).every == every


@pytest.mark.parametrize("mode", ["dataset_mean", "minibatch"])
def test_train_embedding_follows_the_profiles_mode(mode, tmp_path):
    smoke = get_profile("smoke")
    embedding = dataclasses.replace(smoke.embedding, mode=mode, epochs=2, steps=4)
    p = dataclasses.replace(smoke, embedding=embedding, device="cpu")
    torch.manual_seed(0)
    loader = DataLoader(torch.rand(8, 3, 32, 32), batch_size=4)
    emb = train_embedding(p, resnet18(), loader, checkpoint=tmp_path / "e.ckpt")
    assert emb.layers == list(p.layers) and emb.meta["arch"] == "resnet18"
    assert emb.meta["history"]["epoch"] == [1, 2]
    if mode == "dataset_mean":
        assert (emb.meta["training"]["mode"], emb.meta["training"]["steps_taken"]) == (
            "dataset_mean",
            4,
        )
        assert not (tmp_path / "e.ckpt").exists()
    else:
        assert emb.meta["training"]["mode"] == "minibatch" and (tmp_path / "e.ckpt").exists()


def test_distillation_batches_are_the_students_seeded_training_batches(root):
    p = get_profile("smoke")
    config = distillation_config(p, OutputFolder("smoke"))
    batches = distillation_batches(config, n=2)
    again = distillation_batches(config, n=2)
    assert len(batches) == 2
    images, labels = batches[0]
    assert tuple(images.shape) == (64, 3, 32, 32) and tuple(labels.shape) == (64,)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(batches, again, strict=True))
    other = distillation_batches(config, n=1, seed=1)[0][1]
    assert not torch.equal(other, labels)  # another seed, another shuffle
    assert int(labels.max()) < 100 and images.dtype == torch.float32
