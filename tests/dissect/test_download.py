"""skdlib.dissect and the download-broden helper, against a zip served from 127.0.0.1."""

from __future__ import annotations

import importlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from skdlib.cli import main
from skdlib.data import make_synthetic_broden
from skdlib.dissect import (
    BrodenDataset,
    check_broden_layout,
    download,
    download_and_extract,
    download_broden,
    extract_zip,
)
from skdlib.dissect.broden import IncompleteBrodenError


class Server:
    """Serves ``files`` {path: bytes}; ``range_ok`` honours Range; ``cut`` truncates the next
    ``cut_times`` full-body responses after ``cut`` bytes (then closes the connection)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.range_ok = True
        self.cut: int | None = None
        self.cut_times = 0
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):  # noqa: N802 - http.server naming
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                match = re.match(r"bytes=(\d+)-$", rng or "")
                if match and server.range_ok:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                part = body[start:]
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if server.cut is not None and server.cut_times > 0:
                    server.cut_times -= 1
                    self.wfile.write(part[: server.cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(part)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope="module")
def broden_zip(tmp_path_factory) -> bytes:
    """A zip of a small generated Broden whose top folder is broden1_224/."""
    base = tmp_path_factory.mktemp("zip")
    make_synthetic_broden(base / "broden1_224", 6, size=32, progress=False)
    archive = shutil.make_archive(str(base / "broden1_224"), "zip", base, "broden1_224")
    return Path(archive).read_bytes()


def test_download_resumes_after_an_interruption(server, tmp_path):
    payload = bytes(range(256)) * 4000  # 1,024,000 bytes
    server.files["/big.bin"] = payload
    server.cut, server.cut_times = 300_000, 1
    dest = tmp_path / "dl" / "big.bin"
    with pytest.raises(RuntimeError) as info:
        download(f"{server.url}/big.bin", dest, chunk_size=65536, progress=False)
    msg = str(info.value)
    assert f"{server.url}/big.bin" in msg and "run the same command again to resume" in msg
    part = dest.with_name("big.bin.part")
    assert part.stat().st_size == 300_000 and not dest.exists()
    assert download(f"{server.url}/big.bin", dest, progress=False) == dest
    assert dest.read_bytes() == payload and not part.exists()
    assert server.requests == [("/big.bin", None), ("/big.bin", "bytes=300000-")]
    assert download(f"{server.url}/big.bin", dest, progress=False) == dest  # already there
    assert len(server.requests) == 2


def test_download_starts_over_when_the_server_ignores_range(server, tmp_path):
    payload = b"abcdefghij" * 1000
    server.files["/f.bin"] = payload
    server.range_ok = False
    dest = tmp_path / "f.bin"
    dest.with_name("f.bin.part").write_bytes(b"stale bytes")
    download(f"{server.url}/f.bin", dest, progress=False)
    assert dest.read_bytes() == payload
    assert server.requests == [("/f.bin", "bytes=11-")]


def test_complete_part_file_and_http_errors(server, tmp_path):
    server.files["/f.bin"] = b"x" * 50
    dest = tmp_path / "f.bin"
    dest.with_name("f.bin.part").write_bytes(b"x" * 50)  # complete, only not renamed yet
    download(f"{server.url}/f.bin", dest, progress=False)
    assert dest.read_bytes() == b"x" * 50
    with pytest.raises(RuntimeError, match=rf"cannot download {server.url}/nothing.zip: HTTP 404"):
        download(f"{server.url}/nothing.zip", tmp_path / "n.zip", progress=False)
    with pytest.raises(RuntimeError, match=r"cannot download http://127.0.0.1:9/x.zip"):
        download("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", timeout=5, progress=False)


def test_extract_zip_refuses_unsafe_paths_and_names_bad_archives(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.txt", "no")
    with pytest.raises(RuntimeError, match=r"unsafe path '../outside.txt'"):
        extract_zip(evil, tmp_path / "out", progress=False)
    assert not (tmp_path / "outside.txt").exists()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK not really")
    with pytest.raises(RuntimeError, match=rf"{bad} is not a readable zip file.*delete it"):
        extract_zip(bad, tmp_path / "out", progress=False)


def test_download_broden_unpacks_and_verifies(server, tmp_path, broden_zip):
    server.files["/data/broden1_224.zip"] = broden_zip
    server.cut, server.cut_times = len(broden_zip) // 2, 1
    url = f"{server.url}/data/broden1_224.zip"
    with pytest.raises(RuntimeError, match="resume"):
        download_broden(tmp_path / "data", url=url, progress=False)
    root = download_broden(tmp_path / "data", url=url, progress=False)  # resumes, unpacks
    assert root == tmp_path / "data" / "broden1_224"
    assert len(BrodenDataset(root)) == 6
    assert not (tmp_path / "data" / "broden1_224.zip").exists()  # archive removed
    assert server.requests[-1][1] == f"bytes={len(broden_zip) // 2}-"
    n = len(server.requests)
    assert download_broden(tmp_path / "data", url=url, progress=False) == root
    assert len(server.requests) == n  # complete and verified: nothing fetched
    (root / "label.csv").unlink()  # damaged folder: fetched and unpacked again
    assert download_broden(tmp_path / "data", url=url, progress=False) == root
    assert len(server.requests) == n + 1 and len(BrodenDataset(root)) == 6


def test_layout_verification_fails_on_an_incomplete_archive(server, tmp_path, broden_zip):
    src = tmp_path / "src.zip"
    src.write_bytes(broden_zip)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            if not info.filename.endswith("label.csv"):
                zout.writestr(info, zin.read(info))
    server.files["/broden1_224.zip"] = broken.read_bytes()
    with pytest.raises(RuntimeError, match=r"label.csv is missing.*delete .*broden1_224.zip"):
        download_broden(tmp_path / "data", url=f"{server.url}/broden1_224.zip", progress=False)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["broden1_224.zip"]
    server.files["/other.zip"] = src.read_bytes()
    with pytest.raises(RuntimeError, match=r"did not unpack to .*wanted/"):
        download_and_extract(f"{server.url}/other.zip", tmp_path / "d2", folder="wanted",
                             progress=False)  # fmt: skip


def test_cli_download_broden(server, tmp_path, broden_zip, capsys):
    server.files["/broden1_224.zip"] = broden_zip
    dest = tmp_path / "data"
    args = ["download-broden", "--dest", str(dest), "--url", f"{server.url}/broden1_224.zip"]
    assert main([*args, "--no-progress"]) == 0
    assert str(dest / "broden1_224") in capsys.readouterr().out
    assert main(["download-broden", "--dest", str(tmp_path / "d"), "--url",
                 f"{server.url}/missing.zip", "--no-progress"]) == 1  # fmt: skip
    assert "HTTP 404" in capsys.readouterr().err


# -- what "Broden is ready" means: every file there, never a half-unpacked folder ---------------


@pytest.fixture()
def zip_url(tmp_path, broden_zip) -> str:
    """A ``file://`` URL of the zipped generated Broden (6 images)."""
    path = tmp_path / "server" / "broden1_224.zip"
    path.parent.mkdir()
    path.write_bytes(broden_zip)
    return path.as_uri()


def jpegs(root: Path) -> list[Path]:
    return sorted((root / "images" / "synthetic").glob("*.jpg"))


def snapshot(root: Path) -> dict[str, int]:
    """Every path under ``root`` (itself included) with its modification time in ns."""
    return {str(p): p.stat().st_mtime_ns for p in [root, *root.rglob("*")]}


def test_half_the_jpegs_deleted_is_never_ready(tmp_path, zip_url, capsys):
    data = tmp_path / "data"
    root = download_broden(data, url=zip_url, progress=False)
    gone = jpegs(root)[::2]
    for path in gone:
        path.unlink()
    with pytest.raises(IncompleteBrodenError) as info:
        check_broden_layout(root)
    msg = str(info.value)
    assert f"Broden folder {root} is incomplete: 3 of the " in msg
    assert "synthetic/000000.jpg (line 2), synthetic/000002.jpg (line 4)" in msg
    assert f"Delete {root} and run `python -m skdlib download-broden --dest {data}`" in msg
    # the CLI says "ready" only after fetching again and replacing the incomplete folder
    assert main(["download-broden", "--dest", str(data), "--url", zip_url, "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert f"{root} is incomplete" in err and "synthetic/000000.jpg (line 2)" in err
    assert f"Broden is ready in {root}" in out
    assert all(p.is_file() for p in gone) and check_broden_layout(root) == root
    assert sorted(p.name for p in data.iterdir()) == ["broden1_224"]  # no temporary folder left


def test_an_archive_lacking_files_is_refused_and_never_shown(tmp_path, broden_zip, capsys):
    half = tmp_path / "server" / "broden1_224.zip"
    half.parent.mkdir()
    with zipfile.ZipFile(io.BytesIO(broden_zip)) as zin, zipfile.ZipFile(half, "w") as zout:
        for info in zin.infolist():
            if not re.search(r"00000[024]\.jpg$", info.filename):  # half the JPEGs left out
                zout.writestr(info, zin.read(info))
    data = tmp_path / "data"
    args = ["download-broden", "--dest", str(data), "--url", half.as_uri(), "--no-progress"]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "ready" not in out
    assert re.search(r"unpacks to an incomplete broden1_224/ \(3 of the \d+ image and segm", err)
    assert (
        f"missing from {data / 'broden1_224' / 'images'}: synthetic/000000.jpg (line 2), "
        "synthetic/000002.jpg (line 4), synthetic/000004.jpg (line 6))"
    ) in err
    assert f"delete {data / 'broden1_224.zip'} and run again" in err
    assert sorted(p.name for p in data.iterdir()) == ["broden1_224.zip"]  # kept, nothing else


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_an_unzip_failing_midway_leaves_no_folder(tmp_path, zip_url, monkeypatch, error):
    real_extract = zipfile.ZipFile.extract
    done = []

    def extract(self, member, path=None, pwd=None):
        if len(done) == 10:
            raise error
        done.append(member)
        return real_extract(self, member, path, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "extract", extract)
    data = tmp_path / "data"
    with pytest.raises(type(error)):
        download_broden(data, url=zip_url, progress=False)
    assert len(done) == 10
    assert sorted(p.name for p in data.iterdir()) == ["broden1_224.zip"]  # no half folder
    monkeypatch.undo()
    root = download_broden(data, url=zip_url, progress=False)  # the next call completes
    assert check_broden_layout(root) == root and len(jpegs(root)) == 6
    assert sorted(p.name for p in data.iterdir()) == ["broden1_224"]


def test_a_truncated_archive_leaves_no_folder(tmp_path, zip_url, broden_zip):
    data = tmp_path / "data"
    data.mkdir()
    archive = data / "broden1_224.zip"
    archive.write_bytes(broden_zip[: len(broden_zip) // 2])  # e.g. copied in by hand, cut short
    with pytest.raises(RuntimeError, match=rf"{archive} is not a readable zip file.*delete it"):
        download_broden(data, url=zip_url, progress=False)
    assert sorted(p.name for p in data.iterdir()) == ["broden1_224.zip"]
    archive.unlink()  # as the message says
    assert check_broden_layout(download_broden(data, url=zip_url, progress=False))


def test_a_killed_unzip_is_cleaned_up_by_the_next_call(tmp_path, zip_url):
    """A real ``kill -9`` in the middle of the unzip: no folder under the final name, and the
    next call removes the killed run's temporary folder and completes."""
    data = tmp_path / "data"
    script = f"""
import os, signal, zipfile
from skdlib.dissect import download_broden
real, n = zipfile.ZipFile.extract, []
def extract(self, member, path=None, pwd=None):
    if len(n) == 12:
        os.kill(os.getpid(), signal.SIGKILL)
    n.append(member)
    return real(self, member, path, pwd)
zipfile.ZipFile.extract = extract
download_broden({str(data)!r}, url={zip_url!r}, progress=False)
"""
    repo = Path(__file__).resolve().parents[2]  # so that the child imports this skdlib
    run = [sys.executable, "-c", script]
    killed = subprocess.run(run, capture_output=True, text=True, cwd=repo)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = sorted(p.name for p in data.iterdir())
    assert left[0].startswith(".broden1_224.tmp-") and left[1:] == ["broden1_224.zip"]
    assert list((data / left[0]).rglob("*.*"))  # the half unzip is in the temporary folder
    root = download_broden(data, url=zip_url, progress=False)
    assert check_broden_layout(root) == root
    assert sorted(p.name for p in data.iterdir()) == ["broden1_224"]


def test_a_valid_folder_is_kept_untouched(tmp_path, zip_url, monkeypatch):
    data = tmp_path / "data"
    root = download_broden(data, url=zip_url, progress=False)
    before = snapshot(root)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    abandoned = data / f".broden1_224.tmp-{int(dead.stdout)}-a1b2"
    (abandoned / "broden1_224").mkdir(parents=True)
    running = data / f".broden1_224.tmp-{os.getpid()}-c3d4"  # alive: maybe still unzipping
    running.mkdir()
    gone = (tmp_path / "nowhere.zip").as_uri()  # would fail if anything were fetched
    assert download_broden(data, url=gone, progress=False) == root
    assert snapshot(root) == before
    assert not abandoned.exists() and running.exists()
    running.rmdir()

    # another run finishes the folder while this one unpacks: the finished one is kept
    (root / "label.csv").unlink()  # damaged: this call fetches and unpacks again
    download_mod = importlib.import_module("skdlib.dissect.download")
    real_extract = download_mod.extract_zip
    other: dict[str, dict] = {}

    def extract_while_another_run_finishes(archive, dest, progress=True):
        shutil.rmtree(root)
        real_extract(archive, data, progress=False)  # the other run's complete folder
        other["snapshot"] = snapshot(root)
        return real_extract(archive, dest, progress=progress)

    monkeypatch.setattr(download_mod, "extract_zip", extract_while_another_run_finishes)
    assert download_broden(data, url=zip_url, progress=False) == root
    monkeypatch.undo()
    assert snapshot(root) == other["snapshot"] and check_broden_layout(root) == root
    assert sorted(p.name for p in data.iterdir()) == ["broden1_224"]
