"""skdlib.dissect.result: a result saves, loads back and writes the tally CSV."""

from __future__ import annotations

import pytest
import torch
from support.dissection import TinyNet, read_csv

from skdlib.dissect import (
    DissectionResult,
    dissect,
)


def test_save_and_load_round_trip_with_tally_csv(small, tmp_path):
    result = dissect(TinyNet(), ["a", "c"], small, quantile=0.9, progress=False)
    path = result.save(tmp_path / "out")
    assert path == tmp_path / "out" / "dissection.pt"
    loaded = DissectionResult.load(tmp_path / "out")
    for name in ("a", "c"):
        assert torch.equal(loaded.iou[name], result.iou[name])
        assert torch.equal(loaded.thresholds[name], result.thresholds[name])
    assert loaded.concept_names == result.concept_names and loaded.meta == result.meta
    rows = read_csv(tmp_path / "out" / "tally_c.csv")
    assert list(rows[0])[:4] == ["unit", "category", "label", "score"]
    assert "texture-intersect" in rows[0] and len(rows) == 5
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    column, score = result.best("c")
    for r in rows:
        unit = int(r["unit"])
        assert r["label"] == result.concept_names[int(column[unit])]
        assert float(r["score"]) == pytest.approx(float(score[unit]), abs=1e-6)
        best_color = result.iou["c"][unit, :10].argmax()
        assert r["color-label"] == result.concept_names[int(best_color)]
        assert int(r["color-truth"]) == int(result.label_area[best_color])
        assert int(r["color-intersect"]) == int(result.intersection["c"][unit, best_color])
        assert int(r["color-activation"]) == int(result.activation_area["c"][unit, 0])
    assert "c: " in result.summary() and "interpretable" in result.summary()
    with pytest.raises(KeyError, match="layer 'b' was not dissected"):
        result.best("b")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot read dissection result"):
        DissectionResult.load(tmp_path / "junk.pt")


def test_a_full_disk_while_writing_a_tally_csv_truncates_nothing(small, tmp_path, monkeypatch):
    """Issue 11, item 2: the CSV was written in place and left at 73 of 513 lines."""
    import errno
    import os

    result = dissect(TinyNet(), ["a", "c"], small, quantile=0.9, progress=False)
    result.save(tmp_path / "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    real_fdopen = os.fdopen

    class FullDisk:
        """A text handle that writes 100 characters, then finds the disk full."""

        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            self.handle.write(text[:100])
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{fd}")
        return FullDisk(handle) if ".tally_c.csv." in name else handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(OSError, match=r"could not write .*tally_c\.csv: no space left on device"):
        result.save(tmp_path / "out")
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert after == before  # the old CSV whole, no temporary file left


def test_save_removes_the_dissections_checkpoint_only_once_everything_is_written(
    small, tmp_path, monkeypatch
):
    import skdlib.dissect.result as result_module

    run = tmp_path / "run"
    result = dissect(TinyNet(), ["a"], small, quantile=0.9, checkpoint=run, progress=False)
    assert result.checkpoint == run / "dissection.ckpt" and result.checkpoint.is_file()

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(result_module, "atomic_write_text", full_disk)
    with pytest.raises(OSError):
        result.save(tmp_path / "out")
    assert result.checkpoint.is_file()  # the CSV failed: the checkpoint is still needed
    monkeypatch.undo()
    result.save(tmp_path / "out")
    assert not (run / "dissection.ckpt").exists() and result.checkpoint is None
    assert DissectionResult.load(tmp_path / "out").checkpoint is None  # not saved itself
