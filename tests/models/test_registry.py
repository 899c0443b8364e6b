"""skdlib.models.registry: every architecture declared once, its stages agreeing with the
model itself, and the table readable without torch."""

import subprocess
import sys

import pytest
import torch

from skdlib.models import ARCHITECTURES, CIFAR_ARCHS, PAPER_PAIRS, TORCHVISION_ARCHS, create_model
from skdlib.models.registry import Architecture, get_architecture


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_declared_stages_are_the_models_modules_with_the_declared_widths(name):
    """Hook every declared stage of a freshly built model: each exists and has its width."""
    entry = ARCHITECTURES[name]
    model = create_model(name).eval()
    outputs = {}
    for stage in entry.stages:  # a missing module raises AttributeError here
        model.get_submodule(stage).register_forward_hook(
            lambda _m, _i, out, stage=stage: outputs.__setitem__(stage, out)
        )
    size = 32 if entry.family == "cifar" else 64
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, size, size))
    assert logits.shape == (1, entry.num_classes)
    assert tuple(outputs[s].shape[1] for s in entry.stages) == entry.widths
    assert set(entry.feature_stages) <= set(entry.stages)


def test_the_families_and_the_paper_pairs():
    assert len(CIFAR_ARCHS) == 10 and TORCHVISION_ARCHS == ("resnet18", "resnet34", "resnet50")
    assert {n for pair in PAPER_PAIRS for n in pair} <= set(CIFAR_ARCHS)
    for teacher, student in PAPER_PAIRS:  # every paper pair has equal stage widths
        assert ARCHITECTURES[teacher].widths == ARCHITECTURES[student].widths
    vgg = get_architecture("vgg8")
    assert vgg.preactivation and vgg.feature_stages == vgg.stages[1:]
    assert not get_architecture("resnet8x4").preactivation


def test_unknown_names_suggest_close_ones_and_families_filter():
    with pytest.raises(ValueError, match=r"unknown architecture 'resnet8x5'\. Did you mean"):
        get_architecture("resnet8x5")
    with pytest.raises(ValueError, match="unknown torchvision architecture 'resnet8x4'"):
        get_architecture("resnet8x4", family="torchvision")


def test_an_inconsistent_entry_is_refused():
    with pytest.raises(ValueError, match="2 stages, 1 widths"):
        Architecture("x", "cifar", ("a", "b"), (1,), "m:f", 10, ("a",))
    with pytest.raises(ValueError, match="not all stages"):
        Architecture("x", "cifar", ("a",), (1,), "m:f", 10, ("c",))


def test_reading_the_table_loads_no_torch():
    code = "import sys; from skdlib.models import CIFAR_ARCHS; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", CIFAR_ARCHS)
def test_cifar_entries_declare_crds_stem_head_and_preactivations(name):
    """``stem`` is CRD's feat[0] with ``stem_width`` channels; ``head`` are modules of the model;
    ``preact_taps`` names one pre-activation recipe per feature stage, of existing modules."""
    from skdlib.hooks import capture
    from skdlib.models.registry import ARCHITECTURES as A

    entry = A[name]
    model = create_model(name).eval()
    with torch.no_grad(), capture(model, [entry.stem]) as out:
        model(torch.zeros(1, 3, 32, 32))
    assert out[entry.stem].shape[1] == entry.stem_width
    assert all(model.get_submodule(h) is not None for h in entry.head)
    import pkgutil

    taps = pkgutil.resolve_name(entry.preact_taps)(model)
    assert len(taps) == len(entry.feature_stages)
    for parts, then in taps:
        for part in parts:
            model.get_submodule(part.removesuffix(":input"))
        assert then is None or isinstance(model.get_submodule(then), torch.nn.BatchNorm2d)
