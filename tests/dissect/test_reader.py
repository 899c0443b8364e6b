"""skdlib.dissect.reader: a pass's batches and activations, timed, checked for non-finite
values, on one torch thread for the bookkeeping."""

import pytest
import torch
from torch import nn

from skdlib.data import IMAGENET_MEAN, IMAGENET_STD, make_synthetic_broden, normalise_uint8
from skdlib.dissect import BrodenDataset, collate_broden
from skdlib.dissect.reader import Reader, one_thread
from skdlib.hooks import NonFiniteActivationError
from skdlib.loaders import make_loader


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = make_synthetic_broden(tmp_path_factory.mktemp("r") / "b", 6, size=32, progress=False)
    return BrodenDataset(root)


def _reader(model, ds):
    loader = make_loader(ds, 4, workers=0, collate_fn=collate_broden)
    return Reader(model, ["1"], loader, torch.device("cpu"), IMAGENET_MEAN, IMAGENET_STD, False, ds)


def test_activations_are_the_hooked_layers_on_normalised_images_and_parts_are_timed(ds):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU()).eval()
    reader = _reader(model, ds)
    batches = list(reader.batches("test"))
    assert [len(b["index"]) for b in batches] == [4, 2]
    (acts,) = reader.forward(batches[0], "batch 1")
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = model(normalise_uint8(batches[0]["image"], mean, std))
    assert torch.equal(acts, expected)
    assert set(reader.clock.seconds) == {"data", "forward"}


def test_non_finite_activations_name_the_image_files(ds):
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("1", nn.Identity())

        def forward(self, x):
            y = x.clone()
            y[1, 0, 0, 0] = float("nan")
            return getattr(self, "1")(y)

    reader = _reader(Broken(), ds)
    batch = next(iter(reader.batches("test")))
    with pytest.raises(NonFiniteActivationError) as info:
        reader.forward(batch, "batch 1 of the first pass")
    message = str(info.value)
    assert ds.records[1].image in message and "line 3 of index.csv" in message


def test_one_thread_on_the_cpu_and_restored():
    before = torch.get_num_threads()
    with one_thread(torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
