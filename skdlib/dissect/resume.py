"""Resuming a dissection after a crash: its two passes, saved as they progress.

At the paper's size a dissection reads 63k images twice; a crash in the second pass used to
lose both. With a checkpoint (a file, or a folder to hold ``dissection.ckpt``),
:func:`~skdlib.dissect.dissect` saves the per-unit thresholds (and each unit's top images,
:mod:`~skdlib.dissect.top_images`) when the first pass ends, the
running tally every few minutes (or every ``N`` batches) during the second, and the complete
tally when it ends — each save atomic. A rerun with the same model weights, layers, data and
settings continues after the last saved batch, skipping the first pass — with a result equal
to an uninterrupted run's bit for bit, because the tally is a sum of integer counts over
images in a fixed order. The file is removed by :meth:`DissectionResult.save
<skdlib.dissect.result.DissectionResult.save>` once the result is on disk, so a crash between
the two still costs nothing.

A checkpoint belongs to one dissection: its :func:`fingerprint` records the layers, every
setting that changes the counts, the data folder and its number of images, and a hash of the
model's weights. A checkpoint of anything else is not used: the run prints which of these
differ and starts over, replacing the file with its own. (Not an error: the old file cannot
serve this run in any case, and a rerun after changing a setting on purpose should just work;
the printed note says what was discarded.)

Example::

    result = dissect(model, ["layer4"], "data/broden1_224", checkpoint="runs/dissect")
    # killed in the second pass? the same call continues from runs/dissect/dissection.ckpt
    result.save("runs/dissect")   # ... and removes it
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

from .. import filenames
from ..checkpoint import atomic_save, check_format, load_artifact

__all__ = [
    "DissectCheckpoint",
    "checkpoint_file",
    "fingerprint",
    "weights_digest",
]

#: The file name of a checkpoint given as a folder.


def checkpoint_file(path: str | os.PathLike) -> Path:
    """The checkpoint file ``path`` names: ``path`` itself, or ``path/dissection.ckpt`` when
    ``path`` is a folder (an existing one, or a name without a suffix).

    Example:
        >>> str(checkpoint_file("runs/dissect")), str(checkpoint_file("runs/d.ckpt"))
        ('runs/dissect/dissection.ckpt', 'runs/d.ckpt')
    """
    path = Path(path)
    return path / filenames.DISSECTION_CHECKPOINT if path.is_dir() or not path.suffix else path


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
        path: the file, or a folder for ``dissection.ckpt`` (:func:`checkpoint_file`); written
            atomically, its folder created.
        fingerprint: from :func:`fingerprint`.
        every_seconds: save during the second pass when this many seconds have passed since the
            last save ...
        every_batches: ... or this many batches (``None``: by time only).

    Example::

        ckpt = DissectCheckpoint("runs/x", fingerprint(model, layers, ...), every_batches=100)
        state = ckpt.load()        # None, or {"thresholds", "step", "intersection", ...}
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fingerprint: Mapping,
        every_seconds: float = 300.0,
        every_batches: int | None = None,
    ) -> None:
        if every_batches is not None and every_batches < 1:
            raise ValueError(f"every_batches must be at least 1 (or None), got {every_batches}")
        self.path = checkpoint_file(path)
        self.fingerprint = dict(fingerprint)
        self.every_seconds = float(every_seconds)
        self.every_batches = every_batches
        self._saved_at = time.monotonic()
        self.saved_step: int | None = None
        #: The first pass's top images (:meth:`TopImages.state
        #: <skdlib.dissect.top_images.TopImages.state>`), written with every save; set by the
        #: dissection when the first pass ends, and by :meth:`load`.
        self.top_images: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        """The saved state of this dissection, or ``None`` (no file, or one of another run)."""
        if not self.path.exists():
            return None
        state = load_artifact(self.path, "dissection checkpoint")
        current, found = filenames.DISSECTION_CHECKPOINT_FORMAT, str(state.get("format"))
        if found != current and found.rpartition("/")[0] == current.rpartition("/")[0]:
            print(f"{self.path} was written by another version of skdlib ({found}); starting "
                  "over, and it will be replaced", flush=True)  # fmt: skip
            return None
        check_format(
            state, filenames.DISSECTION_CHECKPOINT_FORMAT, self.path, "dissection checkpoint"
        )
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
        self.saved_step = int(state["step"])
        self.top_images = state["top_images"]
        print(
            f"resuming the dissection from {self.path}: first pass done, {self.saved_step} "
            "batch(es) of the second tallied",
            flush=True,
        )
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
        """Save the thresholds ``[(U,)]`` and the tally after ``step`` batches of the second
        pass: ``intersection`` ``[(U, label_space)]``, ``activation_area``
        ``[(U, n_categories)]``, ``label_area`` ``(label_space,)`` (``None`` before the second
        pass). Only when ``every_seconds`` or ``every_batches`` have passed since the last save,
        unless ``force``; returns whether it saved."""
        now = time.monotonic()
        due = now - self._saved_at >= self.every_seconds or (
            self.every_batches is not None and step - (self.saved_step or 0) >= self.every_batches
        )
        if not (force or due):
            return False

        def cpu(tensors):
            return None if tensors is None else [t.detach().cpu() for t in tensors]

        atomic_save(
            {
                "format": filenames.DISSECTION_CHECKPOINT_FORMAT,
                "fingerprint": self.fingerprint,
                "thresholds": cpu(thresholds),
                "step": int(step),
                "intersection": cpu(intersection),
                "activation_area": cpu(activation_area),
                "label_area": None if label_area is None else label_area.detach().cpu(),
                "top_images": self.top_images,
            },
            self.path,
        )
        self._saved_at, self.saved_step = now, int(step)
        return True

    def remove(self) -> None:
        """Delete the file (the result is saved)."""
        self.path.unlink(missing_ok=True)
