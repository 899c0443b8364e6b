"""Wide residual networks (Zagoruyko & Komodakis 2016) as used by the CRD benchmark.

Pre-activation design: each :class:`WideBlock` computes ``BN -> ReLU -> conv -> BN -> ReLU -> conv``
and adds the shortcut *without* a trailing activation; the network applies one final
``BN + ReLU`` (``bn1``/``relu``) after the last group, then an 8x8 average pool and ``fc``.

``wrn_D_k`` has ``(D - 4) // 6`` blocks per group and widths ``16 k / 32 k / 64 k`` after a
16-channel stem. The three groups are ``block1``/``block2``/``block3`` (each a
:class:`WideGroup` whose blocks live in ``.layer``), at resolutions 32/16/8 for a 32x32 input.

A forward hook on ``blockK`` sees the **pre-activation** group output (the raw residual sum, before
the BN + ReLU of the next group's first block, or of the final ``bn1``/``relu`` for ``block3``);
this is CRD's ``f1..f3`` with ``preact=False``. Values can therefore be negative.

Attribute names mirror the reference implementation (``HobbitLong/RepDistiller``), so its
checkpoints load with ``model.load_state_dict`` unchanged.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["WideBlock", "WideGroup", "WideResNet", "preact_taps", "wrn_16_2", "wrn_40_2"]


class WideBlock(nn.Module):
    """Pre-activation basic block.

    When ``in_ch == out_ch`` (hence stride 1) the shortcut is the raw input; otherwise the shortcut
    is a 1x1 strided convolution (``convShortcut``) applied to the *activated* input
    ``relu(bn1(x))``, which is also what the residual branch consumes.

    Shapes: ``(B, in_ch, H, W) -> (B, out_ch, H / stride, W / stride)``.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_ch, out_ch, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = drop_rate
        self.convShortcut: nn.Conv2d | None = None  # reference name, kept for checkpoints
        if in_ch != out_ch:
            self.convShortcut = nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False)
        elif stride != 1:
            raise ValueError("an identity shortcut cannot downsample (in_ch == out_ch, stride > 1)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.relu1(self.bn1(x))  # bn1 is out-of-place, so x itself is never modified
        shortcut = x if self.convShortcut is None else self.convShortcut(act)
        y = self.relu2(self.bn2(self.conv1(act)))
        if self.drop_rate > 0:
            y = F.dropout(y, p=self.drop_rate, training=self.training)
        return self.conv2(y) + shortcut


class WideGroup(nn.Module):
    """A group of ``n_blocks`` :class:`WideBlock`; only the first changes width / resolution."""

    def __init__(
        self, n_blocks: int, in_ch: int, out_ch: int, stride: int, drop_rate: float = 0.0
    ) -> None:
        super().__init__()
        blocks = [WideBlock(in_ch, out_ch, stride, drop_rate)]
        blocks += [WideBlock(out_ch, out_ch, 1, drop_rate) for _ in range(n_blocks - 1)]
        self.layer = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-depth-widen for 32x32 inputs.

    Args:
        depth: ``6 n + 4`` (``n`` blocks per group).
        num_classes: size of the logit vector.
        widen_factor: ``k``; group widths are ``16 k, 32 k, 64 k``.
        drop_rate: dropout inside blocks (0 in the CRD benchmark).

    Shapes: input ``(B, 3, 32, 32)`` -> logits ``(B, num_classes)``. Group outputs
    (``block1..block3``, pre-activation): ``(B, 16k, 32, 32)``, ``(B, 32k, 16, 16)``,
    ``(B, 64k, 8, 8)``.

    Example:
        >>> net = WideResNet(16, num_classes=100, widen_factor=2)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 100])
    """

    def __init__(
        self, depth: int, num_classes: int = 100, widen_factor: int = 1, drop_rate: float = 0.0
    ) -> None:
        super().__init__()
        if (depth - 4) % 6 != 0 or depth < 10:
            raise ValueError(f"depth must be 6n+4 with n >= 1, got {depth}")
        n_blocks = (depth - 4) // 6
        w0, w1, w2, w3 = 16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor
        self.conv1 = nn.Conv2d(3, w0, kernel_size=3, stride=1, padding=1, bias=False)
        self.block1 = WideGroup(n_blocks, w0, w1, 1, drop_rate)
        self.block2 = WideGroup(n_blocks, w1, w2, 2, drop_rate)
        self.block3 = WideGroup(n_blocks, w2, w3, 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(w3)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(w3, num_classes)
        self.nChannels = w3  # reference attribute name

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 32, 32)`` images -> ``(B, num_classes)`` logits."""
        x = self.conv1(x)
        x = self.block3(self.block2(self.block1(x)))
        x = self.relu(self.bn1(x))
        x = F.avg_pool2d(x, 8).flatten(1)
        return self.fc(x)


def preact_taps(model: WideResNet) -> tuple[tuple[tuple[str, ...], str | None], ...]:
    """Where CRD's pre-activation group outputs (``forward(preact=True)``) come from.

    CRD's WRN returns, for ``preact=True``, the raw group sums passed through the batch norm
    that follows each of them: ``block2.layer[0].bn1(f1)``, ``block3.layer[0].bn1(f2)`` and
    ``bn1(f3)``, calling those modules a second time (in train mode their running statistics
    move twice per step; an eval-mode module uses its running statistics). Hooked here as the
    group output with that module applied to it.

    Returns:
        Per group ``block1..block3``: ``((hook name,), module applied to it)``.

    Example:
        >>> preact_taps(wrn_16_2())[2]
        (('block3',), 'bn1')
    """
    del model  # the same three for every depth and width
    return (
        (("block1",), "block2.layer.0.bn1"),
        (("block2",), "block3.layer.0.bn1"),
        (("block3",), "bn1"),
    )


def wrn_16_2(num_classes: int = 100) -> WideResNet:
    """WRN-16-2 (2 blocks/group, widths 32/64/128): 703,284 parameters at 100 classes."""
    return WideResNet(16, num_classes, widen_factor=2)


def wrn_40_2(num_classes: int = 100) -> WideResNet:
    """WRN-40-2 (6 blocks/group, widths 32/64/128): 2,255,156 parameters at 100 classes."""
    return WideResNet(40, num_classes, widen_factor=2)
