"""skdlib.commands.download_broden: the flags reach download_broden (the download itself, from a
local server, is tested in tests/dissect/test_download.py)."""

from skdlib.cli import main
from skdlib.dissect import BRODEN_URL


def test_flags_reach_the_download_and_the_folder_is_printed(monkeypatch, tmp_path, capsys):
    seen = []

    def fake(dest, url, keep_archive, progress):
        seen.append((dest, url, keep_archive, progress))
        return tmp_path / "broden1_224"

    monkeypatch.setattr("skdlib.dissect.download_broden", fake)
    assert main(["download-broden", "--dest", str(tmp_path)]) == 0
    assert main(["download-broden", "--url", "http://127.0.0.1:9/b.zip", "--keep-archive",
                 "--no-progress"]) == 0  # fmt: skip
    assert seen == [
        (str(tmp_path), BRODEN_URL, False, True),
        ("data", "http://127.0.0.1:9/b.zip", True, False),
    ]
    assert f"Broden is ready in {tmp_path / 'broden1_224'}" in capsys.readouterr().out
