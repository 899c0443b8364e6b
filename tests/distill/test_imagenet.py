"""skdlib.distill.imagenet: the ResNet34 -> ResNet18 job end to end on a generated ImageFolder,
with the teacher never run while an SKD student trains."""

from __future__ import annotations

import json

import pytest
from support.imagenet_job import TINY

import skdlib.distill.imagenet as imagenet
from skdlib.distill.imagenet import ImageNetJob, run_imagenet_job


@pytest.fixture(scope="module")
def job_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet")
    calls: list[str] = []
    phase = ["setup"]
    real_model, real_trainer = imagenet._model, imagenet.DistillTrainer

    def counted_model(name, weights, num_classes):
        model = real_model(name, weights, num_classes)
        if name == "resnet34":  # count every forward of the teacher, by phase
            model.register_forward_hook(lambda *a: calls.append(phase[0]))
        return model

    class PhasedTrainer(real_trainer):
        def fit(self, *args, **kwargs):
            phase[0] = self.method.name
            try:
                return super().fit(*args, **kwargs)
            finally:
                phase[0] = "between"

    mp = pytest.MonkeyPatch()
    mp.setattr(imagenet, "_model", counted_model)
    mp.setattr(imagenet, "DistillTrainer", PhasedTrainer)
    phase[0] = "embedding"
    try:
        results = run_imagenet_job(
            {**TINY, "data": str(root / "data"), "out": str(root / "out")}, progress=False
        )
    finally:
        mp.undo()
    return root, results, calls


def test_the_job_runs_end_to_end_and_writes_its_results(job_run):
    root, results, _ = job_run
    assert [r["method"] for r in results["runs"]] == ["none", "kd", "skd"]
    assert all(r["complete"] and r["epochs_done"] == 1 for r in results["runs"])
    on_disk = json.loads((root / "out" / "results.json").read_text())
    assert on_disk["runs"] == results["runs"] and on_disk["processes"] == 1
    for method in ("none", "kd", "skd"):
        assert (root / "out" / method / "model.pt").exists()
    emb = imagenet.NeuronEmbedding.load(root / "out" / "embedding.pt")
    assert emb.meta["channels"] == {"layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}
    assert emb.meta["data"]["images"] == 8


def test_the_teacher_runs_for_the_embedding_and_kd_but_never_for_skd(job_run):
    _, _, calls = job_run
    batches = -(-12 // 8)  # 3 classes x 4 images, global batch 8
    # the widths (one dry forward), then one batch over the 8-image subset
    assert calls.count("embedding") == 2
    assert calls.count("kd") == batches
    assert calls.count("skd") == 0 and calls.count("none") == 0


def test_the_pair_must_be_registered_torchvision_models_of_equal_stages_and_bad_jobs():
    assert ImageNetJob.from_dict({"data": "d", "out": "o"}).teacher_arch == "resnet34"
    with pytest.raises(ValueError, match="unknown torchvision architecture 'vgg11'"):
        ImageNetJob.from_dict({"data": "d", "out": "o", "teacher_arch": "vgg11"})
    with pytest.raises(ValueError, match="resnet50 has .*\\('layer1', 256\\).* and resnet18"):
        ImageNetJob.from_dict({"data": "d", "out": "o", "teacher_arch": "resnet50"})
    with pytest.raises(ValueError, match="key 'teacher_weights' must be"):
        ImageNetJob.from_dict({"data": "d", "out": "o", "teacher_weights": "random"})
    with pytest.raises(ValueError, match="unknown method 'hint'"):
        ImageNetJob.from_dict({"data": "d", "out": "o", "methods": ["hint"]})
    with pytest.raises(ValueError, match="'crd' keeps a memory bank .* needs each image's index"):
        ImageNetJob.from_dict({"data": "d", "out": "o", "methods": ["crd"]})


def test_missing_data_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'train'} is missing"):
        run_imagenet_job({**TINY, "synthetic": {}, "data": str(tmp_path), "out": str(tmp_path)})


def test_the_config_files():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    paper = ImageNetJob.load(root / "configs" / "imagenet_resnet34.json")
    assert (paper.teacher_arch, paper.student_arch, paper.teacher_weights) == (
        "resnet34",
        "resnet18",
        "imagenet",
    )
    assert (paper.epochs, paper.batch_size, paper.lr, paper.weight_decay) == (90, 256, 0.1, 1e-4)
    assert (paper.embedding.mode, paper.embedding.steps, paper.embed_images) == (
        "dataset_mean",
        500,
        10000,
    )
    demo = ImageNetJob.load(root / "configs" / "imagenet_synthetic.json")
    assert demo.teacher_weights == "none" and demo.synthetic["classes"] == 10
    assert demo.embedding.steps == 100
