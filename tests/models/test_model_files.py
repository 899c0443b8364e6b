"""skdlib.models.model_files: skdlib's model artifact and RepDistiller checkpoints load back
exactly."""

import pytest
import torch

from skdlib.models import create_model, load_model, save_model


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_artifact_round_trip_records_arch_classes_and_info(tmp_path):
    torch.manual_seed(0)
    model = create_model("wrn_16_2", num_classes=10)
    path = save_model(model, "wrn_16_2", tmp_path / "m" / "model.pt", epochs=3)
    back = load_model(path)
    assert type(back).__name__ == "WideResNet" and back.fc.out_features == 10
    assert same_weights(model, back)
    assert load_model(model) is model  # a module passes through
    with pytest.raises(ValueError, match="holds a wrn_16_2, not a resnet20"):
        load_model(path, "resnet20")


def test_repdistiller_checkpoints_need_their_arch(tmp_path):
    torch.manual_seed(0)
    model = create_model("resnet20")
    torch.save({"model": model.state_dict(), "epoch": 240}, tmp_path / "ckpt.pth")
    assert same_weights(model, load_model(tmp_path / "ckpt.pth", "resnet20"))
    with pytest.raises(
        ValueError, match="does not record its architecture: name it with --teacher-arch"
    ):
        load_model(tmp_path / "ckpt.pth")
    # RepDistiller's <model>_last.pth also stores its argparse options: refused, with the fix
    import argparse

    torch.save(
        {"model": model.state_dict(), "opt": argparse.Namespace(lr=0.05)}, tmp_path / "last.pth"
    )
    with pytest.raises(
        ValueError,
        match=r"last.pth: it holds Python objects .* pass its 'ckpt_epoch_240.pth' or",
    ):
        load_model(tmp_path / "last.pth", "resnet20")
    # the same weights saved from nn.DataParallel ("module." prefixes), as multi-GPU runs do
    wrapped = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"model": wrapped, "epoch": 240, "best_acc": 69.1}, tmp_path / "dp.pth")
    assert same_weights(model, load_model(tmp_path / "dp.pth", "resnet20"))
    with pytest.raises(ValueError, match="do not fit a resnet32"):
        load_model(tmp_path / "ckpt.pth", "resnet32")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="neither an skdlib model artifact"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_model(tmp_path / "missing.pt")


def test_another_format_version_is_called_a_version_mismatch(tmp_path):
    path = save_model(create_model("resnet20"), "resnet20", tmp_path / "model.pt")
    state = torch.load(path, weights_only=True)
    torch.save({**state, "format": "skdlib.cifar-model/2", "library_version": "0.7.0"}, path)
    with pytest.raises(ValueError, match="version mismatch") as info:
        load_model(path)
    assert "model artifact of format version 2 (written by skdlib 0.7.0)" in str(info.value)
