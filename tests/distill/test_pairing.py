"""skdlib.distill.pairing: which method can distil which pair, decided from the registry alone
(no torch), with reasons that name both architectures and what differs."""

import subprocess
import sys

import pytest

from skdlib.distill import METHODS
from skdlib.distill.pairing import fsp_channels, same_feature_count, same_stages
from skdlib.models import CIFAR_ARCHS, PAPER_PAIRS


def test_every_method_accepts_the_six_paper_pairs():
    for teacher, student in PAPER_PAIRS:
        for m in METHODS.values():
            assert m.pair_problem(teacher, student) is None, (m.name, teacher, student)


def test_fsp_needs_equal_channels_of_stem_and_stages():
    problem = fsp_channels("resnet32x4", "resnet20")
    assert "resnet32x4 has [relu: 32, layer1: 64, layer2: 128, layer3: 256]" in problem
    assert "resnet20 [relu: 16, layer1: 16, layer2: 32, layer3: 64]" in problem
    assert fsp_channels("vgg13", "vgg8") is None  # [block0 .. block4] on both sides
    assert "wrn_40_2 has [conv1: 16, block1: 32" in fsp_channels("wrn_40_2", "resnet20")


def test_position_pairing_and_skd_name_what_differs():
    problem = same_feature_count("vgg13", "resnet20")
    assert "vgg13 has 4 (block1, block2, block3, block4)" in problem
    assert "resnet20 has 3 (layer1, layer2, layer3)" in problem
    assert "resnet56 has [layer1: 16, layer2: 32, layer3: 64] and resnet8x4 [layer1: 64" in (
        same_stages("resnet56", "resnet8x4")
    )
    # methods that compare pooled features or logits fit any pair of the zoo
    for name in ("kd", "pkt", "crd", "dkd", "fitnet", "ft", "sp", "cc", "rkd"):
        assert all(
            METHODS[name].pair_problem(t, s) is None for t in CIFAR_ARCHS for s in CIFAR_ARCHS
        )


@pytest.mark.parametrize("method", ["at", "nst", "vid", "ab"])
def test_stage_methods_refuse_a_vgg_resnet_pair(method):
    assert "pairs feature stages by position" in METHODS[method].pair_problem("vgg8", "resnet20")


def test_the_checks_import_no_torch():
    code = "import sys, skdlib.distill.pairing; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
