"""CIFAR-100 under the CRD protocol: datasets, augmentation, and two input pipelines.

* :func:`load_split` gives the training or test split of ``"cifar100"`` (torchvision, stored in
  ``data/cifar-100-python/``) or of ``"synthetic"``, the generated 100-class 32×32 stand-in
  :class:`skdlib.data.SyntheticCIFAR100` (shapes × colours, the same concept family as the
  generated Broden). Both have ``.data`` ``(N, 32, 32, 3)`` uint8 and ``.targets``.
* :func:`train_transform` / :func:`eval_transform`: CRD augmentation (``RandomCrop(32,
  padding=4)`` + horizontal flip) and normalisation (CIFAR-100 mean / std), as torchvision
  transforms.
* :func:`cifar_loader` chooses the pipeline: on CUDA the **device-resident** :class:`DeviceLoader`
  (the whole split on the GPU as uint8, crops and flips as batched tensor ops, no workers); on the
  CPU a torchvision ``DataLoader`` with the transforms above. Both draw their randomness from
  torch's global RNG when an epoch starts, so seeding it per epoch makes runs reproducible.
  With ``with_index=True`` each batch also carries the images' indices in the split
  ``(images, targets, index)``, which CRD's memory bank needs.

Example:
    >>> train = load_split("synthetic", train=True, n_per_class=1)
    >>> x, y = next(iter(cifar_loader(train, batch_size=8, train=True, device="cpu")))
    >>> tuple(x.shape), x.dtype, tuple(y.shape)
    ((8, 3, 32, 32), torch.float32, (8,))
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data.distributed import DistributedSampler
from torchvision import transforms as T

from ..data import SyntheticCIFAR100
from ..data.normalise import normalise_uint8
from ..loaders import make_loader
from ..runtime import resolve_device
from .config import DATASETS, PIPELINES
from .distributed import Distributed

__all__ = [
    "CIFAR100_MEAN",
    "CIFAR100_STD",
    "CIFAR100_URL",
    "CHECKSUM_ENV",
    "DeviceLoader",
    "IndexedDataset",
    "choose_pipeline",
    "load_cifar100",
    "load_split",
    "cifar_loader",
    "random_crop_flip",
    "eval_transform",
    "train_transform",
]

#: Per-channel mean and std of the CIFAR-100 training images (CRD's normalisation).
CIFAR100_MEAN = (0.5071, 0.4867, 0.4408)
CIFAR100_STD = (0.2675, 0.2565, 0.2761)

#: Where torchvision downloads CIFAR-100 from (~161 MB, unpacks to ``cifar-100-python/``).
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"


#: Images per class of the synthetic stand-in when none is given: a quick-to-generate set.
SYNTHETIC_TRAIN_PER_CLASS = 50
SYNTHETIC_TEST_PER_CLASS = 10


def train_transform() -> T.Compose:
    """CRD training augmentation: ``RandomCrop(32, padding=4)``, flip, tensor, normalise.

    Example:
        >>> from PIL import Image
        >>> train_transform()(Image.new("RGB", (32, 32))).shape
        torch.Size([3, 32, 32])
    """
    return T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(CIFAR100_MEAN, CIFAR100_STD),
        ]
    )


def eval_transform() -> T.Compose:
    """CRD test preprocessing: tensor and normalise only."""
    return T.Compose([T.ToTensor(), T.Normalize(CIFAR100_MEAN, CIFAR100_STD)])


#: Set to ``off`` to read CIFAR-100 files whose md5 differs from the published archive's (files
#: made in its layout, e.g. by the test suite); the real files always pass the check.
CHECKSUM_ENV = "SKD_CIFAR_CHECKSUM"


class _UncheckedCIFAR100(torchvision.datasets.CIFAR100):
    """torchvision's reader with its md5 checks off (only with ``SKD_CIFAR_CHECKSUM=off``)."""

    meta = {**torchvision.datasets.CIFAR100.meta, "md5": None}  # None: the file must exist

    def _check_integrity(self) -> bool:
        return True


def _failing_checksums(folder: Path) -> list[str]:
    from torchvision.datasets.utils import check_integrity

    reader = torchvision.datasets.CIFAR100
    files = [*reader.train_list, *reader.test_list, [reader.meta["filename"], reader.meta["md5"]]]
    return [name for name, md5 in files if not check_integrity(str(folder / name), md5)]


def load_cifar100(
    root: str | os.PathLike = "data", train: bool = True, download: bool = True
) -> torchvision.datasets.CIFAR100:
    """The real CIFAR-100 split via torchvision, stored under ``root/cifar-100-python/``.

    Returned without a transform (``.data`` uint8 ``(N, 32, 32, 3)``, ``.targets``); pipelines set
    their own (see :func:`make_loader`). torchvision checks every file's md5 against the
    published archive; files that are there but fail it are reported as such (damaged,
    incomplete or another version), never as missing. ``SKD_CIFAR_CHECKSUM=off`` reads files in
    the same layout without that check (the test suite's stand-in files).

    Raises:
        RuntimeError: the data is not in ``root`` and cannot be downloaded (e.g. offline) — the
            message names the URL, the target folder and the offline alternative — or its files
            fail the md5 check (the message names them).

    Example (needs the data or a network)::

        ds = load_cifar100("data", train=False)
        ds.data.shape  # (10000, 32, 32, 3)
    """
    root = Path(root)
    folder = root / "cifar-100-python"
    present = all((folder / name).is_file() for name in ("train", "test", "meta"))
    if present and os.environ.get(CHECKSUM_ENV, "").lower() == "off":
        return _UncheckedCIFAR100(str(root), train=train, download=False)
    if present and (failing := _failing_checksums(folder)):
        raise RuntimeError(
            f"CIFAR-100 is in {folder}/, but {', '.join(failing)} "
            f"{'fails' if len(failing) == 1 else 'fail'} torchvision's md5 check against the "
            f"published archive: the files are damaged, incomplete or of another version. Delete "
            f"{folder} and download {CIFAR100_URL} again (unpack it into {root}/); to read files "
            f"you made yourself in this layout, set {CHECKSUM_ENV}=off."
        )
    try:
        return torchvision.datasets.CIFAR100(str(root), train=train, download=download)
    except Exception as exc:  # noqa: BLE001 - network and integrity failures get the same advice
        raise RuntimeError(
            f"CIFAR-100 is not in {folder}/ and could not be "
            f"{'downloaded' if download else 'used (download=False)'} "
            f"({type(exc).__name__}: {exc}). Download {CIFAR100_URL} (~161 MB) and unpack it into "
            f"{root}/ so that {folder}/train and {folder}/test exist (e.g. `tar -xzf "
            f"cifar-100-python.tar.gz -C {root}`), or use data='synthetic' for the generated "
            "offline stand-in."
        ) from exc


def load_split(
    data: str = "cifar100",
    train: bool = True,
    root: str | os.PathLike = "data",
    n_per_class: int | None = None,
    seed: int = 0,
    download: bool = True,
):
    """One split of ``"cifar100"`` or of the ``"synthetic"`` stand-in, without a transform.

    Args:
        data: ``"cifar100"`` (torchvision, into ``root``) or ``"synthetic"``.
        train: training (True) or test split.
        root: data folder for CIFAR-100.
        n_per_class: synthetic images per class (default 50 train / 10 test); ignored for
            CIFAR-100 (500 / 100 per class).
        seed: seed of the synthetic generator.
        download: let torchvision download CIFAR-100 when it is missing.

    Returns:
        A dataset with ``.data`` ``(N, 32, 32, 3)`` uint8, ``.targets`` (N ints) and ``.classes``.

    Example:
        >>> load_split("synthetic", train=False, n_per_class=2).data.shape
        (200, 32, 32, 3)
    """
    if data == "cifar100":
        return load_cifar100(root, train=train, download=download)
    if data == "synthetic":
        if n_per_class is None:
            n_per_class = SYNTHETIC_TRAIN_PER_CLASS if train else SYNTHETIC_TEST_PER_CLASS
        return SyntheticCIFAR100(n_per_class=n_per_class, train=train, seed=seed)
    raise ValueError(f"unknown dataset {data!r}; expected one of {DATASETS}")


# --------------------------------------------------------------------------------------------
# Batched augmentation as tensor ops (the device-resident pipeline)
# --------------------------------------------------------------------------------------------


def random_crop_flip(
    images: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``RandomCrop(size, padding)`` + ``RandomHorizontalFlip()`` for a whole batch at once.

    Same distribution as the torchvision transforms applied image by image: each image is padded
    with zeros by ``padding`` on every side, a top and a left offset are drawn uniformly from
    ``0 .. 2·padding``, independently, and the crop is mirrored left-right with probability 1/2.
    One gather does crop and flip together; no Python loop over images.

    Args:
        images: ``(B, C, H, W)`` tensor of any dtype (uint8 in the pipeline), on any device.
        padding: zero padding on each side (CRD: 4).
        generator: random source on ``images``' device (default: the global RNG).

    Returns:
        ``(B, C, H, W)``, same dtype and device.

    Example:
        >>> x = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4)
        >>> random_crop_flip(x, padding=0).shape
        torch.Size([1, 1, 4, 4])
    """
    if images.dim() != 4:
        raise ValueError(f"random_crop_flip expects (B, C, H, W), got {tuple(images.shape)}")
    b, c, h, w = images.shape
    dev = images.device
    top = torch.randint(0, 2 * padding + 1, (b,), device=dev, generator=generator)
    left = torch.randint(0, 2 * padding + 1, (b,), device=dev, generator=generator)
    flip = torch.rand(b, device=dev, generator=generator) < 0.5
    padded = F.pad(images, (padding, padding, padding, padding)) if padding else images
    cols_fwd = torch.arange(w, device=dev)
    cols = left[:, None] + torch.where(flip[:, None], cols_fwd.flip(0), cols_fwd)  # (B, W)
    rows = top[:, None] + torch.arange(h, device=dev)  # (B, H)
    batch = torch.arange(b, device=dev)[:, None, None, None]
    chan = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]


class DeviceLoader:
    """The whole split resident on ``device`` as uint8, served as normalised float batches.

    The images are copied to the device once, as ``(N, 3, 32, 32)`` uint8 (CIFAR-100's 50k
    training images take 150 MB). Each epoch permutes indices on the device, gathers a batch,
    crops and flips it with :func:`random_crop_flip` and normalises it: no worker processes, no
    host-to-device copies after the first. Iterating draws one seed from torch's global CPU RNG
    (like ``DataLoader``'s sampler), so ``torch.manual_seed`` before an epoch fixes its order and
    augmentation.

    Args:
        dataset: anything with ``.data`` ``(N, H, W, 3)`` uint8 and ``.targets`` (N ints), e.g. a
            torchvision ``CIFAR100`` or :class:`~skdlib.data.SyntheticCIFAR100`.
        batch_size: images per batch; the last batch may be smaller unless ``drop_last``.
        device: where the data lives and batches are made.
        shuffle: permute the order every epoch.
        augment: random crop (zero padding ``padding``) and flip.
        mean, std: normalisation.
        with_index: also yield each image's index in ``dataset``.

    Yields:
        ``(images, targets)``: ``(B, 3, H, W)`` float32 and ``(B,)`` int64 on ``device``; with
        ``with_index``, ``(images, targets, index)``.

    Example:
        >>> ds = SyntheticCIFAR100(n_per_class=1)
        >>> loader = DeviceLoader(ds, batch_size=64, device="cpu", shuffle=True, augment=True)
        >>> len(loader), next(iter(loader))[0].shape
        (2, torch.Size([64, 3, 32, 32]))
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 64,
        device: str | torch.device | None = None,
        shuffle: bool = True,
        augment: bool = True,
        drop_last: bool = False,
        padding: int = 4,
        mean: Sequence[float] = CIFAR100_MEAN,
        std: Sequence[float] = CIFAR100_STD,
        with_index: bool = False,
    ) -> None:
        data = getattr(dataset, "data", None)
        targets = getattr(dataset, "targets", None)
        if data is None or targets is None:
            raise TypeError(
                f"DeviceLoader needs a dataset with .data (N, H, W, 3) uint8 and .targets; "
                f"{type(dataset).__name__} has {'no .data' if data is None else 'no .targets'}"
            )
        data = torch.as_tensor(np.asarray(data))
        if data.dim() != 4 or data.shape[-1] != 3 or data.dtype != torch.uint8:
            raise ValueError(
                f"DeviceLoader: {type(dataset).__name__}.data must be (N, H, W, 3) uint8, got "
                f"{tuple(data.shape)} {data.dtype}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = resolve_device(device)
        self.images = data.permute(0, 3, 1, 2).contiguous().to(self.device)
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.long).to(self.device)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.augment = augment
        self.drop_last = drop_last
        self.padding = padding
        self.with_index = with_index
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)

    def __len__(self) -> int:
        n = len(self.targets)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.targets)
        seed = int(torch.randint(0, 2**62, (1,)).item())  # global CPU RNG, like DataLoader
        gen = torch.Generator(device=self.device).manual_seed(seed)
        order = (
            torch.randperm(n, device=self.device, generator=gen)
            if self.shuffle
            else torch.arange(n, device=self.device)
        )
        for k in range(len(self)):
            idx = order[k * self.batch_size : (k + 1) * self.batch_size]
            x = self.images[idx]
            if self.augment:
                x = random_crop_flip(x, self.padding, generator=gen)
            batch = normalise_uint8(x, self.mean, self.std), self.targets[idx]
            yield (*batch, idx) if self.with_index else batch


class IndexedDataset(torch.utils.data.Dataset):
    """A dataset whose items end with their index: ``(image, target, index)`` (CRD's
    ``CIFAR100Instance``); ``.targets`` and ``.classes`` are the wrapped dataset's."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.targets = getattr(dataset, "targets", None)
        self.classes = getattr(dataset, "classes", None)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return (*self.dataset[index], index)


def choose_pipeline(pipeline: str, device: torch.device) -> str:
    """Resolve ``"auto"``: ``"device"`` on CUDA, ``"torchvision"`` elsewhere.

    Example:
        >>> [choose_pipeline("auto", torch.device(d)) for d in ("cuda", "cpu")]
        ['device', 'torchvision']
    """
    if pipeline == "auto":
        return "device" if torch.device(device).type == "cuda" else "torchvision"
    if pipeline not in PIPELINES:
        raise ValueError(f"pipeline must be one of {PIPELINES}, got {pipeline!r}")
    return pipeline


def cifar_loader(
    dataset: Any,
    batch_size: int = 64,
    train: bool = True,
    device: str | torch.device | None = None,
    pipeline: str = "auto",
    shuffle: bool | None = None,
    workers: int | None = None,
    distributed: Distributed | None = None,
    with_index: bool = False,
):
    """An iterable of normalised ``(images, targets)`` batches over ``dataset`` (with
    ``with_index``: ``(images, targets, index)``, the images' indices in ``dataset``).

    Args:
        dataset: from :func:`load_split` (no transform set).
        batch_size: images per batch (CRD: 64 for training).
        train: CRD augmentation and shuffling (False: plain, in order, for evaluation).
        device: where batches end up; decides ``"auto"``.
        pipeline: ``"device"`` (:class:`DeviceLoader`), ``"torchvision"`` (``DataLoader`` with
            :func:`train_transform` / :func:`eval_transform`, batches on the CPU), or ``"auto"``:
            ``"device"`` on CUDA, ``"torchvision"`` otherwise.
        shuffle: override the order (default: ``train``); e.g. unaugmented but shuffled batches
            for the neuron embedding.
        workers: ``DataLoader`` worker processes (torchvision pipeline only; ``None``:
            :func:`skdlib.loaders.default_workers`).
        distributed: in a multi-process run (:mod:`skdlib.distill.distributed`), the
            torchvision pipeline reads this rank's shard (``DistributedSampler``) in batches of
            ``batch_size / world``; the device pipeline serves the global batches, of which each
            rank trains on its slice (so the run equals a one-process run batch for batch).

    Example:
        >>> ds = load_split("synthetic", train=False, n_per_class=1)
        >>> loader = cifar_loader(ds, batch_size=50, train=False, device="cpu")
        >>> type(loader).__name__, len(loader)
        ('DataLoader', 2)
    """
    device = resolve_device(device)
    shuffle = train if shuffle is None else shuffle
    if choose_pipeline(pipeline, device) == "device":
        return DeviceLoader(
            dataset, batch_size, device, shuffle=shuffle, augment=train, with_index=with_index
        )
    view = copy.copy(dataset)  # shares .data; only the transform differs
    view.transform = train_transform() if train else eval_transform()
    if with_index:
        view = IndexedDataset(view)
    sampler = None
    if distributed is not None and distributed.world > 1 and train:
        batch_size = distributed.rank_batch(batch_size)
        sampler = DistributedSampler(
            view, distributed.world, distributed.rank, shuffle=shuffle, drop_last=True
        )
        shuffle = False  # the sampler shuffles
    return make_loader(
        view, batch_size, shuffle=shuffle, workers=workers, device=device, sampler=sampler
    )
