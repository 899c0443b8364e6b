"""skdlib.distill: SKD never touches the teacher, every method's term is the right loss on the
right features, resume is exact, mismatched pairs fail clearly, and runs leave their files."""

import copy
import csv
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import skdlib.distill as distill
from skdlib.cifar import load_split, make_loader
from skdlib.distill import (
    DistillConfig,
    DistillTrainer,
    default_beta,
    embed_teacher,
    evaluate,
    feature_spec,
    load_model,
    save_model,
    train_model,
)
from skdlib.embedding import EmbeddingConfig, NeuronEmbedding
from skdlib.kd_losses import at_loss_over_layers, kd_loss, pkt_loss, rkd_loss, sp_loss
from skdlib.losses import skd_loss_over_layers
from skdlib.models import create_model, stage_channels

RESNET_STAGES = ["layer1", "layer2", "layer3"]


def head(dataset, n):
    """The first ``n`` images of a split (a shallow copy sharing the arrays)."""
    part = copy.copy(dataset)
    part.data, part.targets = dataset.data[:n], dataset.targets[:n]
    return part


@pytest.fixture(scope="module")
def data():
    """40 training images (2 batches of 20) and 40 test images of the synthetic stand-in."""
    train, test = load_split("synthetic", True, n_per_class=1), load_split("synthetic", False, 1)
    return head(train, 40), head(test, 40)


def loaders(data, pipeline="torchvision"):
    train, test = data
    return (
        make_loader(train, 20, train=True, device="cpu", pipeline=pipeline),
        make_loader(test, 40, train=False, device="cpu", pipeline=pipeline),
    )


def random_vectors(widths, names=RESNET_STAGES, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(c, 16, generator=g) for n, c in zip(names, widths, strict=True)}


def batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 100, (n,), generator=g)


class CountingTeacher(nn.Module):
    """A real resnet32 whose forward calls are counted."""

    def __init__(self):
        super().__init__()
        self.net = create_model("resnet32")
        self.stage_names = [f"net.{n}" for n in RESNET_STAGES]
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


# -- SKD never uses the teacher -----------------------------------------------------------------


def test_skd_never_calls_the_teacher(data):
    tl, vl = loaders(data)
    for method, expect_calls in (("skd", False), ("kd", True)):
        teacher = CountingTeacher()
        torch.manual_seed(0)
        trainer = DistillTrainer(
            create_model("resnet20"),
            DistillConfig(method=method, epochs=1),
            "resnet20",
            teacher=teacher,
            embedding=random_vectors([16, 32, 64]),
            device="cpu",
        )
        trainer.fit(tl, vl, progress=False)
        assert trainer.summary.epochs_done == 1
        assert (teacher.calls > 0) == expect_calls, (method, teacher.calls)
        if method == "skd":
            assert trainer.teacher is None


def test_skd_never_builds_or_loads_the_teacher(data, monkeypatch, tmp_path):
    built, loaded = [], []
    real_create = distill.create_model

    def counting_create(name, num_classes=100):
        built.append(name)
        return real_create(name, num_classes)

    monkeypatch.setattr(distill, "create_model", counting_create)
    monkeypatch.setattr(distill, "load_model", lambda *a, **k: loaded.append(a) or 1 / 0)
    tl, vl = loaders(data)
    trainer = train_model(
        "resnet20",
        tl,
        vl,
        DistillConfig(method="skd", epochs=1),
        teacher=tmp_path / "no-such-teacher.pt",  # would fail if anyone tried to read it
        teacher_name="resnet56",
        embedding=random_vectors([16, 32, 64]),
        device="cpu",
        progress=False,
    )
    assert built == ["resnet20"] and loaded == []
    assert trainer.summary.history[0]["train_distill"] > 0


# -- each method's term is the documented loss on CRD's features --------------------------------


def resnet_features(model, x):
    """CRD's feature list of a CIFAR resnet, by an explicit forward pass: stages and pooled."""
    h = model.relu(model.bn1(model.conv1(x)))
    f1 = model.layer1(h)
    f2 = model.layer2(f1)
    f3 = model.layer3(f2)
    return (
        [f1, f2, f3],
        torch.flatten(model.avgpool(f3), 1),
        model.fc(torch.flatten(model.avgpool(f3), 1)),
    )


def vgg_features(model, x):
    """CRD's post-ReLU features of a VGG (``f1..f4``) by an explicit forward pass."""
    h = model.pool0(F.relu(model.block0(x)))
    f1 = F.relu(model.block1(h))
    f2 = F.relu(model.block2(model.pool1(f1)))
    f3 = F.relu(model.block3(model.pool2(f2)))
    f4 = F.relu(model.block4(f3))
    return [f1, f2, f3, f4], f4


@pytest.mark.parametrize("method", ["kd", "sp", "rkd", "at", "pkt", "skd", "skd+kd"])
def test_distill_term_matches_the_loss_on_reference_features(method):
    torch.manual_seed(0)
    student, teacher = create_model("resnet20"), create_model("resnet32").eval()
    vectors = random_vectors([16, 32, 64])
    x, y = batch()
    with torch.no_grad():  # train-mode BN: the trainer's forward sees the same batch statistics
        s_feats, s_pooled, s_logits = resnet_features(student.train(), x)
        t_feats, t_pooled, t_logits = resnet_features(teacher, x)
    expected = {
        "kd": kd_loss(s_logits, t_logits, 4.0),
        "sp": sp_loss(s_feats[-1], t_feats[-1]),
        "rkd": rkd_loss(s_pooled, t_pooled),
        "at": at_loss_over_layers(s_feats, t_feats),
        "pkt": pkt_loss(s_pooled, t_pooled),
        "skd": skd_loss_over_layers(dict(zip(RESNET_STAGES, s_feats, strict=True)), vectors),
    }
    expected["skd+kd"] = expected["skd"]
    trainer = DistillTrainer(
        student,
        DistillConfig(method=method),
        "resnet20",
        teacher=teacher,
        teacher_name="resnet32",
        embedding=vectors,
        device="cpu",
    )
    out = trainer.train_step(x, y)
    term = out["kd"] if method == "kd" else out["distill"]
    assert float(term) == pytest.approx(float(expected[method]), rel=1e-5)
    assert float(out["ce"]) == pytest.approx(float(F.cross_entropy(s_logits, y)), rel=1e-5)
    w = trainer.weights
    total = w["ce"] * out["ce"] + w["kd"] * out["kd"] + w["beta"] * out["distill"]
    assert float(out["loss"]) == pytest.approx(float(total), rel=1e-6)
    crd_weights = {
        "kd": (0.1, 0.9, 0.0),
        "sp": (1, 0, 3000),
        "rkd": (1, 0, 1),
        "at": (1, 0, 1000),
        "pkt": (1, 0, 30000),
        "skd": (1, 0, 0.5),
        "skd+kd": (1, 1, 0.5),
    }
    assert (w["ce"], w["kd"], w["beta"]) == pytest.approx(crd_weights[method])


def test_vgg_at_and_sp_use_post_relu_blocks_1_to_4():
    torch.manual_seed(0)
    student, teacher = create_model("vgg8"), create_model("vgg13").eval()
    assert feature_spec(student).at_stages == ("block1", "block2", "block3", "block4")
    x, y = batch(4)
    with torch.no_grad():
        s_feats, s_last = vgg_features(student.train(), x)
        t_feats, t_last = vgg_features(teacher, x)
    for method, expected in (
        ("at", at_loss_over_layers(s_feats, t_feats)),
        ("sp", sp_loss(s_last, t_last)),
    ):
        torch.manual_seed(1)
        fresh = create_model("vgg8")
        fresh.load_state_dict(student.state_dict())
        trainer = DistillTrainer(
            fresh, DistillConfig(method=method), "vgg8", teacher=teacher, device="cpu"
        )
        assert float(trainer.train_step(x, y)["distill"]) == pytest.approx(
            float(expected), rel=1e-5
        )


def test_a_few_skd_steps_lower_the_skd_loss():
    """SKD alone (no CE) on a fixed batch: the loss falls monotonically towards its floor H(p).

    With the paper's tau = 1 both distributions are close to uniform, so the loss sits only a few
    hundredths of a nat above its floor and its gradient is small; beta = 100 makes eight steps
    visibly move it.
    """
    torch.manual_seed(0)
    vectors = random_vectors([16, 32, 64])
    floor = 0.0
    for v in vectors.values():  # H(p) of the target rows, from the formula, in float64
        v = v.double()
        unit = v / v.norm(dim=1, keepdim=True)
        p = torch.softmax(unit @ unit.T, dim=1)
        floor += float(-(p * p.log()).sum(1).mean()) / len(vectors)
    cfg = DistillConfig(method="skd", ce_weight=0.0, beta=100.0)
    trainer = DistillTrainer(create_model("resnet20"), cfg, "resnet20", embedding=vectors,
                             device="cpu")  # fmt: skip
    x, y = batch(16)
    trainer.student.train()
    losses = [float(trainer.train_step(x, y)["distill"]) for _ in range(8)]
    assert all(b < a for a, b in zip(losses[:-1], losses[1:], strict=True)), losses
    assert losses[0] > floor
    assert (losses[0] - losses[-1]) > 0.1 * (losses[0] - floor), (losses, floor)


# -- pairing errors and configuration -------------------------------------------------------------


def test_mismatched_pair_is_a_clear_error():
    wide = random_vectors(stage_channels("resnet32x4"))
    with pytest.raises(ValueError) as info:
        DistillTrainer(
            create_model("resnet20"),
            DistillConfig(method="skd"),
            "resnet20",
            teacher_name="resnet32x4",
            embedding=wide,
            device="cpu",
        )
    message = str(info.value)
    for part in ("student resnet20 layer 'layer1' has 16 channels", "teacher resnet32x4", "64"):
        assert part in message
    assert "layer 'layer3' has 64 channels" in message and "256 semantic vectors" in message

    wrn = random_vectors([32, 64, 128], names=["block1", "block2", "block3"])
    with pytest.raises(ValueError, match=r"has layers \['block1'.*stage outputs: \['layer1'"):
        DistillTrainer(
            create_model("resnet20"), DistillConfig(method="skd"), "resnet20", embedding=wrn,
            device="cpu",
        )  # fmt: skip

    with pytest.raises(ValueError, match="AT pairs stages by position"):
        DistillTrainer(
            create_model("resnet20"), DistillConfig(method="at"), "resnet20",
            teacher=create_model("vgg13"), teacher_name="vgg13", device="cpu",
        )  # fmt: skip


def test_missing_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="needs the teacher model"):
        DistillTrainer(create_model("resnet20"), DistillConfig(method="kd"), device="cpu")
    with pytest.raises(ValueError, match="needs the teacher's neuron embedding"):
        DistillTrainer(create_model("resnet20"), DistillConfig(method="skd"), device="cpu")
    with pytest.raises(ValueError, match="unknown method 'fitnet'"):
        DistillConfig(method="fitnet")
    with pytest.raises(ValueError, match=r"unknown DistillConfig keys \['lr_steps'\]"):
        DistillConfig.from_dict({"lr_steps": 3})


def test_betas_and_schedule_follow_the_protocol():
    assert default_beta("skd", "vgg13", "vgg8") == 0.05
    assert default_beta("skd", "resnet56", "resnet20") == 0.5
    assert default_beta("at") == 1000 and default_beta("sp") == 3000
    assert default_beta("pkt") == 30000 and default_beta("rkd") == 1
    assert DistillConfig().milestone_epochs() == [150, 180, 210]
    cfg = DistillConfig()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (
        240,
        64,
        0.05,
        0.9,
        5e-4,
    )
    # the vgg13 -> vgg8 beta also comes from an embedding artifact's recorded teacher
    vgg_widths = stage_channels("vgg13")
    names = [f"block{i}" for i in range(5)]
    emb = NeuronEmbedding(random_vectors(vgg_widths, names), {"arch": "vgg13"})
    trainer = DistillTrainer(
        create_model("vgg8"), DistillConfig(method="skd"), "vgg8", embedding=emb, device="cpu"
    )
    assert trainer.weights["beta"] == 0.05 and trainer.teacher_name == "vgg13"


class TinyNet(nn.Module):
    """A CRD-style model small enough to run many epochs in a test."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, 100)
        self.stage_names = ["body"]

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))


def test_lr_follows_the_step_schedule(data):
    _, test = data
    loader = make_loader(test, 40, train=True, device="cpu")
    trainer = DistillTrainer(TinyNet(), DistillConfig(epochs=8), "tiny", device="cpu")
    trainer.fit(loader, loader, progress=False)
    assert DistillConfig(epochs=8).milestone_epochs() == [5, 6, 7]
    lrs = [row["lr"] for row in trainer.summary.history]
    assert lrs == pytest.approx([0.05] * 5 + [0.005, 0.0005, 0.00005])


# -- runs, files and resume ------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", ["torchvision", "device"])
def test_resume_equals_uninterrupted(data, tmp_path, pipeline):
    cfg = DistillConfig(method="skd", epochs=2, seed=3)
    vectors = random_vectors([16, 32, 64])

    def run(out, until=None, init_seed=3):
        torch.manual_seed(init_seed)
        trainer = DistillTrainer(
            create_model("resnet20"), cfg, "resnet20", embedding=vectors, device="cpu"
        )
        trainer.fit(*loaders(data, pipeline), out_dir=out, until=until, progress=False)
        return trainer

    full = run(tmp_path / "full")
    first = run(tmp_path / "cut", until=1)
    assert first.summary.epochs_done == 1 and not (tmp_path / "cut" / "model.pt").exists()
    resumed = run(tmp_path / "cut", init_seed=99)  # a different init: everything comes from disk
    assert resumed.summary.epochs_done == 2 and resumed.summary.complete
    for key, value in full.student.state_dict().items():
        assert torch.equal(value, resumed.student.state_dict()[key]), key
    momentum = [s["momentum_buffer"] for s in full.optimizer.state_dict()["state"].values()]
    again = [s["momentum_buffer"] for s in resumed.optimizer.state_dict()["state"].values()]
    assert all(torch.equal(a, b) for a, b in zip(momentum, again, strict=True))

    def strip(history):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    assert strip(full.summary.history) == strip(resumed.summary.history)


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


def test_evaluate_matches_a_loop_count():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 7))
    x, y = torch.randn(30, 3, 2, 2), torch.randint(0, 7, (30,))
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, 30, 8)]
    logits = net(x).detach()
    top1 = top5 = 0
    for k in range(30):
        order = sorted(range(7), key=lambda c: -float(logits[k, c]))
        top1 += order[0] == int(y[k])
        top5 += int(y[k]) in order[:5]
    r = evaluate(net, batches)
    assert r["n"] == 30
    assert r["top1"] == pytest.approx(100 * top1 / 30) and r["top5"] == pytest.approx(
        100 * top5 / 30
    )
    assert r["loss"] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-6)


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
    assert trainer.teacher_name == "resnet20"
    assert trainer.embedding_meta["channels"] == emb.meta["channels"]
    with pytest.raises(ValueError, match="holds a resnet20, not a resnet56"):
        load_model(path, "resnet56")
