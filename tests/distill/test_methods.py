"""skdlib.distill.methods: the registry decides weights, features and teacher use; adding a
method is one entry plus its loss, and the trainer, the CLI and the table take it as it is."""

import pytest
import torch
import torch.nn.functional as F
from support.distill_refs import batch, resnet_features

from skdlib.cli import build_parser
from skdlib.distill import (
    METHODS,
    DistillConfig,
    DistillTrainer,
    Method,
    get_method,
    register,
    render_table1,
)
from skdlib.distill.features import FeatureSpec
from skdlib.models import create_model


def test_the_registry_holds_the_papers_methods_in_order():
    assert list(METHODS) == [
        "none", "kd", "pkt", "crd", "dkd", "fitnet", "at", "vid", "ab", "ft", "nst", "fsp", "sp",
        "cc", "rkd", "skd", "skd+kd",
    ]  # fmt: skip
    assert all(m.name == name for name, m in METHODS.items())


@pytest.mark.parametrize(
    ("name", "teacher_forward", "static", "weights"),
    [
        ("none", False, False, (1.0, 0.0, 0.0)),
        ("kd", True, False, (0.1, 0.9, 0.0)),
        ("skd", False, True, (1.0, 0.0, 0.5)),
        ("skd+kd", True, True, (1.0, 1.0, 0.5)),
        ("sp", True, False, (1.0, 0.0, 3000.0)),
        ("rkd", True, False, (1.0, 0.0, 1.0)),
        ("at", True, False, (1.0, 0.0, 1000.0)),
        ("pkt", True, False, (1.0, 0.0, 30000.0)),
    ],
)
def test_each_entry_knows_whether_the_teacher_runs_and_its_crd_weights(
    name, teacher_forward, static, weights
):
    m = get_method(name)
    assert (m.teacher_forward, m.static) == (teacher_forward, static)
    assert (m.ce_weight, m.kd_weight, m.default_beta("resnet56", "resnet20")) == weights


def test_skd_beta_is_the_papers_for_vgg13_to_vgg8_only():
    for name in ("skd", "skd+kd"):
        assert get_method(name).default_beta("vgg13", "vgg8") == 0.05
        assert get_method(name).default_beta("vgg13", "vgg13") == 0.5
    assert get_method("at").default_beta("vgg13", "vgg8") == 1000.0


def test_taps_name_crd_features():
    spec = FeatureSpec(("b0", "b1", "b2"), ("b1", "b2"), "b2", True, "head")
    assert list(get_method("at").tap_names(spec)) == ["b1", "b2"]
    assert list(get_method("sp").tap_names(spec)) == ["b2"]
    assert list(get_method("rkd").tap_names(spec)) == ["head:input"]
    assert list(get_method("pkt").tap_names(spec)) == ["head:input"]
    assert get_method("skd").taps is None and get_method("kd").taps is None


def test_registry_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown method 'hint'; expected one of none, kd, pkt"):
        get_method("hint")
    with pytest.raises(ValueError, match="already registered"):
        register(Method("kd", "KD", "again"))
    with pytest.raises(ValueError, match="a teacher-guided loss needs taps"):
        register(Method("x", "X", "no taps", loss=lambda s, t, c: s))
    assert "x" not in METHODS


# -- adding a method: one entry plus its loss ---------------------------------------------------


def hint_loss(student, teacher, config):
    """Mean squared error between paired last-stage maps (a FitNets-style hint, equal widths)."""
    (s,), (t,) = student.values(), teacher.values()
    return F.mse_loss(s, t)


@pytest.fixture
def hint():
    """A new method, registered as the docs show, and removed again after the test."""
    method = register(
        Method(
            "hint", "Hint", "MSE between the last stages",
            loss=hint_loss, taps="last_stage", beta=2.0,
        )
    )  # fmt: skip
    yield method
    del METHODS["hint"]


def test_a_registered_method_trains_with_no_other_change(hint):
    assert hint.teacher_forward and not hint.static
    torch.manual_seed(0)
    student, teacher = create_model("resnet20"), create_model("resnet32").eval()
    x, y = batch()
    with torch.no_grad():  # the reference: explicit forward passes, train-mode BN for the student
        s_feats, _, _ = resnet_features(student.train(), x)
        t_feats, _, _ = resnet_features(teacher, x)
    trainer = DistillTrainer(
        student, DistillConfig(method="hint"), "resnet20", teacher_model=teacher, device="cpu"
    )
    out = trainer.train_step(x, y)
    assert float(out["distill"]) == pytest.approx(float(F.mse_loss(s_feats[-1], t_feats[-1])))
    assert trainer.weights == {"ce": 1.0, "kd": 0.0, "beta": 2.0}
    assert float(out["loss"]) == pytest.approx(float(out["ce"] + 2.0 * out["distill"]), rel=1e-6)
    with pytest.raises(ValueError, match="needs the teacher model"):
        DistillTrainer(create_model("resnet20"), DistillConfig(method="hint"), device="cpu")


def test_a_registered_method_reaches_the_cli_and_the_table(hint):
    args = build_parser().parse_args(
        ["distill", "--arch", "resnet20", "--method", "hint", "--out", "x"]
    )
    assert args.method == "hint"
    runs = [
        {"role": "student", "teacher": "resnet56", "student": "resnet20", "method": "hint",
         "trial": 0, "last_top1": 61.0},
    ]  # fmt: skip
    cfg = {"pairs": [["resnet56", "resnet20"]], "methods": ["none", "hint"]}
    table = render_table1({"config": cfg, "runs": runs}).splitlines()
    assert table[-1] == "| Hint | 61.00 (n=1) | — | — |" and table[-2].startswith("| Student |")
