"""skdlib.data.datasets: the concept-scene dataset and the 32x32 CIFAR-100 stand-in (learnable)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

from skdlib.data import (
    CLASS_NAMES,
    CONCEPTS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    SyntheticCIFAR100,
    SyntheticConceptImages,
    class_id,
    render_scene,
)


def test_concept_images_dataset() -> None:
    ds = SyntheticConceptImages(6, size=64, seed=3)
    assert len(ds) == 6
    x, y = ds[2]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    s = ds.scene(2)
    # item independent of n and of access order, equal to the documented seeding
    ref = render_scene(np.random.default_rng([3, 2]), size=64)
    np.testing.assert_equal(asdict(s), asdict(ref))
    np.testing.assert_equal(
        asdict(SyntheticConceptImages(100, size=64, seed=3).scene(2)), asdict(s)
    )
    # normalised with ImageNet statistics
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    expect = (torch.from_numpy(s.image).permute(2, 0, 1).float() / 255 - mean) / std
    assert torch.allclose(x, expect, atol=1e-5)
    # target: class of the largest visible object
    k = int(np.argmax(s.areas))
    assert y == class_id(*s.objects[k])
    assert s.areas[k] == max(s.areas) > 0
    # with a transform
    ds_t = SyntheticConceptImages(6, size=64, seed=3, transform=transforms.ToTensor())
    xt, yt = ds_t[2]
    assert yt == y and torch.allclose(xt, torch.from_numpy(s.image).permute(2, 0, 1) / 255)
    with pytest.raises(IndexError):
        ds[6]
    assert len(list(ds)) == 6


@pytest.fixture(scope="module")
def cifar_small() -> tuple[SyntheticCIFAR100, SyntheticCIFAR100]:
    return SyntheticCIFAR100(n_per_class=12, train=True), SyntheticCIFAR100(5, train=False)


def test_cifar_shapes_and_balance(cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100]) -> None:
    train, test = cifar_small
    assert train.data.shape == (1200, 32, 32, 3) and train.data.dtype == np.uint8
    assert test.data.shape == (500, 32, 32, 3)
    assert len(train) == len(train.targets) == 1200
    assert all(isinstance(t, int) for t in train.targets)
    assert Counter(train.targets) == {c: 12 for c in range(100)}
    assert Counter(test.targets) == {c: 5 for c in range(100)}
    assert train.classes == list(CLASS_NAMES)
    img, target = train[5]
    assert isinstance(img, Image.Image) and img.size == (32, 32) and img.mode == "RGB"
    assert target == train.targets[5]
    assert np.array_equal(np.asarray(img), train.data[5])


def test_cifar_train_test_disjoint(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    train, test = cifar_small
    tr = {x.tobytes() for x in train.data}
    te = {x.tobytes() for x in test.data}
    assert len(tr) == len(train.data) and len(te) == len(test.data)  # no duplicates either
    assert not tr & te


def test_cifar_deterministic_and_prefix(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    _, test = cifar_small
    small = SyntheticCIFAR100(3, train=False)
    assert np.array_equal(small.data, test.data[:300])
    assert small.targets == test.targets[:300]
    other = SyntheticCIFAR100(3, train=False, seed=1)
    assert not np.array_equal(small.data, other.data)


def test_cifar_with_torchvision_transform() -> None:
    tf = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
        ]
    )
    ds = SyntheticCIFAR100(1, transform=tf, target_transform=lambda t: t + 1000)
    x, y = ds[7]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y == 1007
    loader = torch.utils.data.DataLoader(ds, batch_size=50)
    xb, yb = next(iter(loader))
    assert xb.shape == (50, 3, 32, 32) and yb.shape == (50,)


def _pooled(data: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) uint8 -> (N, 192) features: 4x4 average pooling."""
    n = len(data)
    return data.astype(np.float32).reshape(n, 8, 4, 8, 4, 3).mean((2, 4)).reshape(n, -1) / 255


def test_colours_separable_by_nearest_class_mean(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    train, test = cifar_small
    xtr, xte = _pooled(train.data), _pooled(test.data)
    ytr, yte = np.array(train.targets) % 10, np.array(test.targets) % 10
    means = np.stack([xtr[ytr == c].mean(0) for c in range(10)])
    pred = ((xte[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    acc = (pred == yte).mean()
    assert acc > 0.45, f"colour NCM accuracy {acc:.2f} (chance 0.10)"


def test_shapes_separable_by_logistic_regression(
    cifar_small: tuple[SyntheticCIFAR100, SyntheticCIFAR100],
) -> None:
    train, test = cifar_small
    torch.manual_seed(0)
    xtr, xte = torch.from_numpy(_pooled(train.data)), torch.from_numpy(_pooled(test.data))
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-3
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    ytr = torch.tensor(train.targets) // 10
    yte = torch.tensor(test.targets) // 10
    w = torch.zeros(xtr.shape[1], 10, requires_grad=True)
    b = torch.zeros(10, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=100)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(xtr @ w + b, ytr) + 1e-3 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    acc = ((xte @ w + b).argmax(1) == yte).float().mean().item()
    assert acc > 0.3, f"shape accuracy {acc:.2f} (chance 0.10)"


def test_concept_targets_list_exactly_the_concepts_in_the_scene() -> None:
    ds = SyntheticConceptImages(5, size=64, seed=2, targets="concepts")
    for i in range(5):
        _, target = ds[i]
        s = ds.scene(i)
        expected = set()
        for layers in s.pixel_labels.values():
            for layer in layers:
                expected.update(int(v) for v in np.unique(layer) if v > 0)
        for nums in s.image_labels.values():
            expected.update(nums)
        assert target.dtype == torch.float32 and target.shape == (len(CONCEPTS),)
        assert {c.number for c in CONCEPTS if target[c.number - 1] == 1} == expected
        assert target.sum() == len(expected)
    with pytest.raises(ValueError, match="targets"):
        SyntheticConceptImages(1, targets="labels")
