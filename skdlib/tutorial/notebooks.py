"""The notebook runner: execute the tutorial notebooks headless with papermill, one profile at
a time.

``python -m skdlib notebooks --profile quick`` executes every numbered notebook in order with
``profile`` injected as a parameter, writes the executed copies to ``runs/<profile>/notebooks/``,
and ends with ``runs/<profile>/summary.md``: the key numbers each notebook recorded in
``metrics.json`` and links to every figure. Each notebook is executed into a temporary file and
renamed when it completes, so an interrupted run never leaves a half-executed copy in place of a
good one. The first failing notebook stops the run with a message naming it and its executed copy
(where the traceback is), and a non-zero exit; a run that stops early marks its summary incomplete.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import filenames
from ..checkpoint import atomic_write_text
from ..progress import PROGRESS_LOG_ENV, tqdm
from .outputs import OutputFolder, project_root
from .profiles import PROFILES, get_profile
from .steps import check_paper_inputs

__all__ = ["notebook_paths", "execute_notebooks", "write_summary", "NotebookFailed"]


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names it and where its executed copy is."""


def notebook_paths(folder: str | os.PathLike | None = None) -> list[Path]:
    """The numbered tutorial notebooks (``NN_*.ipynb``) in order."""
    folder = Path(folder) if folder is not None else project_root() / "notebooks"
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no numbered notebooks (NN_*.ipynb) in {folder}")
    return paths


def execute_notebooks(
    profile: str,
    notebooks: list[Path] | None = None,
    progress: bool = True,
    trial_run: bool = False,
) -> Path:
    """Execute ``notebooks`` (default: all) with ``profile``; returns the summary's path.

    Each notebook runs with its own folder as working directory, so its output folder is
    ``runs/<profile>/`` of the project root (``runs/<profile>-trial/`` with ``trial_run``: the
    profile with every schedule cut to one epoch, :meth:`Profile.trial`), as when it runs in
    JupyterLab. A profile that reads real data has all of it checked before the first notebook
    (:func:`check_paper_inputs`). With ``progress``, the bars inside the running notebook are
    reported here as plain lines (at most every 10 s; see :mod:`skdlib.progress`).

    Raises:
        FileNotFoundError: real data the profile needs is missing (nothing was run).
        NotebookFailed: on the first notebook that fails.
    """
    import papermill

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    settings = get_profile(profile, trial_run)
    notebooks = notebooks or notebook_paths()
    root = project_root(notebooks[0].parent)
    out = OutputFolder(settings.name, root / "runs")
    executed = out.path("notebooks")
    executed.mkdir(exist_ok=True)
    timings: dict[str, float] = {}
    try:
        check_paper_inputs(settings, data=root / "data")
    except FileNotFoundError as exc:
        _finish(out, timings, stopped="the profile's data is missing (nothing was run)")
        raise FileNotFoundError(f"{exc}\nSee README.md, 'Getting the real data'.") from None
    bar = tqdm(
        notebooks, desc=f"notebooks ({settings.name})", unit="notebook", disable=not progress
    )
    for nb in bar:
        bar.set_postfix_str(nb.name)
        start = time.perf_counter()
        target = executed / nb.name
        # executed into a temporary file: the previous good copy stays until this one is done
        running = executed / f".{nb.stem}.running.ipynb"
        try:
            with _reported(executed / f".{nb.stem}.progress.log", nb.stem, progress):
                papermill.execute_notebook(
                    str(nb),
                    str(running),
                    parameters={"profile": profile, "trial_run": trial_run},
                    kernel_name="python3",
                    cwd=str(nb.parent),
                    progress_bar=False,
                )
        except Exception as exc:  # noqa: BLE001 - papermill raises several kinds
            if running.exists():
                os.replace(running, target)  # the failed copy, with its traceback
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
            message = f"notebook {nb.name} failed with profile {settings.name!r}: {last}"
            _finish(out, timings, stopped=message)
            raise NotebookFailed(
                f"{message}\nthe executed copy with the traceback is {target}"
            ) from exc
        except BaseException:  # Ctrl-C, a kill: the half-run copy must not pass for a result
            if running.exists():
                running.unlink()
            _finish(out, timings, stopped=f"interrupted during {nb.name}")
            raise
        os.replace(running, target)
        timings[nb.name] = round(time.perf_counter() - start, 1)
        tqdm.write(f"{nb.name}: {timings[nb.name]:.0f} s")
    return _finish(out, timings)


@contextmanager
def _reported(log: Path, name: str, progress: bool) -> Iterator[None]:
    """While the block runs, the kernel's bars append to ``log`` (via ``$SKD_PROGRESS_LOG``,
    which the kernel inherits) and a thread prints each new line prefixed with ``name``."""
    if not progress:
        yield
        return
    log.write_text("")
    before = os.environ.get(PROGRESS_LOG_ENV)
    os.environ[PROGRESS_LOG_ENV] = str(log)
    done = threading.Event()

    def follow() -> None:
        with open(log, encoding="utf-8") as lines:
            while True:
                finished = done.wait(1.0)
                for line in lines.readlines():
                    tqdm.write(f"  {name} · {line.rstrip()}")
                if finished:
                    return

    reporter = threading.Thread(target=follow, daemon=True)
    reporter.start()
    try:
        yield
    finally:
        done.set()
        reporter.join(timeout=5)
        if before is None:
            os.environ.pop(PROGRESS_LOG_ENV, None)
        else:
            os.environ[PROGRESS_LOG_ENV] = before
        log.unlink(missing_ok=True)


def _finish(out: OutputFolder, timings: dict[str, float], stopped: str | None = None) -> Path:
    if timings:
        out.record("timings_s", **timings, total=round(sum(timings.values()), 1))
    return write_summary(out, stopped=stopped)


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def write_summary(out: OutputFolder, stopped: str | None = None) -> Path:
    """Write ``summary.md``: every recorded metric section as a table, then the figures.

    ``stopped``: why the run stopped early; the summary then opens by saying it is incomplete.
    """
    lines = [f"# skd tutorial — profile `{out.profile}`", ""]
    if stopped:
        lines += [
            f"**Incomplete run: {stopped}.** The notebooks after it did not run; numbers and "
            "figures they record may be missing or left from an earlier run.",
            "",
        ]
    if out.profile.endswith("-trial"):
        lines += [
            "A trial run: the profile's data and models with every schedule cut to one epoch, a",
            "check of the set-up. **Its numbers mean nothing.**",
            "",
        ]
    elif out.profile != "paper":
        lines += [
            "Offline data and models: synthetic concept images, a ResNet18 trained briefly on",
            "them, a generated 100-class CIFAR stand-in. **These are not the paper's numbers.**",
            "",
        ]
    metrics = out.metrics()
    claims = metrics.pop("claims", {})
    if claims:
        held = sum(bool(c["held"]) for c in claims.values())
        lines += [
            "## expected orderings",
            "",
            f"{held} of {len(claims)} held. Each row: what the number was expected to show "
            "against its baseline, and whether it did.",
            "",
            "| claim | expected | ours | baseline | ratio | outcome |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for key, c in claims.items():
            ratio = c["ratio"] if isinstance(c["ratio"], str) else f"{c['ratio']:.3g}"
            outcome = "held" if c["held"] else "**missed**"
            lines.append(
                f"| {key} | {c['expected']} | {c['value']:.4g} | {c['reference']:.4g} | {ratio} "
                f"| {outcome} |"
            )
        lines.append("")
    for section, values in metrics.items():
        lines += [f"## {section}", "", "| key | value |", "| --- | --- |"]
        lines += [f"| {k} | {_format(v)} |" for k, v in values.items()]
        lines.append("")
    figures = sorted(out.path("figures").glob("*.png"))
    if figures:
        lines += ["## figures", ""]
        lines += [f"- [{f.stem}](figures/{f.name})" for f in figures]
        lines.append("")
    executed = sorted(out.path("notebooks").glob("*.ipynb"))
    if executed:
        lines += ["## executed notebooks", ""]
        lines += [f"- [{f.name}](notebooks/{f.name})" for f in executed]
    path = out.path(filenames.SUMMARY_MD)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
