"""Shared pieces of the distillation tests: small data, random semantic vectors, and CRD feature
lists computed by explicit forward passes (the independent reference of what the hooks must
see).
"""

import copy

import torch
import torch.nn.functional as F

from skdlib.distill.cifar import cifar_loader

RESNET_STAGES = ["layer1", "layer2", "layer3"]


def head(dataset, n):
    """The first ``n`` images of a split (a shallow copy sharing the arrays)."""
    part = copy.copy(dataset)
    part.data, part.targets = dataset.data[:n], dataset.targets[:n]
    return part


def loaders(data, pipeline="torchvision"):
    train, test = data
    return (
        cifar_loader(train, 20, train=True, device="cpu", pipeline=pipeline),
        cifar_loader(test, 40, train=False, device="cpu", pipeline=pipeline),
    )


def by_position(feats):
    """A list of features as the ``{name: tensor}`` the losses take (paired by position)."""
    return {f"f{i}": f for i, f in enumerate(feats)}


def random_vectors(widths, names=RESNET_STAGES, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(c, 16, generator=g) for n, c in zip(names, widths, strict=True)}


def batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 100, (n,), generator=g)


def resnet_features(model, x):
    """CRD's feature list of a CIFAR resnet, by an explicit forward pass: stages and pooled."""
    h = model.relu(model.bn1(model.conv1(x)))
    f1 = model.layer1(h)
    f2 = model.layer2(f1)
    f3 = model.layer3(f2)
    return (
        [f1, f2, f3],
        torch.flatten(model.avgpool(f3), 1),
        model.fc(torch.flatten(model.avgpool(f3), 1)),
    )


def vgg_features(model, x):
    """CRD's post-ReLU features of a VGG (``f1..f4``) by an explicit forward pass."""
    h = model.pool0(F.relu(model.block0(x)))
    f1 = F.relu(model.block1(h))
    f2 = F.relu(model.block2(model.pool1(f1)))
    f3 = F.relu(model.block3(model.pool2(f2)))
    f4 = F.relu(model.block4(f3))
    return [f1, f2, f3, f4], f4


class Killed(RuntimeError):
    """What :class:`DiesAfter` raises: the run stops there, like a killed process."""


class DiesAfter:
    """A training loader that "kills the run" (raises :class:`Killed`) once ``batches`` batches
    have been served in total, over any number of epochs; ``dataset`` is the loader's."""

    def __init__(self, loader, batches):
        self.loader, self.left = loader, batches
        self.dataset = getattr(loader, "dataset", None)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for item in self.loader:
            if self.left <= 0:
                raise Killed("the run was killed here")
            self.left -= 1
            yield item


def assert_same_state(a, b):
    """Two state dicts (or optimizer state dicts) hold the same tensors, bit for bit."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same_state(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_state(x, y)
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    else:
        assert a == b
