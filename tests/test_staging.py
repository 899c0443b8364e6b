"""skdlib.staging: temporary sibling folders, and the removal of those left by killed runs."""

from __future__ import annotations

import os
import subprocess
import sys

from skdlib.staging import remove_abandoned, staging_folder, staging_prefix


def dead_pid() -> int:
    """The id of a process that has exited (a short-lived child)."""
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return int(out.stdout)


def test_staging_folder_is_a_hidden_sibling_named_after_this_process(tmp_path):
    final = tmp_path / "new" / "x"
    tmp = staging_folder(final)
    assert tmp.parent == final.parent and tmp.is_dir() and not final.exists()
    assert tmp.name.startswith(f"{staging_prefix(final)}{os.getpid()}-")
    assert staging_folder(final) != tmp  # two stagings of one folder do not collide


def test_only_the_folders_of_dead_processes_are_removed(tmp_path):
    final = tmp_path / "x"
    final.mkdir()
    (final / "keep.txt").write_text("finished")
    abandoned = tmp_path / f".x.tmp-{dead_pid()}-ab12"
    (abandoned / "images").mkdir(parents=True)
    running = tmp_path / f".x.tmp-{os.getpid()}-cd34"  # alive: maybe still writing
    running.mkdir()
    other = tmp_path / f".y.tmp-{dead_pid()}-ef56"  # another folder's
    other.mkdir()
    odd = tmp_path / ".x.tmp-notapid"
    odd.mkdir()
    assert remove_abandoned(final) == [abandoned]
    assert not abandoned.exists()
    assert running.exists() and other.exists() and odd.exists()
    assert (final / "keep.txt").read_text() == "finished"
    assert remove_abandoned(tmp_path / "absent" / "x") == []  # no parent folder: nothing to do


def test_staging_folder_cleans_up_first(tmp_path):
    abandoned = tmp_path / f".x.tmp-{dead_pid()}-zz"
    abandoned.mkdir()
    tmp = staging_folder(tmp_path / "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [tmp.name]
