"""skdlib.tutorial.profiles: three profiles, chosen by name or $SKD_PROFILE, each a valid job."""

import dataclasses

import pytest
from torchvision.models import resnet18

from skdlib.distill import METHODS
from skdlib.hooks import resolve_modules
from skdlib.models import CIFAR_ARCHS
from skdlib.tutorial import PROFILES, Profile, default_profile, get_profile


def test_three_profiles_by_name_and_the_environment(monkeypatch):
    assert list(PROFILES) == ["smoke", "quick", "paper"]
    assert all(p.name == name for name, p in PROFILES.items())
    monkeypatch.setenv("SKD_PROFILE", "smoke")
    assert default_profile() == "smoke" and get_profile().name == "smoke"
    monkeypatch.delenv("SKD_PROFILE")
    assert get_profile().name == "quick"
    with pytest.raises(
        ValueError, match="unknown profile 'fast'; choose one of smoke, quick, paper"
    ):
        get_profile("fast")


def test_paper_profile_is_the_papers_setting():
    p = get_profile("paper")
    assert (p.weights, p.broden, p.cifar, p.image_size) == ("imagenet", "real", "real", 224)
    assert (p.dissect_quantile, p.embedding.mode, p.embedding.optimizer, p.embedding.lr) == (
        0.995,
        "minibatch",
        "sgd",
        0.1,
    )
    assert (p.embedding.epochs, p.teacher_arch, p.student_arch, p.student_epochs) == (
        100,
        "resnet32x4",
        "resnet8x4",
        240,
    )


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_names_real_layers_pairs_and_methods(name):
    p = get_profile(name)
    resolve_modules(resnet18(), list(p.layers))  # raises for a layer ResNet18 lacks
    assert p.teacher_arch in CIFAR_ARCHS and p.student_arch in CIFAR_ARCHS
    assert set(p.methods) <= set(METHODS)


def test_profiles_round_trip_json_and_check_types(tmp_path):
    quick = get_profile("quick")
    assert Profile.load(quick.save(tmp_path / "quick.json")) == quick
    with pytest.raises(ValueError, match="key 'image_size': expected int"):
        dataclasses.replace(quick, image_size="112")


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_dissects_at_the_papers_rule_and_repeats_students(name):
    p = get_profile(name)
    assert p.dissect_quantile == 0.995
    assert p.trials >= (3 if name != "smoke" else 2)  # a mean ± std needs several seeds
