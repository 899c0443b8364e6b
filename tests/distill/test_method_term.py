"""skdlib.distill.method_term: a method's hooks give CRD's tensors (pre-activation outputs, the
stem, the hint), its modules are built from their shapes, and each stage trains exactly what
RepDistiller trains, in RepDistiller's train/eval modes."""

import pytest
import torch
from support.distill_refs import batch
from support.repdistiller_refs import crd_features
from torch import nn

from skdlib.distill import DistillConfig, feature_spec, get_method
from skdlib.distill.method_term import MethodTerm
from skdlib.models import create_model


def term(method, student="resnet20", teacher="resnet32", **cfg):
    torch.manual_seed(0)
    s, t = create_model(student), create_model(teacher).eval()
    cfg = DistillConfig(method=method, **cfg)
    labels = torch.zeros(10, dtype=torch.long)
    return MethodTerm(get_method(method), cfg, s, feature_spec(s), t, feature_spec(t),
                      train_targets=labels)  # fmt: skip


@pytest.mark.parametrize("arch", ["resnet8x4", "resnet20", "wrn_16_2", "vgg8"])
def test_preactivation_features_are_crds(arch):
    """AB's features: the residual sums before the last ReLU (resnet, identity and projection
    shortcuts), the batch norm after each group applied again (wrn), the BN outputs (vgg)."""
    tm = term("ab", arch, arch)
    x, _ = batch(4)
    tm.ensure_hooks()
    with torch.no_grad():
        tm.student(x)
        got = tm.student_features("init")
    tm.close()
    with torch.no_grad():
        want, _ = crd_features(tm.student, x, preact=True)
    assert len(got) == len(want) - 2
    for g, w in zip(got.values(), want[1:-1], strict=True):
        torch.testing.assert_close(g, w, rtol=0, atol=0)


@pytest.mark.parametrize("arch", ["resnet20", "wrn_16_2", "vgg8"])
def test_fsp_reads_the_stem_and_the_stages_and_fitnet_the_second_stage(arch):
    x, _ = batch(4)
    for method, pick in (("fsp", slice(0, -1)), ("fitnet", slice(2, 3))):
        tm = term(method, arch, arch)
        tm.student.eval()  # eval mode: both passes see the same batch-norm statistics
        tm.ensure_hooks()
        with torch.no_grad():
            tm.student(x)
            got = tm.student_features("init" if method == "fsp" else "main")
            tm.close()
            want = crd_features(tm.student, x)[0][pick]
        assert len(got) == len(want)
        for g, w in zip(got.values(), want, strict=True):
            torch.testing.assert_close(g, w, rtol=0, atol=0)


def test_modules_are_built_from_a_dummy_forward_in_eval_mode():
    tm = term("vid", "resnet20", "resnet8x4")
    assert tm.student.training and not tm.teacher.training  # the probe restored the modes
    heads = tm.modules["regressors"]
    assert [h.regressor[0].in_channels for h in heads] == [16, 32, 64]
    assert [h.regressor[4].out_channels for h in heads] == [64, 128, 256]
    assert all(bn.num_batches_tracked == 0 for bn in tm.student.modules()
               if isinstance(bn, nn.BatchNorm2d))  # fmt: skip


def test_each_stage_trains_what_repdistiller_trains():
    ab = term("ab", "wrn_16_2", "wrn_40_2")
    ids = {id(p) for p in ab.init_parameters()}
    head = [*ab.student.bn1.parameters(), *ab.student.fc.parameters()]
    assert not any(id(p) in ids for p in head)  # wrn's get_feat_modules() leaves out bn1 and fc
    assert all(id(p) in ids for p in ab.student.block3.parameters())
    assert ab.main_parameters() == []  # the connector is frozen in the main stage
    ab.set_modes("init")
    assert ab.student.block2.training and not ab.student.bn1.training and not ab.student.fc.training
    assert ab.modules["connector"].training
    ab.set_modes("main")
    assert ab.student.bn1.training and not ab.modules["connector"].training

    ft = term("ft", "resnet20", "resnet8x4")
    assert {id(p) for p in ft.init_parameters()} == {
        id(p) for p in ft.modules["paraphraser"].parameters()
    }
    assert {id(p) for p in ft.main_parameters()} == {
        id(p) for p in ft.modules["translator"].parameters()
    }
    ft.set_modes("init")
    assert not ft.student.training and ft.modules["paraphraser"].training
    assert ft.student_taps("init") == [] and ft.teacher_taps("init") == ["layer3"]


def test_a_model_without_declared_preactivations_is_refused():
    class Net(nn.Module):
        stage_names = ["body"]

        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
            self.fc = nn.Linear(4, 100)

        def forward(self, x):
            return self.fc(self.body(x).mean((2, 3)))

    s, t = Net(), Net().eval()
    with pytest.raises(ValueError, match="compares pre-activation outputs .* declares none"):
        MethodTerm(get_method("ab"), DistillConfig(method="ab"), s, feature_spec(s), t,
                   feature_spec(t))  # fmt: skip
