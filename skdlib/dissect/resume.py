"""Resuming a dissection after a crash: its two passes, saved as they progress.

At the paper's size a dissection reads 63k images twice; a crash in the second pass used to
lose both. With a checkpoint file, :func:`~skdlib.dissect.dissect` saves the per-unit
thresholds when the first pass ends and the running tally every few minutes during the second
(atomically), and a rerun with the same model weights, layers, data and settings continues where
the last save left off — with a result equal to an uninterrupted run's, because the tally is a
sum over images. The file is removed when the dissection completes.

A checkpoint belongs to one dissection: its :func:`fingerprint` records the layers, every
setting, the data folder and its number of images, and a hash of the model's weights. A
checkpoint of anything else is not used (the run says so and starts over, writing its own).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint import atomic_save, check_format, load_artifact

__all__ = ["CHECKPOINT_FORMAT", "DissectCheckpoint", "fingerprint", "weights_digest"]

CHECKPOINT_FORMAT = "skdlib.dissect-checkpoint/1"


def weights_digest(model: nn.Module) -> str:
    """A short SHA-256 of every parameter and buffer of ``model`` (names and bytes).

    Example:
        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> weights_digest(a) == weights_digest(a), weights_digest(a) == weights_digest(b)
        (True, False)
    """
    sha = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        data = value.detach().to("cpu").contiguous().reshape(-1)
        sha.update(f"{name}:{value.dtype}:{tuple(value.shape)};".encode())
        sha.update(data.view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()[:16]


def fingerprint(
    model: nn.Module, layers: Sequence[str], data: str, n_images: int, settings: Mapping
) -> dict[str, Any]:
    """What identifies a dissection: layers, settings, data folder and size, and weights."""
    return {
        "layers": list(layers),
        "settings": dict(settings),
        "data": str(data),
        "n_images": int(n_images),
        "weights": weights_digest(model),
    }


class DissectCheckpoint:
    """The checkpoint file of one dissection (see the module docstring).

    Args:
        path: the file (written atomically; its folder is created).
        fingerprint: from :func:`fingerprint`.
        every_seconds: least seconds between two saves during the second pass.

    Example::

        ckpt = DissectCheckpoint("runs/x/dissection.ckpt", fingerprint(model, layers, ...))
        state = ckpt.load()        # None, or {"thresholds", "step", "intersection", ...}
    """

    def __init__(
        self, path: str | os.PathLike, fingerprint: Mapping, every_seconds: float = 300.0
    ) -> None:
        self.path = Path(path)
        self.fingerprint = dict(fingerprint)
        self.every_seconds = float(every_seconds)
        self._saved_at = time.monotonic()

    def load(self) -> dict[str, Any] | None:
        """The saved state of this dissection, or ``None`` (no file, or one of another run)."""
        if not self.path.exists():
            return None
        state = load_artifact(self.path, "dissection checkpoint")
        check_format(state, CHECKPOINT_FORMAT, self.path, "dissection checkpoint")
        if state["fingerprint"] != self.fingerprint:
            differ = sorted(
                k for k in self.fingerprint if state["fingerprint"].get(k) != self.fingerprint[k]
            )
            print(
                f"{self.path} belongs to another dissection (it differs in {', '.join(differ)}); "
                "starting over, and it will be replaced",
                flush=True,
            )
            return None
        return state

    def save(
        self,
        thresholds: list[torch.Tensor],
        step: int,
        intersection: list[torch.Tensor] | None = None,
        activation_area: list[torch.Tensor] | None = None,
        label_area: torch.Tensor | None = None,
        force: bool = False,
    ) -> bool:
        """Save the thresholds and the tally after ``step`` batches of the second pass (at most
        every ``every_seconds`` unless ``force``); returns whether it saved."""
        now = time.monotonic()
        if not force and now - self._saved_at < self.every_seconds:
            return False

        def cpu(tensors):
            return None if tensors is None else [t.detach().cpu() for t in tensors]

        atomic_save(
            {
                "format": CHECKPOINT_FORMAT,
                "fingerprint": self.fingerprint,
                "thresholds": cpu(thresholds),
                "step": int(step),
                "intersection": cpu(intersection),
                "activation_area": cpu(activation_area),
                "label_area": None if label_area is None else label_area.detach().cpu(),
            },
            self.path,
        )
        self._saved_at = now
        return True

    def remove(self) -> None:
        """Delete the file (the dissection is complete)."""
        self.path.unlink(missing_ok=True)
