"""skdlib.distill.feature_losses: each registered loss, through the registry's name for it,
equals its tensor loss on the tapped features (so the adapter adds nothing)."""

import pytest
import torch

from skdlib.distill import DistillConfig, get_method
from skdlib.distill.baselines import at_loss_sum, pkt_loss, rkd_loss, sp_loss
from skdlib.distill.methods import StepInputs
from skdlib.losses import skd_loss_over_layers

G = torch.Generator().manual_seed(0)
S4, T4 = torch.randn(6, 8, 4, 4, generator=G), torch.randn(6, 8, 4, 4, generator=G)
S2, T2 = torch.randn(6, 16, generator=G), torch.randn(6, 16, generator=G)


@pytest.mark.parametrize(
    ("method", "student", "teacher", "reference"),
    [
        ("sp", {"layer3": S4}, {"layer3": T4}, lambda: sp_loss(S4, T4)),
        ("rkd", {"fc:input": S2}, {"fc:input": T2}, lambda: rkd_loss(S2, T2)),
        ("pkt", {"fc:input": S2}, {"fc:input": T2}, lambda: pkt_loss(S2, T2)),
        (
            "at",
            {"a": S4, "b": S4 * 2},
            {"a": T4, "b": T4},
            lambda: at_loss_sum({"a": S4, "b": S4 * 2}, {"a": T4, "b": T4}),
        ),
    ],
)
def test_teacher_guided_losses_are_their_tensor_losses(method, student, teacher, reference):
    step = StepInputs(DistillConfig(method=method))
    got = get_method(method).feature_loss(student, teacher, step)
    assert torch.equal(got, reference())


def test_skd_uses_the_configs_temperature_and_diagonal():
    vectors = {"layer3": torch.randn(8, 4, generator=G)}
    cfg = DistillConfig(method="skd", skd_tau=0.25, skd_exclude_diagonal=True)
    got = get_method("skd").feature_loss({"layer3": S4}, vectors, StepInputs(cfg))
    assert torch.equal(got, skd_loss_over_layers({"layer3": S4}, vectors, 0.25, True))
    assert not torch.equal(got, skd_loss_over_layers({"layer3": S4}, vectors, 1.0, False))


def test_a_method_without_a_loss_says_so():
    with pytest.raises(ValueError, match="method 'kd' has no feature loss"):
        get_method("kd").feature_loss({}, {}, StepInputs(DistillConfig(method="kd")))
