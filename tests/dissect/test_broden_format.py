"""skdlib.dissect.broden_format: the tables, index rows and segmentation images, and the file and
line named for each malformation.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image
from support.broden_files import seg_png

from skdlib.dissect import (
    BRODEN_URL,
    BrodenDataset,
    BrodenFormatError,
    check_broden_layout,
    decode_segmentation,
)


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


def test_decode_segmentation_uses_int_arithmetic(tmp_path):
    labels = np.array([[0, 255, 256, 1198, 65535]])
    seg_png(tmp_path / "s.png", labels)
    np.testing.assert_array_equal(decode_segmentation(tmp_path / "s.png"), labels)
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tmp_path / "gray.png")
    with pytest.raises(BrodenFormatError, match=r"gray.png has mode L"):
        decode_segmentation(tmp_path / "gray.png")


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
        ("label.csv", "300,handle,part(1)", "300,handle,parts(1)",
         r"label.csv line 4: label 300 \('handle'\) is in category \['parts'\], which "
         r"category.csv does not list \(it lists \['object', 'part', 'scene'\]\)"),
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
