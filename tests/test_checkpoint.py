"""skdlib.checkpoint: atomic writes never leave half a file, and bad files are named."""

import pytest
import torch

from skdlib.checkpoint import (
    atomic_save,
    atomic_write_text,
    csv_text,
    load_artifact,
    load_checkpoint,
)


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = atomic_save({"x": torch.arange(3)}, tmp_path / "sub" / "a.pt")
    with pytest.raises(RuntimeError, match="cannot pickle"):
        atomic_save({"x": Unpicklable()}, path)
    assert torch.equal(load_artifact(path)["x"], torch.arange(3))
    assert [p.name for p in path.parent.iterdir()] == ["a.pt"]
    text = atomic_write_text(tmp_path / "t.md", "# one\n")
    assert text.read_text() == "# one\n"


def test_csv_text_matches_the_csv_module_dialect():
    assert csv_text([{"a": 1, "b": "x,y"}, {"a": 2, "b": ""}]) == 'a,b\r\n1,"x,y"\r\n2,\r\n'
    assert csv_text([]) == ""


def test_load_artifact_and_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model not found: .*nope.pt"):
        load_artifact(tmp_path / "nope.pt", "model")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot read artifact .*junk.pt"):
        load_artifact(tmp_path / "junk.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="is not an skdlib artifact \\(found list\\)"):
        load_artifact(tmp_path / "list.pt")
    state = {"format": "f/1", "signature": {"lr": 0.1}}
    path = atomic_save(state, tmp_path / "ckpt.pt")
    assert load_checkpoint(path, "f/1", {"lr": 0.1}, "checkpoint", "hint")["format"] == "f/1"
    with pytest.raises(ValueError, match="is not an skdlib checkpoint"):
        load_checkpoint(path, "g/1", {"lr": 0.1}, "checkpoint", "hint")
    with pytest.raises(
        ValueError, match=r"different run:\n  checkpoint: \{'lr': 0.1\}\n.*0.2.*\nhint"
    ):
        load_checkpoint(path, "f/1", {"lr": 0.2}, "checkpoint", "hint")
