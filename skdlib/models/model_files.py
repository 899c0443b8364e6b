"""Trained CIFAR-zoo models on disk: skdlib's model artifact, and RepDistiller's checkpoints.

A teacher trained here is saved with :func:`save_model` and read back by :func:`load_model`, which
also reads the ``{"model": state_dict}`` checkpoints of RepDistiller (the CRD code), so
published teachers can be used as they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from .. import __version__, filenames
from ..checkpoint import atomic_save, check_format, load_artifact
from .build import classifier, create_model
from .registry import CIFAR_ARCHS

__all__ = ["save_model", "load_model"]


def save_model(model: nn.Module, arch: str, path: str | os.PathLike, **info: Any) -> Path:
    """Write ``model``'s weights as an skdlib model artifact (atomically).

    Example:
        >>> p = save_model(create_model("resnet20"), "resnet20", "/tmp/skd-doc/r20.pt")
        >>> type(load_model(p)).__name__
        'CifarResNet'
    """
    num_classes = classifier(model)[1].out_features
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return atomic_save(
        {
            "format": filenames.MODEL_FORMAT,
            "arch": arch,
            "num_classes": num_classes,
            "state_dict": state,
            "info": info,
            "library_version": __version__,
        },
        path,
    )


def load_model(
    source: nn.Module | str | os.PathLike, arch: str | None = None, num_classes: int = 100
) -> nn.Module:
    """A model from an skdlib model artifact or a RepDistiller checkpoint (``{"model": ...}``).

    RepDistiller's published teachers (``<arch>_vanilla/ckpt_epoch_240.pth``; mdistiller ships
    the same files) are such checkpoints; weights saved from ``nn.DataParallel`` (keys prefixed
    ``module.``) are read too.

    Args:
        source: a path, or an ``nn.Module`` (returned unchanged).
        arch: the architecture (:data:`skdlib.models.CIFAR_ARCHS`); read from skdlib
            artifacts,
            required for RepDistiller checkpoints.
        num_classes: for RepDistiller checkpoints.
    """
    if isinstance(source, nn.Module):
        return source
    state = load_artifact(source, "model checkpoint")
    if str(state.get("format", "")).startswith(filenames.MODEL_FORMAT.rpartition("/")[0]):
        # an skdlib model file; of another version: say so
        check_format(state, filenames.MODEL_FORMAT, source, "model artifact")
        saved = state["arch"]
        if arch is not None and arch != saved:
            raise ValueError(f"{source} holds a {saved}, not a {arch}")
        arch, num_classes, weights = saved, state["num_classes"], state["state_dict"]
    elif isinstance(state.get("model"), Mapping):
        weights = state["model"]
        if arch is None:
            raise ValueError(
                f"{source} is a RepDistiller checkpoint, which does not record its architecture: "
                "name it with --teacher-arch on the command line (arch= in Python; in a Table-1 "
                f"job it is the pair's teacher), one of {', '.join(CIFAR_ARCHS)}"
            )
    else:
        raise ValueError(
            f"{source} is neither an skdlib model artifact nor a checkpoint with a 'model' state "
            f"dict (keys: {sorted(state)[:8]})"
        )
    if weights and all(k.startswith("module.") for k in weights):  # saved from DataParallel
        weights = {k.removeprefix("module."): v for k, v in weights.items()}
    model = create_model(arch, num_classes)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise ValueError(f"the weights in {source} do not fit a {arch}: {exc}") from exc
    return model
