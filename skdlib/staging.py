"""Folders built under a temporary sibling name, so that an interrupted run leaves no half folder.

A folder ``data/x`` is written as ``data/.x.tmp-<pid>-<random>`` and renamed to ``data/x`` only
when it is complete. A run that is killed (power cut, ``kill -9``) cannot clean up after itself;
:func:`staging_folder` therefore first removes the temporary folders of ``x`` whose process is
gone. Those of a process still alive (maybe still writing) are left alone.

Used by :func:`skdlib.data.make_synthetic_broden` and :func:`skdlib.dissect.download_and_extract`.

Example
-------
>>> import os, tempfile
>>> from pathlib import Path
>>> final = Path(tempfile.mkdtemp()) / "x"
>>> tmp = staging_folder(final)
>>> tmp.name.startswith(f".x.tmp-{os.getpid()}-"), tmp.is_dir()
(True, True)
>>> os.rename(tmp, final)       # complete: publish it under its final name
>>> final.is_dir()
True
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["staging_folder", "remove_abandoned", "staging_prefix"]


def staging_prefix(final: str | os.PathLike) -> str:
    """The name every temporary folder of ``final`` starts with: ``.<name>.tmp-``.

    Example:
        >>> staging_prefix("data/broden1_224")
        '.broden1_224.tmp-'
    """
    return f".{Path(final).name}.tmp-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def remove_abandoned(final: str | os.PathLike) -> list[Path]:
    """Delete the temporary folders of ``final`` left by runs whose process is gone.

    Only siblings named ``.<name>.tmp-<pid>-...`` are considered; ``final`` itself and the
    temporary folders of live processes are never touched.

    Returns:
        The folders removed.

    Example:
        >>> import tempfile
        >>> remove_abandoned(Path(tempfile.mkdtemp()) / "x")
        []
    """
    final = Path(final)
    prefix = staging_prefix(final)
    removed = []
    if not final.parent.is_dir():
        return removed
    for tmp in final.parent.glob(f"{prefix}*"):
        pid = tmp.name[len(prefix) :].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def staging_folder(final: str | os.PathLike) -> Path:
    """Create ``<parent>/.<name>.tmp-<pid>-<random>`` for building ``final``; returns it.

    The parent folder is created if needed, and the abandoned temporary folders of ``final`` are
    removed first (:func:`remove_abandoned`). The caller renames the folder (or a folder in it)
    to ``final`` when complete and removes it on failure.

    Example:
        >>> import tempfile
        >>> tmp = staging_folder(Path(tempfile.mkdtemp()) / "broden1_224")
        >>> tmp.name.startswith(".broden1_224.tmp-")
        True
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(final)
    return Path(tempfile.mkdtemp(prefix=f"{staging_prefix(final)}{os.getpid()}-", dir=final.parent))
