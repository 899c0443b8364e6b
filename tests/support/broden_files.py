"""A tiny Broden folder written by hand, independent of the generator: its files and their truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def seg_png(path: Path, labels: np.ndarray) -> None:
    rgb = np.zeros(labels.shape + (3,), np.uint8)
    rgb[..., 0] = labels % 256
    rgb[..., 1] = labels // 256
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def write_text(path: Path, text: str) -> None:
    path.write_text(text.strip() + "\n")


WALL = np.array([[1, 1, 0, 0]] * 4)


WALL = np.array([[1, 1, 0, 0]] * 4)
DOOR_LAYER = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0]])


DOOR_LAYER = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0]])
HANDLE_LAYER = np.array([[0, 0, 0, 300]] + [[0, 0, 0, 0]] * 3)  # 300 = 44 + 256 * 1


def write_hand_broden(root: Path) -> Path:
    """Three images: a (object + two part layers + scene), b (no labels), c (scene only)."""
    images = root / "images" / "src"
    images.mkdir(parents=True)
    for name in ("a", "b", "c"):
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(images / f"{name}.jpg")
    seg_png(images / "a_object.png", WALL + DOOR_LAYER)
    seg_png(images / "a_part_0.png", DOOR_LAYER)
    seg_png(images / "a_part_1.png", HANDLE_LAYER)
    write_text(
        root / "category.csv",
        """
name,first,last,count,frequency
object,1,2,2,1
part,2,300,2,1
scene,5,5,1,2
""",
    )
    write_text(
        root / "label.csv",
        """
number,name,category,frequency,coverage,syns
1,wall,object(1),1,0.5,
2,door,object(1);part(1),1,0.25,entrance;portal
300,handle,part(1),1,0.0625,
5,kitchen,scene(2),2,2.0,
""",
    )
    write_text(
        root / "c_object.csv", "code,number,name,frequency,coverage\n1,1,wall,1,0.5\n2,2,door,1,0.1"
    )
    write_text(
        root / "c_part.csv",
        "code,number,name,frequency,coverage\n1,2,door,1,0.3\n2,300,handle,1,0.06",
    )
    write_text(root / "c_scene.csv", "code,number,name,frequency,coverage\n1,5,kitchen,2,2.0")
    write_text(
        root / "index.csv",
        """
image,split,ih,iw,sh,sw,object,part,scene
src/a.jpg,train,8,8,4,4,src/a_object.png,src/a_part_0.png;src/a_part_1.png,5
src/b.jpg,train,8,8,4,4,,,
src/c.jpg,val,8,8,4,4,,,5
""",
    )
    return root
