"""skdlib.dissect.resume: a checkpoint is tied to its dissection, saved as asked, read back."""

import torch
from torch import nn

from skdlib.dissect.resume import DissectCheckpoint, fingerprint, weights_digest


def test_weights_digest_sees_every_parameter_and_buffer():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    before = weights_digest(net)
    assert weights_digest(net) == before
    net[1].running_mean[0] += 1e-6  # a buffer, not a parameter
    assert weights_digest(net) != before
    half = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).to(torch.bfloat16)
    assert len(weights_digest(half)) == 16  # any dtype


def test_save_load_throttle_and_remove(tmp_path, monkeypatch):
    import skdlib.dissect.resume as resume

    clock = [100.0]
    monkeypatch.setattr(resume.time, "monotonic", lambda: clock[0])
    net = nn.Conv2d(3, 2, 1)
    mark = fingerprint(net, ["x"], "data/b", 10, {"quantile": 0.995})
    ckpt = DissectCheckpoint(tmp_path / "d.ckpt", mark, every_seconds=60)
    assert ckpt.load() is None  # nothing yet
    thresholds = [torch.tensor([0.5, 1.5])]
    assert not ckpt.save(thresholds, 1)  # within 60 s of the start
    assert ckpt.save(thresholds, 0, force=True)
    clock[0] += 59
    assert not ckpt.save(thresholds, 2, [torch.ones(2, 3)], [torch.ones(2, 2)], torch.ones(3))
    clock[0] += 2
    assert ckpt.save(thresholds, 3, [torch.ones(2, 3)], [torch.ones(2, 2)], torch.ones(3))
    state = DissectCheckpoint(tmp_path / "d.ckpt", mark).load()
    assert state["step"] == 3 and torch.equal(state["thresholds"][0], thresholds[0])
    assert torch.equal(state["intersection"][0], torch.ones(2, 3))
    other = fingerprint(net, ["x"], "data/b", 11, {"quantile": 0.995})
    assert DissectCheckpoint(tmp_path / "d.ckpt", other).load() is None
    ckpt.remove()
    assert not (tmp_path / "d.ckpt").exists()
    ckpt.remove()  # twice is fine


def test_a_folder_holds_dissection_ckpt_and_a_file_is_itself(tmp_path):
    from skdlib.dissect.resume import checkpoint_file

    (tmp_path / "made.v2").mkdir()
    assert checkpoint_file(tmp_path) == tmp_path / "dissection.ckpt"
    assert checkpoint_file(tmp_path / "new") == tmp_path / "new" / "dissection.ckpt"
    assert checkpoint_file(tmp_path / "made.v2") == tmp_path / "made.v2" / "dissection.ckpt"
    assert checkpoint_file(tmp_path / "x.ckpt") == tmp_path / "x.ckpt"
    mark = fingerprint(nn.Conv2d(3, 2, 1), ["x"], "data/b", 10, {})
    DissectCheckpoint(tmp_path / "new", mark).save([torch.zeros(2)], 0, force=True)
    assert (tmp_path / "new" / "dissection.ckpt").is_file()


def test_every_batches_saves_on_the_count_also_after_a_resume(tmp_path, monkeypatch, capsys):
    import pytest

    import skdlib.dissect.resume as resume

    monkeypatch.setattr(resume.time, "monotonic", lambda: 0.0)  # time never triggers a save
    mark = fingerprint(nn.Conv2d(3, 2, 1), ["x"], "data/b", 10, {})
    ckpt = DissectCheckpoint(tmp_path, mark, every_seconds=1e9, every_batches=3)
    t = [torch.zeros(2)]
    assert ckpt.save(t, 0, force=True)
    saved = [step for step in range(1, 9) if ckpt.save(t, step, [t[0]], [t[0]], t[0])]
    assert saved == [3, 6]
    again = DissectCheckpoint(tmp_path, mark, every_seconds=1e9, every_batches=3)
    assert again.load()["step"] == 6
    assert "first pass done, 6 batch(es) of the second tallied" in capsys.readouterr().out
    assert [s for s in range(7, 13) if again.save(t, s, [t[0]], [t[0]], t[0])] == [9, 12]
    with pytest.raises(ValueError, match="every_batches must be at least 1"):
        DissectCheckpoint(tmp_path, mark, every_batches=0)


def test_the_top_images_travel_with_every_save_and_a_checkpoint_of_format_1_is_not_used(
    tmp_path, capsys
):
    """Issue 24: the first pass's top images are in every later save, so a resumed dissection
    has them; a checkpoint of skdlib before them starts the run over, saying so."""
    mark = fingerprint(nn.Conv2d(3, 2, 1), ["x"], "data/b", 10, {})
    ckpt = DissectCheckpoint(tmp_path, mark, every_batches=1)
    top = {"k": 2, "files": ["a.jpg"], "score": {"x": torch.ones(2, 1)}}
    ckpt.top_images = top
    t = [torch.zeros(2)]
    ckpt.save(t, 0, force=True)
    ckpt.save(t, 1, [t[0]], [t[0]], t[0])
    again = DissectCheckpoint(tmp_path, mark)
    state = again.load()
    assert state["step"] == 1 and again.top_images["files"] == ["a.jpg"]
    assert torch.equal(again.top_images["score"]["x"], torch.ones(2, 1))
    saved = torch.load(tmp_path / "dissection.ckpt", weights_only=True)
    torch.save({**saved, "format": "skdlib.dissect-checkpoint/1"}, tmp_path / "dissection.ckpt")
    capsys.readouterr()
    assert DissectCheckpoint(tmp_path, mark).load() is None
    assert "written by another version of skdlib (skdlib.dissect-checkpoint/1); starting over" in (
        capsys.readouterr().out
    )
