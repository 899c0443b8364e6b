"""skdlib.broden: the reader on hand-written and generated Broden folders, and its errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from skdlib.broden import (
    BRODEN_URL,
    BrodenDataset,
    BrodenFormatError,
    BrodenImages,
    check_broden_layout,
    collate_broden,
    decode_segmentation,
)
from skdlib.data import (
    CONCEPTS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    PIXEL_CATEGORIES,
    make_synthetic_broden,
    synthetic_broden_scene,
)

# ---------------------------------------------------------------------------------------------
# A tiny Broden written by hand (independent of the generator)
# ---------------------------------------------------------------------------------------------


def _seg_png(path: Path, labels: np.ndarray) -> None:
    rgb = np.zeros(labels.shape + (3,), np.uint8)
    rgb[..., 0] = labels % 256
    rgb[..., 1] = labels // 256
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def _write(path: Path, text: str) -> None:
    path.write_text(text.strip() + "\n")


WALL = np.array([[1, 1, 0, 0]] * 4)
DOOR_LAYER = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0]])
HANDLE_LAYER = np.array([[0, 0, 0, 300]] + [[0, 0, 0, 0]] * 3)  # 300 = 44 + 256 * 1


def write_hand_broden(root: Path) -> Path:
    """Three images: a (object + two part layers + scene), b (no labels), c (scene only)."""
    images = root / "images" / "src"
    images.mkdir(parents=True)
    for name in ("a", "b", "c"):
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(images / f"{name}.jpg")
    _seg_png(images / "a_object.png", WALL + DOOR_LAYER)
    _seg_png(images / "a_part_0.png", DOOR_LAYER)
    _seg_png(images / "a_part_1.png", HANDLE_LAYER)
    _write(
        root / "category.csv",
        """
name,first,last,count,frequency
object,1,2,2,1
part,2,300,2,1
scene,5,5,1,2
""",
    )
    _write(
        root / "label.csv",
        """
number,name,category,frequency,coverage,syns
1,wall,object(1),1,0.5,
2,door,object(1);part(1),1,0.25,entrance;portal
300,handle,part(1),1,0.0625,
5,kitchen,scene(2),2,2.0,
""",
    )
    _write(
        root / "c_object.csv", "code,number,name,frequency,coverage\n1,1,wall,1,0.5\n2,2,door,1,0.1"
    )
    _write(
        root / "c_part.csv",
        "code,number,name,frequency,coverage\n1,2,door,1,0.3\n2,300,handle,1,0.06",
    )
    _write(root / "c_scene.csv", "code,number,name,frequency,coverage\n1,5,kitchen,2,2.0")
    _write(
        root / "index.csv",
        """
image,split,ih,iw,sh,sw,object,part,scene
src/a.jpg,train,8,8,4,4,src/a_object.png,src/a_part_0.png;src/a_part_1.png,5
src/b.jpg,train,8,8,4,4,,,
src/c.jpg,val,8,8,4,4,,,5
""",
    )
    return root


@pytest.fixture()
def hand(tmp_path) -> Path:
    return write_hand_broden(tmp_path / "hand")


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


def test_primary_category_is_the_selected_one_of_largest_coverage(hand):
    everything = BrodenDataset(hand)
    primary = {lab.name: lab.category for lab in everything.concepts}
    assert primary == {"wall": "object", "door": "part", "handle": "part", "kitchen": "scene"}
    lut = everything.category_lut()
    assert lut[[0, 1, 2, 5, 300]].tolist() == [-1, 0, 1, 2, 1]
    no_parts = BrodenDataset(hand, categories=["scene", "object"])  # category.csv order is kept
    assert no_parts.categories == ["object", "scene"]
    assert {lab.name: lab.category for lab in no_parts.concepts} == {
        "wall": "object",
        "door": "object",
        "kitchen": "scene",
    }
    assert no_parts[0]["pixel_labels"].shape == (1, 4, 4)  # part layers are not read


def test_split_selection(hand):
    assert [r.image for r in BrodenDataset(hand, split="val").records] == ["src/c.jpg"]
    with pytest.raises(
        ValueError, match=r"no image .* split 'test'.*splits present: \['train', 'val'\]"
    ):
        BrodenDataset(hand, split="test")


def test_decode_segmentation_uses_int_arithmetic(tmp_path):
    labels = np.array([[0, 255, 256, 1198, 65535]])
    _seg_png(tmp_path / "s.png", labels)
    np.testing.assert_array_equal(decode_segmentation(tmp_path / "s.png"), labels)
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "gray.png")
    with pytest.raises(BrodenFormatError, match=r"gray.png has mode L"):
        decode_segmentation(tmp_path / "gray.png")


# ---------------------------------------------------------------------------------------------
# The generated Broden (multi-layer cells, whole-image labels, empty cells)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_missing_folder_names_place_url_and_helper(tmp_path):
    missing = tmp_path / "data" / "broden1_224"
    with pytest.raises(FileNotFoundError) as info:
        BrodenDataset(missing)
    msg = str(info.value)
    assert str(missing / "index.csv") in msg and "does not exist" in msg
    assert BRODEN_URL in msg
    assert f"python -m skdlib download-broden --dest {tmp_path / 'data'}" in msg
    missing.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="the folder exists but has no index.csv"):
        BrodenDataset(missing)


@pytest.mark.parametrize(
    ("file", "old", "new", "match"),
    [
        ("index.csv", "src/a.jpg,train,8,8,4,4", "src/a.jpg,train,8,eight,4,4",
         r"index.csv line 2: column 'iw' must be an integer"),
        ("index.csv", "src/c.jpg,val,8,8,4,4,,,5", "src/c.jpg,val,8,8,4,4,,5",
         r"index.csv line 4: expected 9 fields"),
        ("index.csv", ",,5\n", ",,kitchen\n",
         r"index.csv line 4: column 'scene' item 'kitchen' is neither a label number nor a .png"),
        ("index.csv", ",,5\n", ",,7\n",
         r"index.csv line 4: column 'scene' names label 7, which label.csv does not define"),
        ("index.csv", "image,split", "img,split", r"index.csv line 1: header .* lacks .*'image'"),
        ("label.csv", "object(1);part(1)", "object;part",
         r"label.csv line 3: category field 'object;part' is not of the form"),
        ("label.csv", "300,handle", "x300,handle",
         r"label.csv line 4: column 'number' must be an integer"),
        ("label.csv", "5,kitchen", "1,kitchen",
         r"label.csv line 5: label number 1 already defined on line 2"),
        ("c_part.csv", "2,300,handle", "2,301,handle",
         r"c_part.csv line 3: label number 301 is not in label.csv"),
    ],
)  # fmt: skip
def test_malformed_rows_name_file_and_line(hand, file, old, new, match):
    path = hand / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(BrodenFormatError, match=match) as info:
        BrodenDataset(hand)
    assert str(path) in str(info.value)


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
    _seg_png(png, np.zeros((5, 5), np.int64))
    with pytest.raises(
        BrodenFormatError, match=rf"segmentation {png} is 5x5 but line 2 .* says 4x4"
    ):
        ds[0]
    _seg_png(png, np.full((4, 4), 400))
    with pytest.raises(BrodenFormatError, match=rf"{png} holds label number\(s\) \[400\] beyond"):
        ds[0]
    _seg_png(png, np.full((4, 4), 9))  # inside the table's range but undefined: no concept
    assert ds[0]["pixel_labels"][2].unique().tolist() == [9] and ds.category_lut()[9] == -1
    png.write_bytes(b"\x89PNG broken")
    with pytest.raises(BrodenFormatError, match=f"cannot decode segmentation image {png}"):
        ds[0]
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(image)
    with pytest.raises(BrodenFormatError, match=rf"image {image} is 6x6 .* says 8x8"):
        ds[0]


def test_missing_tables_and_unknown_categories(hand, tmp_path):
    with pytest.raises(ValueError, match=r"unknown category \['material'\] .* lists \['object'"):
        BrodenDataset(hand, categories=["material"])
    broken = shutil.copytree(hand, tmp_path / "copy")
    (broken / "c_scene.csv").unlink()
    with pytest.raises(FileNotFoundError, match=rf"{broken / 'c_scene.csv'} is missing"):
        BrodenDataset(broken)
    assert len(BrodenDataset(broken, categories=["object"])) == 1  # c_scene.csv not needed
    (broken / "label.csv").write_text("")
    with pytest.raises(BrodenFormatError, match="label.csv line 1: the file is empty"):
        BrodenDataset(broken)
    shutil.rmtree(hand / "images")
    with pytest.raises(FileNotFoundError, match=rf"{hand / 'images'} is missing"):
        check_broden_layout(hand)
