"""skdlib.data.synthetic_imagefolder: balanced classes in ImageNet's layout, written once."""

import numpy as np
import torchvision
from PIL import Image

from skdlib.data import CLASS_NAMES, make_synthetic_imagefolder


def test_layout_balance_and_disjoint_splits(tmp_path):
    root = make_synthetic_imagefolder(tmp_path / "f", classes=3, per_class=4, size=48,
                                      progress=False)  # fmt: skip
    train = torchvision.datasets.ImageFolder(root / "train")
    val = torchvision.datasets.ImageFolder(root / "val")
    assert train.classes == [f"{c:03d}_{CLASS_NAMES[c].replace(' ', '_')}" for c in range(3)]
    assert np.bincount(train.targets).tolist() == [4, 4, 4]
    assert np.bincount(val.targets).tolist() == [1, 1, 1]
    first = np.asarray(Image.open(train.samples[0][0]))
    assert first.shape == (48, 48, 3)
    train_bytes = {open(p, "rb").read() for p, _ in train.samples}
    assert not any(open(p, "rb").read() in train_bytes for p, _ in val.samples)
    # written once: a second call keeps the files
    stamp = (root / "train").stat().st_mtime_ns, train.samples[0][0]
    again = make_synthetic_imagefolder(tmp_path / "f", classes=3, per_class=4, size=48,
                                       progress=False)  # fmt: skip
    assert again == root and (root / "train").stat().st_mtime_ns == stamp[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
