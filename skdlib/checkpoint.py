"""Atomic saving and loading of artifacts and training checkpoints.

Long runs must never leave a half-written file behind: :func:`atomic_save` writes to a temporary
file in the target's folder, flushes it to disk and renames it over the target in one step, so a
reader sees either the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["atomic_save", "load_artifact"]


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` atomically; parent folders are created.

    Example:
        >>> atomic_save({"x": torch.zeros(2)}, "/tmp/skd-doc/x.pt")
        PosixPath('/tmp/skd-doc/x.pt')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_artifact(path: str | os.PathLike, what: str = "artifact") -> dict:
    """Load a file written by :func:`atomic_save` (tensors and plain Python values only).

    Raises ``FileNotFoundError`` / ``ValueError`` naming the file when it is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"cannot read {what} {path}: {exc}") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{path} is not an skdlib {what} (found {type(obj).__name__})")
    return obj
