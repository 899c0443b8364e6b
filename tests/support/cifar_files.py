"""CIFAR-100 files in the published python-pickle layout, made from the generated stand-in.

``root/cifar-100-python/{train,test,meta}`` as torchvision reads them: ``data`` uint8
``(N, 3072)`` in channel-major order, ``fine_labels``, ``coarse_labels``; ``meta`` holds
``fine_label_names``. Their md5 differs from the published archive's, so reading them needs
``SKD_CIFAR_CHECKSUM=off``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from skdlib.data import SyntheticCIFAR100


def write_cifar100_pickles(root: Path, train_per_class: int = 2, test_per_class: int = 1) -> Path:
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        ds = SyntheticCIFAR100(n_per_class=per_class, train=split == "train")
        entry = {
            "filenames": [f"{split}_{i}.png" for i in range(len(ds))],
            "batch_label": f"synthetic {split}",
            "fine_labels": list(ds.targets),
            "coarse_labels": [t // 5 for t in ds.targets],
            "data": ds.data.transpose(0, 3, 1, 2).reshape(len(ds), -1),
        }
        (folder / split).write_bytes(pickle.dumps(entry))
    meta = {"fine_label_names": list(ds.classes), "coarse_label_names": [str(i) for i in range(20)]}
    (folder / "meta").write_bytes(pickle.dumps(meta))
    return folder
