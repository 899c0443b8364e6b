"""skdlib.data.synthetic_broden: the generated Broden's files, statistics and determinism."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skdlib.data import (
    CATEGORIES,
    CONCEPTS,
    IMAGE_CATEGORIES,
    PIXEL_CATEGORIES,
    make_synthetic_broden,
    synthetic_broden_scene,
)
from skdlib.data.synthetic_broden import PARAMS_FILE
from skdlib.dissect import BrodenDataset

N, SIZE, SEED = 16, 48, 3


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return make_synthetic_broden(
        tmp_path_factory.mktemp("sb") / "b", N, size=SIZE, seed=SEED, progress=False
    )


def test_layout_and_tables_match_the_png_files(root):
    """Recount frequency, coverage and category statistics from the written files."""
    assert (root / "images" / "synthetic").is_dir()
    index = _rows(root / "index.csv")
    assert list(index[0]) == ["image", "split", "ih", "iw", "sh", "sw", *CATEGORIES]
    assert len(index) == N
    freq, cover, cat_freq = Counter(), Counter(), Counter()
    for row in index:
        assert (row["ih"], row["iw"], row["sh"], row["sw"]) == ("48", "48", "24", "24")
        present = set()
        for cat in PIXEL_CATEGORIES:
            for rel in filter(None, row[cat].split(";")):
                rgb = np.asarray(Image.open(root / "images" / rel)).astype(np.int64)
                labels = rgb[..., 0] + 256 * rgb[..., 1]
                assert labels.shape == (24, 24) and not rgb[..., 2].any()
                for n in np.unique(labels[labels > 0]).tolist():
                    cover[n] += (labels == n).mean()
                    present.add(n)
            cat_freq[cat] += bool(row[cat])
        for cat in IMAGE_CATEGORIES:
            for n in map(int, filter(None, row[cat].split(";"))):
                cover[n] += 1.0
                present.add(n)
            cat_freq[cat] += bool(row[cat])
        freq.update(present)
    labels = _rows(root / "label.csv")
    assert [int(r["number"]) for r in labels] == [c.number for c in CONCEPTS]
    for r, c in zip(labels, CONCEPTS, strict=True):
        assert r["name"] == c.name and r["category"] == f"{c.category}({freq[c.number]})"
        assert int(r["frequency"]) == freq[c.number]
        assert float(r["coverage"]) == pytest.approx(cover[c.number], abs=1e-6)
    for r in _rows(root / "category.csv"):
        members = [c.number for c in CONCEPTS if c.category == r["name"]]
        assert (int(r["first"]), int(r["last"]), int(r["count"])) == (
            min(members), max(members), len(members))  # fmt: skip
        assert int(r["frequency"]) == cat_freq[r["name"]]
        codes = _rows(root / f"c_{r['name']}.csv")
        assert [int(x["code"]) for x in codes] == list(range(1, len(members) + 1))
        assert [int(x["number"]) for x in codes] == members
    splits = [r["split"] for r in index]
    assert splits == ["train"] * 13 + ["val"] * 3  # the last 20 %


def test_pngs_hold_the_generator_labels_and_the_jpegs_its_images(root):
    index = _rows(root / "index.csv")
    for i in (0, 1, 6, 7):
        scene, annotated = synthetic_broden_scene(i, SIZE, SEED)
        row = index[i]
        for cat in PIXEL_CATEGORIES:
            paths = [p for p in row[cat].split(";") if p]
            truth = [a for a in scene.pixel_labels[cat] if a.any()] if annotated[cat] else []
            assert len(paths) == len(truth)
            for rel, layer in zip(paths, truth, strict=True):
                rgb = np.asarray(Image.open(root / "images" / rel)).astype(np.int64)
                np.testing.assert_array_equal(rgb[..., 0] + 256 * rgb[..., 1], layer)
        jpeg = np.asarray(Image.open(root / "images" / row["image"]).convert("RGB"), np.float64)
        assert np.abs(jpeg - scene.image).mean() < 4.0  # quality 95, no chroma subsampling
    assert index[6]["color"] == index[6]["object"] == index[6]["part"] == ""
    assert index[3]["texture"] == "" and index[5]["scene"] == "" and index[12]["scene"] == ""
    assert any(";" in row["part"] for row in index)


def test_deterministic_by_seed_and_idempotent(root, tmp_path):
    again = make_synthetic_broden(tmp_path / "again", N, size=SIZE, seed=SEED, progress=False)
    assert _files(again) == _files(root)
    other = make_synthetic_broden(tmp_path / "other", N, size=SIZE, seed=SEED + 1, progress=False)
    assert (
        _files(other)["images/synthetic/000000.jpg"] != _files(root)["images/synthetic/000000.jpg"]
    )
    stamp = (again / "index.csv").stat().st_mtime_ns
    assert make_synthetic_broden(again, N, size=SIZE, seed=SEED, progress=False) == again
    assert (again / "index.csv").stat().st_mtime_ns == stamp  # same arguments: nothing rewritten
    with pytest.raises(FileExistsError, match=r"made with .*'seed': 3.* not .*'seed': 4"):
        make_synthetic_broden(again, N, size=SIZE, seed=SEED + 1, progress=False)
    make_synthetic_broden(again, 4, size=SIZE, seed=SEED, overwrite=True, progress=False)
    assert len(BrodenDataset(again)) == 4 and '"n_images": 4' in (again / PARAMS_FILE).read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    with pytest.raises(ValueError, match="n_images must be >= 1"):
        make_synthetic_broden(tmp_path / "x", 0)


def test_a_run_finishing_second_keeps_the_first_runs_folder(root, tmp_path, monkeypatch):
    from skdlib.data import synthetic_broden

    target = tmp_path / "shared"
    real_write = synthetic_broden._write
    finished = {}

    def write_while_another_run_finishes(tmp, *args):
        real_write(tmp, *args)
        if not finished:  # the other run completes the folder while this one is still writing
            finished["stamp"] = True
            make_synthetic_broden(target, N, size=SIZE, seed=SEED, progress=False)
            finished["files"] = _files(target)
            finished["inode"] = (target / "index.csv").stat().st_ino

    monkeypatch.setattr(synthetic_broden, "_write", write_while_another_run_finishes)
    assert make_synthetic_broden(target, N, size=SIZE, seed=SEED, progress=False) == target
    assert (target / "index.csv").stat().st_ino == finished["inode"]  # not deleted and replaced
    assert _files(target) == finished["files"] == _files(root)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # our copy discarded
    # a different data set appearing meanwhile is an error, and leaves that folder alone
    finished.clear()
    other = tmp_path / "other"

    def another_set_appears(tmp, *args):
        real_write(tmp, *args)
        if not finished:
            finished["stamp"] = True
            make_synthetic_broden(other, 3, size=SIZE, seed=SEED, progress=False)

    monkeypatch.setattr(synthetic_broden, "_write", another_set_appears)
    with pytest.raises(FileExistsError, match="was created by another run while this one"):
        make_synthetic_broden(other, N, size=SIZE, seed=SEED, progress=False)
    assert len(BrodenDataset(other)) == 3


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(tmp_path):
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    abandoned = tmp_path / f".b.tmp-{int(dead.stdout)}-x1y2"
    (abandoned / "images").mkdir(parents=True)
    running = tmp_path / f".b.tmp-{os.getpid()}-z3"  # a live process: maybe still writing
    running.mkdir()
    make_synthetic_broden(tmp_path / "b", 2, size=SIZE, seed=SEED, progress=False)
    assert not abandoned.exists() and running.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name, "b"]


def test_broden_statistics_write_every_source_and_tables_counted_from_the_files(tmp_path):
    """``statistics="broden"``: images under ``images/<source>/``, the real index.csv columns,
    and label.csv / c_<cat>.csv frequencies equal to counts taken from the PNGs themselves
    (a label of two categories is counted in each, ``cat(n);cat2(m)``)."""
    root = make_synthetic_broden(tmp_path / "ms", 30, size=48, seed=2, statistics="broden",
                                 progress=False)  # fmt: skip
    with open(root / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[6:] == ["color", "object", "material", "part", "scene", "texture"]
    assert {r["image"].split("/")[0] for r in rows} <= {"ade", "pascal", "opensurfaces", "dtd"}
    counted: Counter = Counter()
    for r in rows:
        source = r["image"].split("/")[0]
        assert all(r[c] for c in ("color",)) and not (source == "dtd" and r["object"])
        for cat in ("color", "object", "material", "part"):
            seen = set()
            for png in filter(None, r[cat].split(";")):
                rgb = np.asarray(Image.open(root / "images" / png)).astype(np.int64)
                labels = rgb[..., 0] + 256 * rgb[..., 1]
                seen |= set(np.unique(labels[labels > 0]).tolist())
            counted.update((n, cat) for n in seen)
        for cat in ("scene", "texture"):
            counted.update((int(n), cat) for n in filter(None, r[cat].split(";")))
    with open(root / "label.csv", newline="") as f:
        labels = list(csv.DictReader(f))
    assert len(labels) == 1070
    for row in labels:
        per_cat = dict(re.findall(r"(\w+)\((\d+)\)", row["category"]))
        for cat, n in per_cat.items():
            assert int(n) == counted[int(row["number"]), cat], row
        assert int(row["frequency"]) == sum(int(n) for n in per_cat.values())
    ds = BrodenDataset(root)
    assert len(ds) == 30 and len(ds.concepts) == 1070 and len(ds.categories) == 6
    assert (root / PARAMS_FILE).read_text() != ""
    with pytest.raises(ValueError, match="statistics must be one of"):
        make_synthetic_broden(tmp_path / "x", 2, statistics="real")
