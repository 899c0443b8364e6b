"""The CIFAR-100 model zoo of the CRD benchmark (Tian et al. 2020), used for the paper's Table 1.

Ten architectures in three families, all taking ``(B, 3, 32, 32)`` images and returning
``(B, num_classes)`` logits from a plain ``forward``; their stages are declared in
:mod:`skdlib.models.registry` and they are built by :func:`skdlib.models.create_model`.

* :mod:`~skdlib.models.cifar.resnet` — resnet20/32/56/110, resnet8x4/32x4;
* :mod:`~skdlib.models.cifar.wrn` — wrn_16_2, wrn_40_2;
* :mod:`~skdlib.models.cifar.vgg` — vgg8, vgg13.

What a forward hook on a stage module sees: resnet -> post-ReLU block output; wrn ->
pre-activation residual sum (the BN + ReLU comes in the next group / the head); vgg -> pre-ReLU
BN output. Stage spatial sizes are 32/16/8 (resnet, wrn) and 32/16/8/4/4 (vgg).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "resnet": ["CifarResNet"],
        "wrn": ["WideResNet"],
        "vgg": ["VGG"],
    },
)
