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
