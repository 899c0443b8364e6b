"""CIFAR ResNets of the CRD benchmark (resnet20/32/56/110, resnet8x4/32x4).

The architecture follows the CIFAR variant of He et al. (2016) as used by Tian et al. (2020,
"Contrastive Representation Distillation", repo ``HobbitLong/RepDistiller``):

* a 3x3 stem convolution + BN + ReLU (``conv1``/``bn1``),
* three stages ``layer1``/``layer2``/``layer3`` of ``(depth - 2) // 6`` :class:`BasicBlock` each,
  the 2nd and 3rd stage halving the resolution (32 -> 16 -> 8 for a 32x32 input),
* an 8x8 average pool and a linear classifier ``fc``.

A stage whose input width differs from its output width (or which downsamples) gets a projection
shortcut (1x1 conv + BN) on its first block; this is why ``resnet8x4``'s ``layer1`` (32 -> 64
channels) has one although it keeps the resolution.

Every block ends with a ReLU *after* the residual addition, so the tensor a forward hook on
``layerK`` sees is the **post-ReLU** stage output (CRD's ``f1..f3`` with ``preact=False``).

Attribute names mirror the reference implementation, so a RepDistiller checkpoint
(``ckpt["model"]``) loads with ``model.load_state_dict`` unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BasicBlock",
    "CifarResNet",
    "preact_taps",
    "resnet20",
    "resnet32",
    "resnet56",
    "resnet110",
    "resnet8x4",
    "resnet32x4",
]


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 projection) shortcut.

    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Shapes: ``(B, in_ch, H, W) -> (B, out_ch, H / stride, W / stride)``.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_ch, out_ch, stride)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(out_ch, out_ch)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_ch),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        # Out-of-place ReLU: the returned tensor is never modified afterwards, so hooks can keep it.
        return F.relu(y + shortcut)


class CifarResNet(nn.Module):
    """CIFAR ResNet with three stages of BasicBlocks.

    Args:
        depth: total depth, ``6 n + 2`` (``n`` blocks per stage).
        widths: ``(stem, stage1, stage2, stage3)`` channel counts, e.g. ``(16, 16, 32, 64)``.
        num_classes: size of the logit vector.

    Shapes: input ``(B, 3, 32, 32)`` -> logits ``(B, num_classes)``. Stage outputs
    (``layer1..layer3``, post-ReLU): ``(B, widths[1], 32, 32)``, ``(B, widths[2], 16, 16)``,
    ``(B, widths[3], 8, 8)``.

    Example:
        >>> net = CifarResNet(20, (16, 16, 32, 64), num_classes=100)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 100])
    """

    def __init__(self, depth: int, widths: tuple[int, int, int, int], num_classes: int = 100):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"depth must be 6n+2 with n >= 1, got {depth}")
        n_blocks = (depth - 2) // 6
        stem, w1, w2, w3 = widths
        self.conv1 = nn.Conv2d(3, stem, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._stage(stem, w1, n_blocks, stride=1)
        self.layer2 = self._stage(w1, w2, n_blocks, stride=2)
        self.layer3 = self._stage(w2, w3, n_blocks, stride=2)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(w3, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def _stage(in_ch: int, out_ch: int, n_blocks: int, stride: int) -> nn.Sequential:
        blocks = [BasicBlock(in_ch, out_ch, stride)]
        blocks += [BasicBlock(out_ch, out_ch) for _ in range(n_blocks - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 32, 32)`` images -> ``(B, num_classes)`` logits."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def preact_taps(model: CifarResNet) -> tuple[tuple[tuple[str, ...], str | None], ...]:
    """Where CRD's pre-activation stage outputs (``forward(preact=True)``) live, for hooks.

    The pre-activation output of a stage is its last block's residual sum before the final
    ReLU, ``bn2(conv2(.)) + shortcut``. No module returns it, so it is the sum of two hooked
    tensors: the last block's ``bn2`` output and its shortcut (the ``downsample`` output, or
    the block's input when the shortcut is the identity).

    Returns:
        Per stage ``layer1..layer3``: ``(hook names to sum, None)`` (nothing applied after).

    Example:
        >>> preact_taps(resnet8x4())[0]
        (('layer1.0.bn2', 'layer1.0.downsample'), None)
        >>> preact_taps(resnet20())[2]
        (('layer3.2.bn2', 'layer3.2:input'), None)
    """
    taps = []
    for stage in ("layer1", "layer2", "layer3"):
        last = len(model.get_submodule(stage)) - 1
        block = f"{stage}.{last}"
        shortcut = "downsample" if model.get_submodule(block).downsample is not None else None
        taps.append(
            ((f"{block}.bn2", f"{block}.{shortcut}" if shortcut else f"{block}:input"), None)
        )
    return tuple(taps)


_SMALL = (16, 16, 32, 64)
_X4 = (32, 64, 128, 256)


def resnet20(num_classes: int = 100) -> CifarResNet:
    """resnet20 (3 blocks/stage, widths 16/32/64): 278,324 parameters at 100 classes."""
    return CifarResNet(20, _SMALL, num_classes)


def resnet32(num_classes: int = 100) -> CifarResNet:
    """resnet32 (5 blocks/stage, widths 16/32/64): 472,756 parameters at 100 classes."""
    return CifarResNet(32, _SMALL, num_classes)


def resnet56(num_classes: int = 100) -> CifarResNet:
    """resnet56 (9 blocks/stage, widths 16/32/64): 861,620 parameters at 100 classes."""
    return CifarResNet(56, _SMALL, num_classes)


def resnet110(num_classes: int = 100) -> CifarResNet:
    """resnet110 (18 blocks/stage, widths 16/32/64): 1,736,564 parameters at 100 classes."""
    return CifarResNet(110, _SMALL, num_classes)


def resnet8x4(num_classes: int = 100) -> CifarResNet:
    """resnet8x4 (1 block/stage, stem 32, widths 64/128/256): 1,233,540 parameters."""
    return CifarResNet(8, _X4, num_classes)


def resnet32x4(num_classes: int = 100) -> CifarResNet:
    """resnet32x4 (5 blocks/stage, stem 32, widths 64/128/256): 7,433,860 parameters."""
    return CifarResNet(32, _X4, num_classes)
