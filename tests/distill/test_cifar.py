"""skdlib.distill.cifar: the batched augmentation matches torchvision, loaders are exact, errors
are clear. The crop offsets and the flip are read back from images that encode each pixel's row
and column (row + 1 in red, column + 1 in green, zero padding = 0), for both the torchvision
transform (one PIL image at a time) and :func:`random_crop_flip` (one batched gather).
"""

from types import SimpleNamespace
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from scipy.stats import chi2
from torch.utils.data import DataLoader
from torchvision import transforms as T

from skdlib.data import SyntheticCIFAR100, normalise_uint8
from skdlib.distill import cifar
from skdlib.distill.cifar import (
    CIFAR100_MEAN,
    CIFAR100_STD,
    CIFAR100_URL,
    DeviceLoader,
    choose_pipeline,
    cifar_loader,
    load_cifar100,
    load_split,
    random_crop_flip,
    train_transform,
)

N_DRAWS = 9000
N_CELLS = 9 * 9 * 2


def coded_image(seed: int = 0) -> np.ndarray:
    """(32, 32, 3) uint8: red = row + 1, green = column + 1, blue = random content."""
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    blue = np.random.default_rng(seed).integers(0, 256, (32, 32))
    return np.stack([rows + 1, cols + 1, blue], axis=-1).astype(np.uint8)


def read_params(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(top, left, flipped) of crops of coded images, from ``(B, 3, 32, 32)`` outputs.

    The centre pixel always lies inside the original image: red there is ``16 + top - 4 + 1``;
    green is ``16 + left - 3`` unflipped and ``15 + left - 3`` flipped (the mirrored column).
    """
    out = out.long()
    flipped = out[:, 1, 16, 17] < out[:, 1, 16, 16]
    top = out[:, 0, 16, 16] - 13
    left = out[:, 1, 16, 16] - 13 + flipped.long()
    return top, left, flipped


def cell_counts(top, left, flipped) -> np.ndarray:
    assert int(top.min()) >= 0 and int(top.max()) <= 8
    assert int(left.min()) >= 0 and int(left.max()) <= 8
    cell = (top * 9 + left) * 2 + flipped.long()
    return np.bincount(cell.numpy(), minlength=N_CELLS)


def torchvision_draws(n: int, seed: int) -> np.ndarray:
    torch.manual_seed(seed)
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.PILToTensor()])
    pil = Image.fromarray(coded_image())
    return torch.stack([tf(pil) for _ in range(n)])


def batched_draws(n: int, seed: int) -> torch.Tensor:
    batch = torch.from_numpy(coded_image()).permute(2, 0, 1).unsqueeze(0).repeat(n, 1, 1, 1)
    return random_crop_flip(batch, padding=4, generator=torch.Generator().manual_seed(seed))


def test_batched_crop_flip_has_the_torchvision_distribution():
    ours = cell_counts(*read_params(batched_draws(N_DRAWS, seed=1)))
    theirs = cell_counts(*read_params(torchvision_draws(N_DRAWS, seed=2)))
    expected = N_DRAWS / N_CELLS
    critical = chi2.ppf(0.9999, N_CELLS - 1)
    # each is uniform over the 9 x 9 offsets x 2 flips ...
    for counts in (ours, theirs):
        assert counts.sum() == N_DRAWS and (counts > 0).all()
        assert ((counts - expected) ** 2 / expected).sum() < critical
    # ... and the two samples are homogeneous (same distribution)
    pooled = (ours + theirs) / 2
    homogeneity = (((ours - pooled) ** 2 + (theirs - pooled) ** 2) / pooled).sum()
    assert homogeneity < critical
    # marginals: offsets uniform on 0..8, flip probability one half
    flips = ours.reshape(81, 2).sum(0)
    assert abs(flips[1] / N_DRAWS - 0.5) < 4 * (0.25 / N_DRAWS) ** 0.5


def test_batched_crop_flip_is_pixel_exact():
    images = np.stack([coded_image(seed) for seed in range(64)])
    batch = torch.from_numpy(images).permute(0, 3, 1, 2)
    out = random_crop_flip(batch, 4, torch.Generator().manual_seed(3))
    tops, lefts, flips = read_params(out)
    assert flips.any() and not flips.all()
    for k in range(64):
        ref = TF.crop(TF.pad(batch[k], [4]), int(tops[k]), int(lefts[k]), 32, 32)
        if flips[k]:
            ref = TF.hflip(ref)
        assert torch.equal(out[k], ref), f"image {k}"


def index_dataset(n: int = 70) -> SimpleNamespace:
    """Image i is filled with the value i, its target is i: batches reveal their indices."""
    data = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 32, 32, 3))
    return SimpleNamespace(data=np.ascontiguousarray(data), targets=list(range(n)))


def loader_indices(loader) -> list[torch.Tensor]:
    out = []
    for x, y in loader:
        raw = (x[:, 0, 5, 5] * CIFAR100_STD[0] + CIFAR100_MEAN[0]) * 255  # inside any crop
        assert torch.equal(raw.round().long(), y), "every image must come with its own target"
        out.append(y)
    return out


def test_device_loader_covers_each_image_once_with_its_target():
    loader = DeviceLoader(index_dataset(), batch_size=16, device="cpu", shuffle=True, augment=True)
    batches = loader_indices(loader)
    assert len(loader) == len(batches) == 5 and [len(b) for b in batches] == [16] * 4 + [6]
    assert sorted(torch.cat(batches).tolist()) == list(range(70))
    drop = DeviceLoader(index_dataset(), 16, "cpu", shuffle=False, augment=False, drop_last=True)
    assert torch.equal(torch.cat(loader_indices(drop)), torch.arange(64))


def test_device_loader_order_follows_the_global_seed():
    loader = DeviceLoader(index_dataset(), batch_size=70, device="cpu")

    def first_batch(seed):
        torch.manual_seed(seed)
        return next(iter(loader))

    a, b, c = first_batch(5), first_batch(5), first_batch(6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_device_loader_rejects_bad_data():
    with pytest.raises(TypeError, match="needs a dataset with .data"):
        DeviceLoader(SimpleNamespace(targets=[0]), device="cpu")
    bad = SimpleNamespace(data=np.zeros((2, 3, 32, 32), np.float32), targets=[0, 1])
    with pytest.raises(ValueError, match=r"must be \(N, H, W, 3\) uint8"):
        DeviceLoader(bad, device="cpu")


def test_pipeline_choice_and_torchvision_loader():
    assert choose_pipeline("auto", torch.device("cuda")) == "device"
    assert choose_pipeline("auto", torch.device("cpu")) == "torchvision"
    with pytest.raises(ValueError, match="pipeline must be"):
        choose_pipeline("fast", torch.device("cpu"))
    ds = load_split("synthetic", train=False, n_per_class=1)
    loader = cifar_loader(ds, batch_size=50, train=False, device="cpu")
    assert isinstance(loader, DataLoader) and ds.transform is None  # the dataset is untouched
    x, y = next(iter(loader))
    ref = normalise_uint8(
        torch.from_numpy(ds.data[:50]).permute(0, 3, 1, 2), CIFAR100_MEAN, CIFAR100_STD
    )
    torch.testing.assert_close(x, ref, rtol=0, atol=2e-6)
    assert y.tolist() == ds.targets[:50]
    dev = cifar_loader(ds, batch_size=50, train=False, device="cpu", pipeline="device")
    torch.testing.assert_close(next(iter(dev))[0], ref, rtol=0, atol=2e-6)
    assert [type(t).__name__ for t in train_transform().transforms][:2] == [
        "RandomCrop",
        "RandomHorizontalFlip",
    ]


def test_synthetic_split_sizes_and_unknown_dataset():
    assert load_split("synthetic", train=True, n_per_class=2).data.shape == (200, 32, 32, 3)
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'"):
        load_split("cifar10")


def test_missing_cifar100_without_download_names_url_and_folder(tmp_path):
    with pytest.raises(RuntimeError) as info:
        load_cifar100(tmp_path, train=False, download=False)
    message = str(info.value)
    assert CIFAR100_URL in message and str(tmp_path / "cifar-100-python") in message
    assert "synthetic" in message


def test_missing_cifar100_offline_names_url_and_folder(tmp_path, monkeypatch):
    def offline(url, *args, **kwargs):
        raise URLError(f"no network for {url}")

    monkeypatch.setattr(cifar.torchvision.datasets.cifar, "download_and_extract_archive", offline)
    with pytest.raises(RuntimeError) as info:
        load_split("cifar100", train=True, root=tmp_path)
    message = str(info.value)
    assert CIFAR100_URL in message and str(tmp_path) in message and "URLError" in message


def test_files_failing_the_md5_check_are_named_not_called_missing(tmp_path, monkeypatch):
    """Issue 11, item 10: present files failing torchvision's md5 check used to be reported as
    "not in data/cifar-100-python/", blaming the download."""
    from support.cifar_files import write_cifar100_pickles

    folder = write_cifar100_pickles(tmp_path)
    monkeypatch.delenv(cifar.CHECKSUM_ENV, raising=False)
    with pytest.raises(RuntimeError) as info:
        load_cifar100(tmp_path, train=True, download=True)
    message = str(info.value)
    assert f"CIFAR-100 is in {folder}/, but train, test, meta fail torchvision's md5" in message
    assert "not in" not in message and f"{cifar.CHECKSUM_ENV}=off" in message
    # the project's own path around the check reads them exactly
    monkeypatch.setenv(cifar.CHECKSUM_ENV, "off")
    train, test = load_cifar100(tmp_path, train=True), load_cifar100(tmp_path, train=False)
    reference = SyntheticCIFAR100(n_per_class=2, train=True)
    assert np.array_equal(train.data, reference.data) and train.targets == reference.targets
    assert len(test) == 100 and train.classes == reference.classes
