"""The output folder of a profile: how the tutorial notebooks hand results to each other.

Every notebook of a profile reads and writes files in ``runs/<profile>/``. A notebook that needs a
file another notebook makes asks for it with :meth:`OutputFolder.require`, which names the
notebook to run first when the file is missing. Key numbers go to ``metrics.json`` (merged across
notebooks) for the summary the notebook runner writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import filenames
from ..checkpoint import atomic_write_text
from ..viz.figures import save_figure
from .claims import Claim

if TYPE_CHECKING:
    from ..viz.figures import plt  # matplotlib is drawn in skdlib.viz alone

__all__ = ["OutputFolder", "MissingInputError", "project_root", "shown_path"]


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The repository root: ``$SKD_ROOT`` if set, else the nearest folder at or above ``start``
    (default: the working directory) that holds both ``notebooks/`` and ``skdlib/``, else
    ``start`` itself. Notebooks run from ``notebooks/`` and scripts from the root both land on
    the same ``runs/`` and ``data/`` this way.
    """
    if os.environ.get("SKD_ROOT"):
        return Path(os.environ["SKD_ROOT"])
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "skdlib").is_dir():
            return folder
    return here


def shown_path(path: str | os.PathLike) -> str:
    """``path`` as a notebook should print it: relative to the :func:`project_root` when it lies
    inside it (``runs/quick/figures/x.png``), else unchanged. Saved notebooks then carry no
    folder names of the machine that ran them.

    Example:
        >>> shown_path(project_root() / "runs" / "quick")
        'runs/quick'
    """
    path = Path(os.path.abspath(path))  # absolute, with symbolic links kept as they are named
    try:
        return path.relative_to(os.path.abspath(project_root())).as_posix()
    except ValueError:
        return str(path)


class MissingInputError(FileNotFoundError):
    """A notebook's input file does not exist yet; the message names the notebook that makes it."""


class OutputFolder:
    """The folder ``<root>/<profile>`` holding one profile's artifacts, figures and metrics.

    ``root`` defaults to ``runs/`` in the :func:`project_root`.

    Example:
        >>> out = OutputFolder("quick", root="/tmp/skd-doc-runs")
        >>> out.path("embedding.pt").name
        'embedding.pt'
    """

    def __init__(self, profile: str, root: str | os.PathLike | None = None) -> None:
        self.profile = profile
        self.root = Path(root if root is not None else project_root() / "runs") / profile
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "figures").mkdir(exist_ok=True)

    def __str__(self) -> str:
        return shown_path(self.root)

    def path(self, name: str) -> Path:
        """Path of a file in the output folder (it need not exist)."""
        return self.root / name

    def figure(self, name: str) -> Path:
        """Path for a figure, ``figures/<name>.png``."""
        return self.root / "figures" / f"{name}.png"

    def save_figure(self, fig: plt.Figure, name: str, dpi: int = 110) -> None:
        """Save ``fig`` as :meth:`figure` ``(name)`` and say where, relative to the project.

        Returns nothing, so a notebook cell ending with it prints one line, not a path object.
        """
        path = save_figure(fig, self.figure(name), dpi=dpi)
        print(f"figure saved: {shown_path(path)}")

    def require(self, name: str, made_by: str) -> Path:
        """Path of an input that must exist; otherwise say which notebook to run first.

        Raises:
            MissingInputError: naming the file, the profile and ``made_by``.
        """
        path = self.path(name)
        if not path.exists():
            raise MissingInputError(
                f"{path} is missing: run notebook {made_by} with profile={self.profile!r} first "
                f"(or `python -m skdlib notebooks --profile {self.profile}` for all of them)"
            )
        return path

    # -- metrics shared by all notebooks ---------------------------------------------------------
    @property
    def metrics_path(self) -> Path:
        return self.root / filenames.METRICS

    def metrics(self) -> dict[str, Any]:
        """All metrics recorded so far, ``{section: {key: value}}``."""
        if not self.metrics_path.exists():
            return {}
        return json.loads(self.metrics_path.read_text())

    def record(self, section: str, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into ``metrics.json`` under ``section`` (written atomically)."""
        data = self.metrics()
        data.setdefault(section, {}).update(values)
        atomic_write_text(self.metrics_path, json.dumps(data, indent=2, default=float))
        return data[section]

    def claim(
        self,
        key: str,
        expected: str,
        value: float,
        reference: float,
        factor: float = 1.0,
        relation: str = ">=",
    ) -> None:
        """Check that ``value`` is ``relation`` ``factor × reference``, record the outcome under
        ``claims`` in ``metrics.json`` and print one line saying whether it held
        (see :class:`~skdlib.tutorial.claims.Claim`)."""
        claim = Claim(key, expected, float(value), float(reference), float(factor), relation)
        self.record("claims", **{key: claim.as_record()})
        print(claim.line())
