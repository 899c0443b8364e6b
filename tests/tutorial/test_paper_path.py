"""The ``paper`` profile end to end, on files in the real formats (issue 11).

Nothing of the paper profile could run here before: it needs torchvision's ImageNet ResNet18,
Broden 224 and CIFAR-100, none of which this machine can download. So a temporary project gets
each in its real place and format:

* ``$TORCH_HOME/hub/checkpoints/resnet18-f37072fd.pth``: a ResNet18 state dict (random weights)
  under the file name torchvision caches the ImageNet weights as, so torchvision loads it as the
  ImageNet weights without downloading;
* ``data/broden1_224``: a generated Broden at 224 px in Broden's on-disk format;
* ``data/cifar-100-python/{train,test,meta}``: the generated CIFAR stand-in pickled in the
  published python layout. Its md5 cannot match the published archive's, and torchvision checks
  it: a user with the real files passes that check; a user with damaged files gets the error
  ``tests/distill/test_cifar.py`` checks; here ``SKD_CIFAR_CHECKSUM=off`` reads the files
  through torchvision's own reader without it.

Then the project's runner executes all six notebooks with ``profile="paper"`` and
``trial_run=True`` (every schedule cut to one epoch), as ``python -m skdlib notebooks --profile
paper --trial-run`` does, and the test checks that every notebook completed and wrote its outputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import torchvision
from support.cifar_files import write_cifar100_pickles

from skdlib.data import make_synthetic_broden
from skdlib.dissect import BrodenDataset, DissectionResult
from skdlib.distill.cifar import CHECKSUM_ENV
from skdlib.embedding import NeuronEmbedding, VectorSnapshots
from skdlib.models import create_model
from skdlib.tutorial import execute_notebooks, notebook_paths

BRODEN_IMAGES = 24


@pytest.fixture(scope="module")
def paper_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper")
    (root / "skdlib").mkdir()  # marks the project root, as in the repository
    shutil.copytree(notebook_paths()[0].parent, root / "notebooks")
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    checkpoints = root / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(0)
    state = torchvision.models.resnet18().state_dict()
    torch.save(state, checkpoints / Path(weights.url).name)
    make_synthetic_broden(
        root / "data" / "broden1_224", BRODEN_IMAGES, size=224, seed=0, progress=False
    )
    write_cifar100_pickles(root / "data", train_per_class=2, test_per_class=1)
    return root, state


@pytest.fixture(scope="module")
def paper_run(paper_project):
    root, state = paper_project
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SKD_ROOT", str(root))
        env.setenv("TORCH_HOME", str(root / "torch"))
        env.setenv(CHECKSUM_ENV, "off")
        env.delenv("SKD_PROFILE", raising=False)
        summary = execute_notebooks(
            "paper", notebook_paths(root / "notebooks"), progress=False, trial_run=True
        )
    return root, state, summary


def test_the_files_are_where_and_as_the_paper_profile_expects_them(paper_project):
    root, _ = paper_project
    assert (root / "torch/hub/checkpoints/resnet18-f37072fd.pth").is_file()
    assert len(BrodenDataset(root / "data" / "broden1_224")) == BRODEN_IMAGES
    for name in ("train", "test", "meta"):
        assert (root / "data" / "cifar-100-python" / name).is_file()


def test_every_notebook_of_the_paper_profile_completes(paper_run):
    root, _, summary = paper_run
    out = root / "runs" / "paper-trial"
    assert summary == out / "summary.md"
    text = summary.read_text()
    assert "Incomplete" not in text and "A trial run" in text
    executed = sorted(p.name for p in (out / "notebooks").glob("*.ipynb"))
    assert executed == [p.name for p in notebook_paths(root / "notebooks")]
    for name in executed:  # completed: every code cell ran, none raised
        cells = json.loads((out / "notebooks" / name).read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
        assert errors == [], name
        ran = [c for c in code if c["source"] and "IN_COLAB" not in "".join(c["source"])]
        assert all(c["execution_count"] is not None for c in ran), name
    timings = json.loads((out / "metrics.json").read_text())["timings_s"]
    assert set(timings) == {*executed, "total"}


def test_the_paper_profile_writes_its_outputs_from_the_real_format_files(paper_run):
    root, state, _ = paper_run
    out = root / "runs" / "paper-trial"
    emb = NeuronEmbedding.load(out / "embedding.pt")
    data = {"images": BRODEN_IMAGES, "weights": "imagenet", "data": "broden1_224"}
    assert data.items() <= emb.meta["data"].items()
    assert emb.meta["input_shape"] == [3, 224, 224] and emb.meta["training"]["optimizer"] == "sgd"
    assert emb.meta["history"]["epoch"] == [1]  # the trial run: one epoch
    snapshots = VectorSnapshots.load(out / "embedding_snapshots.pt")
    assert torch.equal(snapshots.vectors[-1]["layer4"], emb.vectors["layer4"])
    dissection = DissectionResult.load(out / "dissection")
    assert dissection.layers == ["layer1", "layer2", "layer3", "layer4"]
    assert dissection.iou["layer4"].shape[0] == 512
    results = json.loads((out / "distillation" / "results.json").read_text())
    assert results["config"]["data"] == "cifar100" and results["config"]["trials"] == 1
    methods = [(r["role"], r["method"], r["epochs"]) for r in results["runs"]]
    assert methods == [
        ("teacher", "none", 1),
        ("student", "none", 1),
        ("student", "kd", 1),
        ("student", "skd", 1),
    ]
    assert {r["student"] for r in results["runs"]} == {"resnet32x4", "resnet8x4"}
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    assert {"01_embedding_loss", "04_kl_curves", "04_semantic_map"} <= figures
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"embedding", "dissection", "kl"} <= set(metrics)


def test_torchvision_loads_the_cached_file_as_the_imagenet_weights(paper_project, monkeypatch):
    """What the notebooks' ``studied_network`` does in the paper profile, checked in-process."""
    root, state = paper_project
    monkeypatch.setenv("TORCH_HOME", str(root / "torch"))
    loaded = create_model("resnet18", weights="imagenet").state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
