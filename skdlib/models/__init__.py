"""The architectures skdlib builds or loads — the bottom floor every method stands on.

* :mod:`~skdlib.models.registry` — **the registry**: every architecture with its stages (the
  layers the embedding, dissection and distillation tap), their widths and its builder; plain
  data, no torch;
* :mod:`~skdlib.models.build` — :func:`create_model`, :func:`stage_names`,
  :func:`stage_channels`, :func:`classifier`;
* :mod:`~skdlib.models.cifar` — the CRD CIFAR-100 zoo (resnets, WRNs, VGGs);
* :mod:`~skdlib.models.torchvision_zoo` — torchvision's ImageNet classifiers and their weights;
* :mod:`~skdlib.models.model_files` — trained CIFAR models on disk (skdlib's files and
  RepDistiller's checkpoints).

Names are imported on first use, so ``from skdlib.models import CIFAR_ARCHS`` loads no torch.

Example:
    >>> from skdlib.models import create_model, stage_channels
    >>> stage_channels(create_model("resnet20"))
    [16, 32, 64]
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["cifar"],
    submod_attrs={
        "registry": [
            "ARCHITECTURES",
            "Architecture",
            "CIFAR_ARCHS",
            "PAPER_PAIRS",
            "TORCHVISION_ARCHS",
            "get_architecture",
        ],
        "build": ["architecture_of", "classifier", "create_model", "stage_channels", "stage_names"],
        "torchvision_zoo": ["is_torchvision_model", "load_torchvision_model"],
        "model_files": ["load_model", "save_model"],
    },
)
