"""Resumable downloads of large archives, unpacking, and a check of what was unpacked: Broden.

Large data sets (Broden is ~1 GB) come over slow or flaky connections, so:

* :func:`download` writes to ``<file>.part`` and, when called again after an interruption, asks
  the server for the remaining bytes only (HTTP ``Range``); a server that ignores ``Range`` gets a
  fresh download. The file appears under its final name only when complete.
* :func:`extract_zip` unpacks with a progress bar and refuses members that would land outside the
  destination.
* :func:`download_and_extract` chains both: it unpacks into a temporary sibling folder, verifies
  it with a caller-given check and renames it to its final name only then (an interrupted unzip
  leaves no half folder); it skips everything when the folder is already there and passes the
  check. For Broden the check is :func:`~skdlib.dissect.check_broden_layout`: every image and
  segmentation file that ``index.csv`` names must be there.

Example (with a network)::

    download_and_extract("http://example.org/data.zip", "data", folder="data")  # -> data/data
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from ..progress import tqdm
from ..staging import remove_abandoned, staging_folder
from .broden import check_broden_layout
from .broden_format import BRODEN_FOLDER, BRODEN_URL

__all__ = ["download", "extract_zip", "download_and_extract", "download_broden"]

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_CONTENT_RANGE_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")


def _incomplete(url: str, part: Path, have: int, total: int | None, why: str) -> RuntimeError:
    size = f" of {total}" if total else ""
    return RuntimeError(
        f"download of {url} stopped after {have}{size} bytes ({why}); the partial file "
        f"{part} is kept: run the same command again to resume"
    )


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    chunk_size: int = 1 << 20,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest``, resuming from ``dest + '.part'`` if an earlier call stopped.

    Args:
        url: ``http(s)://`` (or ``file://``) address.
        dest: final file path; parent folders are created.
        chunk_size: bytes per read.
        timeout: seconds to wait for the server on connect and on each read.
        progress: show a tqdm bar (bytes).

    Returns:
        ``dest`` once it holds the complete file (``Content-Length`` checked when the server
        sends one). An existing ``dest`` is returned as is.

    Raises:
        RuntimeError: naming the URL when the server refuses (HTTP error) or cannot be reached,
            and naming the kept ``.part`` file when the transfer stops midway.

    Example (``file://`` addresses work too)::

        download("http://127.0.0.1:8000/x.zip", "data/x.zip")   # -> Path("data/x.zip")
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "skdlib-download/1", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Range not satisfiable: complete already if the server says the file is this long.
            match = _CONTENT_RANGE_UNSATISFIED.match(exc.headers.get("Content-Range", "") or "")
            if match and int(match.group(1)) == have:
                os.replace(part, dest)
                return dest
            part.unlink()
            raise RuntimeError(
                f"the partial download {part} ({have} bytes) does not match {url} (HTTP 416); it "
                "was deleted: run the same command again to start over"
            ) from exc
        raise RuntimeError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RuntimeError(
            f"cannot download {url}: {reason}. Check the address and your connection"
            + (f"; the partial file {part} is kept for resuming" if have else "")
        ) from exc

    with response:
        status = getattr(response, "status", 200)
        length = response.headers.get("Content-Length")
        if have and status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "") or "")
            if match is None or int(match.group(1)) != have:
                raise RuntimeError(
                    f"{url} answered a resume request with Content-Range "
                    f"{response.headers.get('Content-Range')!r}, expected bytes {have}-...; delete "
                    f"{part} and run again"
                )
            total = int(match.group(3)) if match.group(3) != "*" else None
            mode = "ab"
        else:  # a fresh download, or a server that ignores Range: start over
            have, mode = 0, "wb"
            total = int(length) if length is not None else None
        bar = tqdm(
            total=total,
            initial=have,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            disable=not progress,
        )
        try:
            with open(part, mode) as handle, bar:
                while True:
                    try:
                        chunk = response.read(chunk_size)
                    except Exception as exc:  # noqa: BLE001 - http.client.IncompleteRead, resets
                        handle.flush()
                        raise _incomplete(url, part, part.stat().st_size, total, str(exc)) from exc
                    if not chunk:
                        break
                    handle.write(chunk)
                    bar.update(len(chunk))
        except OSError as exc:
            raise _incomplete(url, part, part.stat().st_size, total, str(exc)) from exc
    size = part.stat().st_size
    if total is not None and size != total:
        raise _incomplete(url, part, size, total, "the connection closed early")
    os.replace(part, dest)
    return dest


def extract_zip(archive: str | os.PathLike, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Unpack a zip file into ``dest`` (created if needed); returns ``dest``.

    Members whose path would leave ``dest`` (absolute paths, ``..``) are refused. A damaged
    archive raises ``RuntimeError`` naming it and telling to delete it and download again.

    Example::

        extract_zip("data/broden1_224.zip", "data")     # -> Path("data")
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise RuntimeError(
                        f"{archive} holds the unsafe path {info.filename!r}; refusing to unpack it"
                    )
            total = sum(m.file_size for m in members)
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=f"unzip {archive.name}",
                disable=not progress,
            ) as bar:
                for info in members:
                    zf.extract(info, dest)
                    bar.update(info.file_size)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise RuntimeError(
            f"{archive} is not a readable zip file ({exc}); delete it and download again"
        ) from exc
    return dest


def _publish(unpacked: Path, target: Path, tmp: Path, verify: Callable[[Path], object] | None):
    """Rename the verified ``unpacked`` folder to ``target``. A ``target`` that exists (found
    incomplete earlier) is moved into ``tmp`` first, to be deleted with it, unless it now passes
    ``verify`` (another run finished it meanwhile): then it is kept and ``unpacked`` discarded."""
    if target.exists():
        try:
            if verify is not None:
                verify(target)
            return  # complete (another run's): keep it
        except (OSError, ValueError):
            os.rename(target, tmp / f"replaced-{target.name}")
    try:
        os.rename(unpacked, target)
    except OSError:
        if not target.is_dir():
            raise
        if verify is not None:
            verify(target)  # appeared meanwhile (another run): use it only if it is complete


def download_and_extract(
    url: str,
    dest: str | os.PathLike,
    *,
    folder: str,
    verify: Callable[[Path], object] | None = None,
    keep_archive: bool = False,
    progress: bool = True,
) -> Path:
    """Fetch a zip from ``url`` into ``dest`` and unpack it to ``dest/folder``, verified first.

    The archive is unpacked into a temporary sibling, ``dest/.<folder>.tmp-<pid>-<random>``
    (:func:`skdlib.staging.staging_folder`); ``folder`` from it is verified and renamed to
    ``dest/folder`` only when complete, so an interrupted or failed unpack never leaves a half
    folder under the final name. The temporary folder of a run that was killed is removed by the
    next call. A folder that is already there and passes ``verify`` is returned untouched; one
    that fails it is fetched (or resumed) and unpacked again, and replaced once the new copy
    passes.

    Args:
        url: the archive's address; its file name (last path part) names the local archive.
        dest: the folder to unpack into (e.g. ``data``).
        folder: the folder the archive unpacks to (e.g. ``broden1_224``).
        verify: called with the unpacked folder; it should raise an ``OSError`` or ``ValueError``
            that names what is wrong. Also decides whether an existing ``dest/folder`` is complete.
        keep_archive: keep the downloaded zip (default: delete it after a verified unpack).
        progress: tqdm bars for download and unpacking.

    Returns:
        ``dest/folder``.

    Raises:
        RuntimeError: the download failed (see :func:`download`), or the archive is unreadable,
            lacks ``folder`` or unpacks to a folder that fails ``verify``; the message names the
            archive, which is kept, and says to delete it to download it anew.

    Example (with a network)::

        download_and_extract(BRODEN_URL, "data", folder="broden1_224")  # -> data/broden1_224
    """
    dest = Path(dest)
    target = dest / folder
    remove_abandoned(target)
    if target.is_dir():
        try:
            if verify is not None:
                verify(target)
            return target
        except (OSError, ValueError) as exc:  # incomplete: download (or resume), unpack again
            print(f"{target} is incomplete ({exc}); fetching {url} again", file=sys.stderr)
    name = Path(urlparse(url).path).name or f"{folder}.zip"
    archive = dest / name
    download(url, archive, progress=progress)
    tmp = staging_folder(target)
    try:
        extract_zip(archive, tmp, progress=progress)
        unpacked = tmp / folder
        if not unpacked.is_dir():
            found = sorted(p.name for p in tmp.iterdir() if p.is_dir())
            raise RuntimeError(
                f"{archive} did not unpack to {folder}/ (its top folders: {found}); is {url} the "
                f"right archive? Nothing was put at {target}"
            )
        if verify is not None:
            try:
                verify(unpacked)
            except (OSError, ValueError) as exc:
                # name the final place, not the temporary one that is about to be deleted
                detail = str(getattr(exc, "summary", exc)).replace(str(tmp), str(dest))
                raise RuntimeError(
                    f"{archive} unpacks to an incomplete {folder}/ ({detail}); nothing was put at "
                    f"{target}. The archive is kept: delete {archive} and run again to download "
                    "it anew"
                ) from exc
        _publish(unpacked, target, tmp, verify)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not keep_archive:
        archive.unlink()
    return target


def download_broden(
    dest: str | os.PathLike = "data",
    url: str = BRODEN_URL,
    keep_archive: bool = False,
    progress: bool = True,
) -> Path:
    """Download ``broden1_224`` (~1 GB), unpack it into ``dest`` and verify the layout.

    Resumable: an interrupted download continues from its ``.part`` file on the next call; the
    archive is unpacked into a temporary folder and becomes ``dest/broden1_224`` only when
    :func:`~skdlib.dissect.check_broden_layout` finds every file of ``index.csv`` there. A folder
    that is already complete is verified and returned without downloading; an incomplete one
    (e.g. half its JPEGs deleted) is fetched and unpacked again, then replaced.

    Returns:
        ``dest/broden1_224``.

    Example (with a network; ``python -m skdlib download-broden`` does the same)::

        download_broden("data")    # -> Path("data/broden1_224")
    """
    return download_and_extract(
        url,
        dest,
        folder=BRODEN_FOLDER,
        verify=check_broden_layout,
        keep_archive=keep_archive,
        progress=progress,
    )
