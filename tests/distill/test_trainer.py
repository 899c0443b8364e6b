"""skdlib.distill.trainer: SKD never calls the teacher, every method's term is its loss on the
right features, resume is exact, mismatched pairs fail clearly.
"""

import pytest
import torch
import torch.nn.functional as F
from support.distill_refs import (
    RESNET_STAGES,
    batch,
    by_position,
    loaders,
    random_vectors,
    resnet_features,
    vgg_features,
)
from torch import nn

from skdlib.distill import (
    DistillConfig,
    DistillTrainer,
    at_loss_sum,
    feature_spec,
    get_method,
    kd_loss,
    pkt_loss,
    rkd_loss,
    sp_loss,
)
from skdlib.distill.cifar import cifar_loader
from skdlib.embedding import NeuronEmbedding
from skdlib.losses import skd_loss_over_layers
from skdlib.models import create_model, stage_channels
from skdlib.schedule import milestone_epochs


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


def test_skd_never_calls_the_teacher(data):
    tl, vl = loaders(data)
    for method, expect_calls in (("skd", False), ("kd", True)):
        teacher = CountingTeacher()
        torch.manual_seed(0)
        trainer = DistillTrainer(
            create_model("resnet20"),
            DistillConfig(method=method, epochs=1),
            "resnet20",
            teacher_model=teacher,
            embedding=random_vectors([16, 32, 64]),
            device="cpu",
        )
        trainer.fit(tl, vl, progress=False)
        assert trainer.summary.epochs_done == 1
        assert (teacher.calls > 0) == expect_calls, (method, teacher.calls)
        if method == "skd":
            assert trainer.teacher_model is None


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
        "at": at_loss_sum(by_position(s_feats), by_position(t_feats)),
        "pkt": pkt_loss(s_pooled, t_pooled),
        "skd": skd_loss_over_layers(dict(zip(RESNET_STAGES, s_feats, strict=True)), vectors),
    }
    expected["skd+kd"] = expected["skd"]
    trainer = DistillTrainer(
        student,
        DistillConfig(method=method),
        "resnet20",
        teacher_model=teacher,
        teacher_arch="resnet32",
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
    assert feature_spec(student).feature_stages == ("block1", "block2", "block3", "block4")
    x, y = batch(4)
    with torch.no_grad():
        s_feats, s_last = vgg_features(student.train(), x)
        t_feats, t_last = vgg_features(teacher, x)
    for method, expected in (
        ("at", at_loss_sum(by_position(s_feats), by_position(t_feats))),
        ("sp", sp_loss(s_last, t_last)),
    ):
        torch.manual_seed(1)
        fresh = create_model("vgg8")
        fresh.load_state_dict(student.state_dict())
        trainer = DistillTrainer(
            fresh, DistillConfig(method=method), "vgg8", teacher_model=teacher, device="cpu"
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


def test_mismatched_pair_is_a_clear_error():
    wide = random_vectors(stage_channels("resnet32x4"))
    with pytest.raises(ValueError) as info:
        DistillTrainer(
            create_model("resnet20"),
            DistillConfig(method="skd"),
            "resnet20",
            teacher_arch="resnet32x4",
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

    with pytest.raises(ValueError, match="AT cannot distil vgg13 into resnet20: it pairs feature"):
        DistillTrainer(
            create_model("resnet20"), DistillConfig(method="at"), "resnet20",
            teacher_model=create_model("vgg13"), teacher_arch="vgg13", device="cpu",
        )  # fmt: skip


def test_missing_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="needs the teacher model"):
        DistillTrainer(create_model("resnet20"), DistillConfig(method="kd"), device="cpu")
    with pytest.raises(ValueError, match="needs the teacher's neuron embedding"):
        DistillTrainer(create_model("resnet20"), DistillConfig(method="skd"), device="cpu")
    with pytest.raises(ValueError, match="unknown method 'hint'"):
        DistillConfig(method="hint")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['lr_steps'\] for DistillConfig"):
        DistillConfig.from_dict({"lr_steps": 3})


def test_betas_and_schedule_follow_the_protocol():
    assert get_method("skd").default_beta("vgg13", "vgg8") == 0.05
    assert get_method("skd").default_beta("resnet56", "resnet20") == 0.5
    assert get_method("at").default_beta() == 1000 and get_method("sp").default_beta() == 3000
    assert get_method("pkt").default_beta() == 30000 and get_method("rkd").default_beta() == 1
    cfg = DistillConfig()
    assert milestone_epochs(cfg.milestones, cfg.epochs) == [150, 180, 210]
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
    assert trainer.weights["beta"] == 0.05 and trainer.teacher_arch == "vgg13"


class TinyNet(nn.Module):
    """A CRD-style model small enough to run many epochs in a test."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, 100)
        self.stage_names = ["body"]

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))


def test_lr_follows_the_step_schedule(data, capsys):
    _, test = data
    loader = cifar_loader(test, 40, train=True, device="cpu")
    trainer = DistillTrainer(TinyNet(), DistillConfig(epochs=8), "tiny", device="cpu")
    trainer.fit(loader, loader, progress="epochs")
    assert milestone_epochs(DistillConfig().milestones, 8) == [5, 6, 7]
    lrs = [row["lr"] for row in trainer.summary.history]
    assert lrs == pytest.approx([0.05] * 5 + [0.005, 0.0005, 0.00005])
    # progress="epochs" (``--no-progress``): one line per epoch, a batch log is never silent
    lines = capsys.readouterr().out.splitlines()
    best = [max(r["test_top1"] for r in trainer.summary.history[: i + 1]) for i in range(8)]
    assert lines == [
        f"none tiny: epoch {i + 1}/8 top-1 {row['test_top1']:.2f} best {best[i]:.2f}"
        for i, row in enumerate(trainer.summary.history)
    ]


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


def test_a_diverging_run_stops_and_saves_nothing_of_the_bad_epoch(data, tmp_path):
    import json

    _, test = data
    loader = cifar_loader(test, 40, train=True, device="cpu")
    diverging = DistillTrainer(TinyNet(), DistillConfig(epochs=3, lr=1e30), "tiny", device="cpu")
    with pytest.raises(FloatingPointError, match=r"none tiny: training diverged in epoch 1 "):
        diverging.fit(loader, loader, out_dir=tmp_path / "bad", progress=False)
    saved = (
        sorted(p.name for p in (tmp_path / "bad").iterdir()) if (tmp_path / "bad").exists() else []
    )
    assert not {"model.pt", "best.pt", "checkpoint.pt", "metrics.json"} & set(saved)
    assert not diverging.summary.complete and diverging.summary.epochs_done == 0
    # a good run's metrics are strict JSON (no bare NaN a JSON reader would reject)
    good = DistillTrainer(TinyNet(), DistillConfig(epochs=1), "tiny", device="cpu")
    good.fit(loader, loader, out_dir=tmp_path / "good", progress=False)

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    metrics = json.loads((tmp_path / "good" / "metrics.json").read_text(), parse_constant=refuse)
    assert metrics["complete"] is True


def _two_steps(**flags):
    from support.ddp_run import Student

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    vectors = {
        "layer1": torch.randn(8, 16, generator=g),
        "layer2": torch.randn(16, 16, generator=g),
    }
    trainer = DistillTrainer(Student(), DistillConfig(method="skd", **flags), "student",
                             embedding=vectors, device="cpu")  # fmt: skip
    trainer.student.train()
    x, y = torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 100, (8,), generator=g)
    steps = [trainer.train_step(x, y) for _ in range(2)]
    trainer.close()
    return trainer, steps


def test_speed_flags_keep_the_arithmetic():
    """Issue 13: bf16 autocast, channels-last and torch.compile change speed, not the method."""
    plain, ref = _two_steps()
    last, steps = _two_steps(channels_last=True)
    assert last.student.layer1[0].weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(ref, steps, strict=True):
        torch.testing.assert_close(b["loss"], a["loss"], rtol=1e-5, atol=1e-6)
    half, steps = _two_steps(precision="bf16")
    for a, b in zip(ref, steps, strict=True):
        assert b["distill"].dtype == torch.float32  # the loss itself is float32
        torch.testing.assert_close(b["loss"], a["loss"], rtol=2e-2, atol=1e-3)
        torch.testing.assert_close(b["distill"], a["distill"], rtol=2e-2, atol=1e-3)
    compiled, steps = _two_steps(compile=True)
    for a, b in zip(ref, steps, strict=True):
        torch.testing.assert_close(b["loss"], a["loss"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        compiled.student.fc.weight, plain.student.fc.weight, rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ValueError, match="precision must be 'fp32' or 'bf16', got 'fp16'"):
        DistillConfig(precision="fp16")


def test_a_crd_run_killed_mid_epoch_resumes_to_the_same_weights_and_memory(data, tmp_path):
    """CRD's memory bank (both memories, the normalisers Z) is in the checkpoint: a run killed
    in its second epoch and restarted equals an uninterrupted one, bit for bit."""
    from support.distill_refs import DiesAfter, Killed, assert_same_state

    train_set, test_set = data
    train = cifar_loader(train_set, 20, train=True, device="cpu", with_index=True)
    test = cifar_loader(test_set, 40, train=False, device="cpu")
    cfg = DistillConfig(method="crd", epochs=2, seed=4, settings={"crd": {"nce_k": 16}})
    torch.manual_seed(11)
    teacher = create_model("resnet20")

    def run(out, loader, init_seed=0):
        torch.manual_seed(init_seed)
        trainer = DistillTrainer(create_model("resnet20"), cfg, "resnet20", teacher_model=teacher,
                                 teacher_arch="resnet20", train_targets=train_set.targets,
                                 device="cpu")  # fmt: skip
        trainer.fit(loader, test, out_dir=out, progress=False)
        return trainer

    full = run(tmp_path / "full", DiesAfter(train, 10**6))
    with pytest.raises(Killed):
        run(tmp_path / "cut", DiesAfter(train, 3))  # dies in epoch 2, after its first batch
    resumed = run(tmp_path / "cut", DiesAfter(train, 10**6), init_seed=5)
    memory = resumed.term.modules["memory"]
    assert (memory.z > 0).all() and resumed.summary.complete
    assert_same_state(full.student.state_dict(), resumed.student.state_dict())
    assert_same_state(full.term.modules.state_dict(), resumed.term.modules.state_dict())
    assert_same_state(full.optimizer.state_dict(), resumed.optimizer.state_dict())
    with pytest.raises(ValueError, match="build the training loader with cifar_loader"):
        full.train_step(*batch(4))


def test_methods_with_modules_refuse_several_processes():
    from skdlib.distill.distributed import Distributed

    for method in ("crd", "fitnet", "ab"):
        with pytest.raises(ValueError, match="not synchronised across processes yet"):
            DistillTrainer(
                create_model("resnet20"), DistillConfig(method=method), "resnet20",
                teacher_model=create_model("resnet32"), distributed=Distributed(world=2),
            )  # fmt: skip
