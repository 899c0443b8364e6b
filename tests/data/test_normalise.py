"""skdlib.data.normalise: pixels to model inputs as torchvision's ToTensor + Normalize, and back."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from skdlib.data import IMAGENET_MEAN, IMAGENET_STD, denormalise_uint8, normalise_uint8, to_display
from skdlib.distill.cifar import CIFAR100_MEAN, CIFAR100_STD


def images(n: int = 4, size: int = 9) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("mean", "std"), [(IMAGENET_MEAN, IMAGENET_STD), (CIFAR100_MEAN, CIFAR100_STD)]
)
def test_normalise_matches_torchvision_for_one_image_and_a_batch(mean, std):
    rgb = images()
    reference = torch.stack([T.Normalize(mean, std)(T.ToTensor()(Image.fromarray(x))) for x in rgb])
    batch = torch.from_numpy(rgb).permute(0, 3, 1, 2)
    torch.testing.assert_close(normalise_uint8(batch, mean, std), reference, rtol=0, atol=2e-6)
    torch.testing.assert_close(
        normalise_uint8(batch[1], mean, std), reference[1], rtol=0, atol=2e-6
    )
    cached = (torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1))
    assert torch.equal(normalise_uint8(batch, *cached), normalise_uint8(batch, mean, std))
    assert batch.dtype == torch.uint8  # the input is left alone


def test_denormalise_inverts_and_clips_and_to_display_is_hwc():
    batch = torch.from_numpy(images()).permute(0, 3, 1, 2)
    x = normalise_uint8(batch, IMAGENET_MEAN, IMAGENET_STD)
    assert torch.equal(denormalise_uint8(x, IMAGENET_MEAN, IMAGENET_STD), batch)
    np.testing.assert_array_equal(to_display(x), images())
    far = torch.tensor([100.0, -100.0, 0.0]).view(1, 3, 1, 1)
    assert denormalise_uint8(far, IMAGENET_MEAN, IMAGENET_STD).flatten().tolist() == [255, 0, 104]
