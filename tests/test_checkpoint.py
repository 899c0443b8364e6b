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
    with pytest.raises(
        ValueError, match=r"cannot read artifact .*junk.pt: the file is damaged, incomplete"
    ):
        load_artifact(tmp_path / "junk.pt")
    good = atomic_save({"x": torch.arange(100)}, tmp_path / "good.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(good[: len(good) // 2])  # an interrupted copy
    with pytest.raises(
        ValueError, match=r"half.pt: the file is damaged, incomplete .*re-download it"
    ):
        load_artifact(tmp_path / "half.pt")
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


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        pt = atomic_save({"x": 1}, tmp_path / "a.pt")
        md = atomic_write_text(tmp_path / "b.md", "x")
        plain = tmp_path / "c.txt"
        plain.write_text("x")  # what open() gives under the same umask
    finally:
        os.umask(umask)
    expected = plain.stat().st_mode & 0o777
    assert expected == 0o644
    assert pt.stat().st_mode & 0o777 == expected and md.stat().st_mode & 0o777 == expected


@pytest.mark.parametrize(
    "failure",
    [
        OSError(28, "No space left on device"),  # errno.ENOSPC from a plain write
        RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 834304 vs 834200"),
    ],
)
def test_a_full_disk_names_the_file_the_cause_and_the_free_bytes(tmp_path, monkeypatch, failure):
    import errno
    import shutil

    path = atomic_write_text(tmp_path / "r.json", "old")

    def full(obj, handle):
        handle.write(b"partial")
        raise failure

    monkeypatch.setattr(torch, "save", full)  # checkpoint calls torch.save
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(OSError) as info:
        atomic_save({"x": 1}, path)
    message = str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert f"could not write {path}: no space left on device (" in message
    assert "bytes free in" in message
    reported = int(message.split("device (")[1].split(" bytes")[0].replace(",", ""))
    assert abs(reported - free) < 64 * 2**20  # the free space of that disk, give or take
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_other_write_errors_name_the_file(tmp_path, monkeypatch):

    def denied(obj, handle):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(torch, "save", denied)
    with pytest.raises(
        OSError, match=r"could not write .*x\.pt: Permission denied \(.* bytes free"
    ):
        atomic_save({"x": 1}, tmp_path / "x.pt")
