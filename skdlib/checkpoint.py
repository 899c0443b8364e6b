"""Atomic saving and loading of artifacts, training checkpoints and result files.

Long runs must never leave a half-written file behind: :func:`atomic_save` writes to a temporary
file in the target's folder, flushes it to disk and renames it over the target in one step, so a
reader sees either the old file or the new one.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported by the functions that write or read its files
    pass

__all__ = [
    "atomic_write",
    "atomic_save",
    "atomic_write_text",
    "csv_text",
    "load_artifact",
    "load_checkpoint",
    "check_format",
]


def _file_mode() -> int:
    """The mode a plain ``open()`` would give a new file: 0o666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_error(path: Path, exc: BaseException) -> OSError:
    """An ``OSError`` naming ``path``, saying "no space left on device" when that is the cause,
    with the bytes still free there."""
    free = shutil.disk_usage(path.parent).free
    full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        # torch.save's zip writer reports a short write as an "unexpected pos" enforce failure
        isinstance(exc, RuntimeError) and "unexpected pos" in str(exc)
    )
    if full:
        return OSError(
            errno.ENOSPC,
            f"could not write {path}: no space left on device ({free:,} bytes free in "
            f"{path.parent}); free some space or choose another folder, then run again — the "
            "previous file, if any, is unchanged",
        )
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    code = exc.errno if isinstance(exc, OSError) else None
    return OSError(code, f"could not write {path}: {detail} ({free:,} bytes free in {path.parent})")


def atomic_write(path: str | os.PathLike, write: Callable[[IO], Any], mode: str = "wb") -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync, rename over ``path``.

    Every result file of skdlib is written this way (:func:`atomic_save`,
    :func:`atomic_write_text`, figures), so a reader sees the old file or the new one, never a
    truncated one.

    The file gets the usual permissions (0o666 less the umask, not ``mkstemp``'s 0o600). A
    failure to write (a full disk included) removes the temporary file and raises an ``OSError``
    naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, RuntimeError) and "unexpected pos" not in str(exc):
            raise  # not a write failure (e.g. an object that cannot be pickled)
        raise _write_error(path, exc) from exc
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` atomically; parent folders are created.

    Example:
        >>> import torch
        >>> atomic_save({"x": torch.zeros(2)}, "/tmp/skd-doc/x.pt")
        PosixPath('/tmp/skd-doc/x.pt')
    """
    import torch

    return atomic_write(path, lambda handle: torch.save(obj, handle), "wb")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (JSON, CSV, Markdown results)."""
    return atomic_write(path, lambda handle: handle.write(text), "w")


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    r"""CSV of ``rows`` (dicts with the same keys, in the first row's order); ``""`` for none.

    Example:
        >>> csv_text([{"a": 1, "b": 2}])
        'a,b\r\n1,2\r\n'
    """
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def load_artifact(path: str | os.PathLike, what: str = "artifact") -> dict:
    """Load a file written by :func:`atomic_save` (tensors and plain Python values only).

    Raises ``FileNotFoundError`` / ``ValueError`` naming the file when it is missing or unreadable.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused an object
        raise ValueError(
            f"cannot read {what} {path}: it holds Python objects other than tensors and plain "
            "values, which skdlib does not unpickle (they could run code). A RepDistiller "
            "'<model>_last.pth' is such a file (it stores the training options): pass its "
            "'ckpt_epoch_240.pth' or '<model>_best.pth' instead, which hold the 'model' weights"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name and the cause
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"cannot read {what} {path}: the file is damaged, incomplete (an interrupted copy or "
            f"download?) or not a PyTorch file ({first}); re-create or re-download it"
        ) from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{path} is not an skdlib {what} (found {type(obj).__name__})")
    return obj


def check_format(
    state: Mapping[str, Any], expected: str, path: str | os.PathLike, what: str
) -> None:
    """Raise unless ``state["format"]`` is ``expected`` (``"<family>/<version>"``).

    A file of the same family but another version is reported as a version mismatch, naming
    both versions and the skdlib version that wrote it; any other file as not a ``what``.

    Example:
        >>> check_format({"format": "skdlib.x/2"}, "skdlib.x/1", "a.pt", "x file")
        Traceback (most recent call last):
        ...
        ValueError: a.pt is a x file of format version 2 (written by skdlib ?), ...
    """
    from . import __version__

    found = state.get("format")
    if found == expected:
        return
    family, _, version = expected.rpartition("/")
    if isinstance(found, str) and found.rpartition("/")[0] == family:
        writer = state.get("library_version") or state.get("meta", {}).get("library_version", "?")
        raise ValueError(
            f"{path} is a {what} of format version {found.rpartition('/')[2]} (written by skdlib "
            f"{writer}), but this skdlib ({__version__}) reads version {version}: a version "
            "mismatch. Re-create the file with this version of skdlib, or read it with the "
            "version that wrote it."
        )
    raise ValueError(f"{path} is not an skdlib {what} (format {found!r}, expected {expected!r})")


def load_checkpoint(
    path: str | os.PathLike, fmt: str, signature: Mapping[str, Any], what: str, hint: str
) -> dict:
    """Load a training checkpoint and check it belongs to this run.

    Args:
        fmt: the expected ``"format"`` entry.
        signature: what defines the run (model, layers, settings); it must equal the stored one.
        what: a name for error messages, e.g. ``"embedding checkpoint"``.
        hint: what the user should do about a foreign checkpoint.

    Raises:
        ValueError: for another file type, or a checkpoint of a different run (both signatures
            are shown).
    """
    state = load_artifact(path, what)
    check_format(state, fmt, path, what)
    if state["signature"] != signature:
        raise ValueError(
            f"checkpoint {path} belongs to a different run:\n  checkpoint: "
            f"{state['signature']}\n  this run:   {dict(signature)}\n{hint}"
        )
    return state
