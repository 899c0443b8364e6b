"""CIFAR VGG with batch norm (vgg8, vgg13) as used by the CRD benchmark.

Five convolutional blocks ``block0..block4`` (widths 64/128/256/512/512). A block is a stack of
``conv3x3 (with bias) -> BN -> ReLU`` units **without the trailing ReLU**: the block returns the BN
output and the network applies the activation in ``forward``. Between blocks:

* ``block0 -> relu -> pool0 -> block1 -> relu -> pool1 -> block2 -> relu -> pool2 -> block3``
  (2x2 max-pools, resolution 32 -> 16 -> 8 -> 4),
* ``block3 -> relu -> [pool3 only for 64x64 inputs] -> block4 -> relu -> global average pool``,
* a single linear ``classifier`` (512 -> num_classes); there are no hidden FC layers.

For a 32x32 input the stage resolutions are therefore 32/16/8/4/4. A forward hook on ``blockK``
sees the **pre-ReLU** block output (BN output; CRD's ``f1_pre..f4_pre``), apply ``relu`` to get
the post-activation features CRD returns with ``preact=False``.

Module names mirror the reference implementation (``HobbitLong/RepDistiller``), so its
checkpoints load with ``model.load_state_dict`` unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["VGG", "VGG_CONFIGS", "preact_taps", "vgg8", "vgg13"]

#: Channel counts of the convolutions in each of the five blocks.
VGG_CONFIGS: dict[str, tuple[tuple[int, ...], ...]] = {
    "vgg8": ((64,), (128,), (256,), (512,), (512,)),
    "vgg13": ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
}


def _conv_block(in_ch: int, widths: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w in widths:
        layers += [nn.Conv2d(in_ch, w, kernel_size=3, padding=1), nn.BatchNorm2d(w)]
        layers.append(nn.ReLU(inplace=True))
        in_ch = w
    # Drop the last ReLU: the block ends on BN, the activation is applied by the network.
    return nn.Sequential(*layers[:-1])


class VGG(nn.Module):
    """VGG-BN for CIFAR with five conv blocks and a linear classifier.

    Args:
        cfg: five tuples of conv widths, e.g. ``VGG_CONFIGS["vgg8"]``.
        num_classes: size of the logit vector.

    Shapes: input ``(B, 3, 32, 32)`` -> logits ``(B, num_classes)``. Block outputs
    (``block0..block4``, pre-ReLU): ``(B, 64, 32, 32)``, ``(B, 128, 16, 16)``,
    ``(B, 256, 8, 8)``, ``(B, 512, 4, 4)``, ``(B, 512, 4, 4)``.

    Example:
        >>> net = VGG(VGG_CONFIGS["vgg8"], num_classes=100)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 100])
    """

    def __init__(self, cfg: tuple[tuple[int, ...], ...], num_classes: int = 100) -> None:
        super().__init__()
        if len(cfg) != 5:
            raise ValueError(f"cfg must describe 5 blocks, got {len(cfg)}")
        in_chs = [3] + [widths[-1] for widths in cfg[:-1]]
        self.block0 = _conv_block(in_chs[0], cfg[0])
        self.block1 = _conv_block(in_chs[1], cfg[1])
        self.block2 = _conv_block(in_chs[2], cfg[2])
        self.block3 = _conv_block(in_chs[3], cfg[3])
        self.block4 = _conv_block(in_chs[4], cfg[4])
        self.pool0 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.pool3 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.pool4 = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(cfg[4][-1], num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 32, 32)`` images -> ``(B, num_classes)`` logits."""
        downsample_before_last = x.shape[2] == 64  # reference behaviour: pool3 only at 64x64
        x = self.pool0(F.relu(self.block0(x)))
        x = self.pool1(F.relu(self.block1(x)))
        x = self.pool2(F.relu(self.block2(x)))
        x = F.relu(self.block3(x))
        if downsample_before_last:
            x = self.pool3(x)
        x = F.relu(self.block4(x))
        x = self.pool4(x).flatten(1)
        return self.classifier(x)


def preact_taps(model: VGG) -> tuple[tuple[tuple[str, ...], str | None], ...]:
    """Where CRD's pre-activation block outputs (``forward(preact=True)``, ``f1..f4``) live:
    the blocks themselves, which end on their BN (the hooks already see the pre-ReLU output).

    Example:
        >>> preact_taps(vgg8())[0]
        (('block1',), None)
    """
    del model
    return tuple(((f"block{i}",), None) for i in range(1, 5))


def vgg8(num_classes: int = 100) -> VGG:
    """VGG-8 with BN (one conv per block): 3,965,028 parameters at 100 classes."""
    return VGG(VGG_CONFIGS["vgg8"], num_classes)


def vgg13(num_classes: int = 100) -> VGG:
    """VGG-13 with BN (two convs per block): 9,462,180 parameters at 100 classes."""
    return VGG(VGG_CONFIGS["vgg13"], num_classes)
