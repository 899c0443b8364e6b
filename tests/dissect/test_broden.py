"""skdlib.dissect.broden: hand-written and generated Broden folders read back exactly; missing and
damaged files named.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from support.broden_files import DOOR_LAYER, HANDLE_LAYER, WALL, seg_png
from torch.utils.data import DataLoader

from skdlib.data import (
    CONCEPTS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    PIXEL_CATEGORIES,
    make_synthetic_broden,
    synthetic_broden_scene,
)
from skdlib.dissect import (
    BrodenDataset,
    BrodenFormatError,
    BrodenImages,
    check_broden_layout,
    collate_broden,
)
from skdlib.dissect.broden import IncompleteBrodenError, missing_image_files


def test_hand_written_broden_is_read_exactly(hand):
    ds = BrodenDataset(hand)
    assert ds.categories == ["object", "part", "scene"]
    assert len(ds) == 2  # b has no labels at all and is skipped, as in NetDissect-Lite
    assert [r.image for r in ds.records] == ["src/a.jpg", "src/c.jpg"]
    a = ds[0]
    assert a["image"].dtype == torch.uint8 and a["image"].shape == (3, 8, 8)
    assert torch.equal(a["image"], torch.full((3, 8, 8), 100, dtype=torch.uint8))
    layers = a["pixel_labels"].numpy()
    assert layers.shape == (3, 4, 4)  # the object layer and both part layers
    np.testing.assert_array_equal(layers[0], WALL + DOOR_LAYER)
    np.testing.assert_array_equal(layers[1], DOOR_LAYER)
    np.testing.assert_array_equal(layers[2], HANDLE_LAYER)  # R + 256 G, no uint8 overflow
    assert a["image_labels"].tolist() == [5]
    c = ds[1]
    assert c["pixel_labels"].shape == (0, 4, 4) and c["image_labels"].tolist() == [5]
    assert ds.label(2).categories == {"object": 1, "part": 1}
    assert ds.label_space == 301


def test_split_selection(hand):
    assert [r.image for r in BrodenDataset(hand, split="val").records] == ["src/c.jpg"]
    with pytest.raises(
        ValueError, match=r"no image .* split 'test'.*splits present: \['train', 'val'\]"
    ):
        BrodenDataset(hand, split="test")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gen") / "broden"
    return make_synthetic_broden(root, n_images=20, size=64, seed=5, progress=False)


def test_generated_broden_reads_back_the_generator_truth(generated):
    ds = BrodenDataset(generated)
    assert len(ds) == 20 and len(ds.concepts) == len(CONCEPTS)
    assert [(c.number, c.name, c.category) for c in ds.concepts] == [tuple(c) for c in CONCEPTS]
    multi = 0
    for i in range(len(ds)):
        scene, annotated = synthetic_broden_scene(i, size=64, seed=5)
        sample = ds[i]
        assert torch.equal(sample["image"], torch.from_numpy(np.array(
            Image.open(ds.image_path(i)).convert("RGB"))).permute(2, 0, 1))  # fmt: skip
        expected = [
            layer
            for cat in PIXEL_CATEGORIES
            if annotated[cat]
            for layer in scene.pixel_labels[cat]
            if layer.any()
        ]
        got = sample["pixel_labels"].numpy()
        assert got.shape[0] == len(expected)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g, e)
        whole = [
            n for cat in ("texture", "scene") if annotated[cat] for n in scene.image_labels[cat]
        ]
        assert sample["image_labels"].tolist() == whole
        multi += len(ds.records[i].pixel["part"]) > 1
    assert multi >= 3  # several part layers in one cell
    # empty cells: image 6 has no objects, 3 and 14 no texture, 5, 12 and 19 no scene
    assert ds[6]["pixel_labels"].shape[0] == 0
    assert not any(ds.records[6].pixel.values())
    assert ds.records[3].whole["texture"] == () and ds.records[5].whole["scene"] == ()


def test_category_and_split_filters_on_generated_data(generated):
    textures = BrodenDataset(generated, categories=["texture"])
    assert [r.line - 2 for r in textures.records] == [i for i in range(20) if i % 11 != 3]
    assert all(textures[i]["pixel_labels"].shape[0] == 0 for i in range(2))
    assert {c.category for c in textures.concepts} == {"texture"}
    val = BrodenDataset(generated, split="val")
    assert len(val) == 4 and all(r.split == "val" for r in val.records)


def test_collate_pads_with_unlabelled(generated):
    ds = BrodenDataset(generated)
    loader = DataLoader(ds, batch_size=8, collate_fn=collate_broden)
    batch = next(iter(loader))
    depth = max(ds[i]["pixel_labels"].shape[0] for i in range(8))
    assert batch["image"].shape == (8, 3, 64, 64) and batch["image"].dtype == torch.uint8
    assert batch["pixel_labels"].shape == (8, depth, 32, 32)
    assert batch["image_labels"].shape == (8, 2)
    for j in range(8):
        item = ds[j]
        d = item["pixel_labels"].shape[0]
        assert torch.equal(batch["pixel_labels"][j, :d], item["pixel_labels"])
        assert not batch["pixel_labels"][j, d:].any()
        e = item["image_labels"].numel()
        assert batch["image_labels"][j, :e].tolist() == item["image_labels"].tolist()
        assert not batch["image_labels"][j, e:].any()
    other = dict(ds[0], image=torch.zeros(3, 10, 10, dtype=torch.uint8), path="x.jpg")
    with pytest.raises(ValueError, match=r"must share their sizes: .*000000.jpg.*x.jpg"):
        collate_broden([ds[0], other])


def test_broden_images_apply_the_model_normalisation(generated):
    ds = BrodenDataset(generated)
    x = BrodenImages(ds)[2]
    rgb = np.asarray(Image.open(ds.image_path(2)).convert("RGB"), dtype=np.float64) / 255.0
    expected = (rgb - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(x.permute(1, 2, 0).numpy(), expected, atol=1e-5)
    assert check_broden_layout(generated) == generated


def test_missing_or_damaged_files_name_their_path(hand):
    ds = BrodenDataset(hand)
    image = hand / "images" / "src" / "a.jpg"
    image.write_bytes(b"not a jpeg at all")
    with pytest.raises(BrodenFormatError, match=f"cannot decode image {image}"):
        ds[0]
    image.unlink()
    with pytest.raises(
        FileNotFoundError, match=rf"image {image} \(listed on line 2 of .*index.csv\)"
    ):
        ds[0]
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    png = hand / "images" / "src" / "a_part_1.png"
    png.unlink()
    with pytest.raises(
        FileNotFoundError, match=rf"segmentation image {png} \(column 'part', line 2"
    ):
        ds[0]
    seg_png(png, np.zeros((5, 5), np.int64))
    with pytest.raises(
        BrodenFormatError, match=rf"segmentation {png} is 5x5 but line 2 .* says 4x4"
    ):
        ds[0]
    seg_png(png, np.full((4, 4), 400))
    with pytest.raises(BrodenFormatError, match=rf"{png} holds label number\(s\) \[400\] beyond"):
        ds[0]
    seg_png(png, np.full((4, 4), 9))  # inside the table's range but undefined: no concept
    assert ds[0]["pixel_labels"][2].unique().tolist() == [9] and ds.category_lut()[9] == -1
    png.write_bytes(b"\x89PNG broken")
    with pytest.raises(BrodenFormatError, match=f"cannot decode segmentation image {png}"):
        ds[0]
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(image)
    with pytest.raises(BrodenFormatError, match=rf"image {image} is 6x6 .* says 8x8"):
        ds[0]


def test_the_layout_check_finds_every_missing_file(generated, tmp_path):
    root = shutil.copytree(generated, tmp_path / "broden1_224")
    ds = BrodenDataset(root)
    refs = sum(1 + sum(len(p) for p in r.pixel.values()) for r in ds.index_records)
    assert missing_image_files(root, ds.index_records) == ([], refs)
    images = sorted((root / "images" / "synthetic").glob("*.jpg"))
    for path in images[1::2]:  # half the JPEGs, as an interrupted unzip leaves them
        path.unlink()
    png = ds.index_records[4].pixel["part"][-1]  # and one segmentation layer
    (root / "images" / png).unlink()
    missing, total = missing_image_files(root, ds.index_records)
    assert total == refs
    assert missing[:3] == [("synthetic/000001.jpg", 3), ("synthetic/000003.jpg", 5), (png, 6)]
    assert len(missing) == 11
    with pytest.raises(IncompleteBrodenError) as info:
        check_broden_layout(root)
    err = info.value
    assert isinstance(err, FileNotFoundError) and err.missing == missing and err.total == refs
    assert str(err) == (
        f"the Broden folder {root} is incomplete: 11 of the {refs} image and segmentation files "
        f"named in {root / 'index.csv'} are missing from {root / 'images'}: synthetic/000001.jpg "
        f"(line 3), synthetic/000003.jpg (line 5), {png} (line 6), synthetic/000005.jpg (line 7), "
        "synthetic/000007.jpg (line 9) and 6 more. An interrupted unzip leaves such a folder. "
        f"Delete {root} and run `python -m skdlib download-broden --dest {tmp_path}` again (for "
        "a generated set: generate it again)"
    )
    shutil.rmtree(root / "images" / "synthetic")  # a whole sub-folder gone
    assert len(missing_image_files(root, ds.index_records)[0]) == refs


def test_the_check_covers_images_without_labels(hand):
    assert check_broden_layout(hand) == hand
    (hand / "images" / "src" / "b.jpg").unlink()  # b has no labels: not a dataset record
    assert [r.image for r in BrodenDataset(hand).records] == ["src/a.jpg", "src/c.jpg"]
    with pytest.raises(IncompleteBrodenError, match=r"1 of the 6 .*: src/b.jpg \(line 3\)\. "):
        check_broden_layout(hand)


def test_the_file_check_lists_each_folder_once_and_opens_no_file(generated, monkeypatch):
    """What keeps it fast on Broden's ~63k images and their PNGs: one listing per sub-folder."""
    import builtins
    import os

    records = BrodenDataset(generated).index_records
    listed = []
    real_listdir = os.listdir

    def listdir(path):
        listed.append(Path(path))
        return real_listdir(path)

    def forbidden(*args, **kwargs):
        raise AssertionError(f"the check touched a file: {args}")

    monkeypatch.setattr(os, "listdir", listdir)
    for name in ("stat", "lstat", "scandir"):
        monkeypatch.setattr(os, name, forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)
    missing, total = missing_image_files(generated, records)
    monkeypatch.undo()
    assert missing == [] and total > 2 * len(records)
    assert listed == [generated / "images" / "synthetic"]


def test_reading_decodes_only_what_a_pass_needs(tmp_path):
    """Dissection's first pass reads images only, its second labels only (when the activations
    are cached): the views hold empty images or no labels, and the rest equal the full item."""
    from skdlib.data import make_synthetic_broden

    ds = BrodenDataset(make_synthetic_broden(tmp_path / "b", 6, size=32, progress=False))
    full, images, labels = ds[2], ds.reading(labels=False)[2], ds.reading(image=False)[2]
    assert torch.equal(images["image"], full["image"]) and images["pixel_labels"].shape[0] == 0
    assert images["image_labels"].numel() == 0
    assert labels["image"].shape == (3, 0, 0)
    assert torch.equal(labels["pixel_labels"], full["pixel_labels"])
    assert torch.equal(labels["image_labels"], full["image_labels"])
    assert ds[2]["image"].shape == full["image"].shape  # the data set itself is unchanged
