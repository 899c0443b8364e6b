"""Progress bars that read as finished in a saved notebook.

``tqdm.auto`` shows an ipywidgets bar in a kernel. A notebook saved after a headless run (papermill,
nbclient) keeps that bar's plain-text form as it was when the bar was *first displayed*, so every
finished loop reads ``0%| | 0/16``. The bar here is ``tqdm.auto``'s, except that in a kernel it is
displayed with a display id and re-published when it closes, so the saved text is its final state
(``100%|██████████| 16/16 [00:03<00:00, ...]``, or where it stopped); a finished ``leave=False`` bar
is replaced by nothing, as it vanishes on screen. Outside a kernel it is ``tqdm.auto``'s terminal
bar unchanged, and neither ``tqdm.notebook`` nor ipywidgets is imported.

In a headless run (``python -m skdlib notebooks``) nobody sees the widget, so when
``$SKD_PROGRESS_LOG`` names a file every bar in the kernel also appends one plain line there —
all open bars, at most every :data:`MIRROR_SECONDS` and when a kept bar closes — and the runner
prints those lines as they arrive (:func:`mirror_line` builds one). The saved notebook is not
touched by it.

Use it as tqdm::

    from skdlib.progress import tqdm

    for batch in tqdm(loader, desc="dataset targets"):
        ...
"""

from __future__ import annotations

import os
import sys
import time

from tqdm.auto import tqdm as _auto_tqdm

__all__ = [
    "tqdm",
    "mirror_line",
    "show_bars",
    "epoch_lines",
    "EPOCH_LINES",
    "PROGRESS_LOG_ENV",
    "MIRROR_SECONDS",
]

#: ``progress=EPOCH_LINES`` asks a training loop for one printed line per epoch instead of bars
#: (what ``--no-progress`` gives on the command line: a batch log is never silent).
EPOCH_LINES = "epochs"


def show_bars(progress: bool | str) -> bool:
    """Whether a loop given ``progress`` shows tqdm bars (``True``; not ``False`` or
    ``"epochs"``).

    Example:
        >>> show_bars(True), show_bars(False), show_bars("epochs")
        (True, False, False)
    """
    return bool(progress) and progress != EPOCH_LINES


def epoch_lines(progress: bool | str) -> bool:
    """Whether a training loop given ``progress`` prints one line per epoch (``"epochs"``)."""
    return progress == EPOCH_LINES


#: Set by the notebook runner to a file the kernel's bars report to.
PROGRESS_LOG_ENV = "SKD_PROGRESS_LOG"
#: Least seconds between two reported lines (a kept bar closing is always reported).
MIRROR_SECONDS = 10.0
_last_mirror = [float("-inf")]


def mirror_line(bars) -> str:
    """One plain line for ``bars`` (outermost first): each bar's meter without the bar itself.

    Example:
        >>> import io
        >>> from tqdm import tqdm as plain
        >>> outer = plain(total=240, desc="skd resnet8x4", unit="epoch", file=io.StringIO())
        >>> inner = plain(total=391, desc="epoch 13", unit="batch", file=io.StringIO())
        >>> _ = outer.update(12), inner.update(40)
        >>> [part.split(" [")[0] for part in mirror_line([outer, inner]).split(" · ")]
        ['skd resnet8x4:   5% 12/240', 'epoch 13:  10% 40/391']
    """
    parts = []
    for bar in bars:
        meter = {**bar.format_dict, "ncols": 0}
        parts.append(bar.format_meter(**meter))
    return " · ".join(parts)


def _mirror(bar, closing: bool = False) -> None:
    """Append the open bars' line to ``$SKD_PROGRESS_LOG`` (throttled; see the module)."""
    path = os.environ.get(PROGRESS_LOG_ENV)
    if not path or bar.disable or (closing and not bar.leave):
        return
    now = time.monotonic()
    if not closing and now - _last_mirror[0] < MIRROR_SECONDS:
        return
    _last_mirror[0] = now
    bars = [b for b in list(getattr(type(bar), "_instances", ())) if not b.disable]
    if bar not in bars:
        bars.append(bar)
    bars.sort(key=lambda b: abs(getattr(b, "pos", 0) or 0))
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(mirror_line(bars) + "\n")
    except OSError:  # a report that cannot be written must not stop the work it reports on
        pass


# tqdm.auto imports tqdm.notebook (and with it ipywidgets) only inside a kernel with ipywidgets;
# elsewhere neither is loaded, so a training process or a command pays for no widget library.
_notebook = sys.modules.get("tqdm.notebook")

if _notebook is not None and issubclass(_auto_tqdm, _notebook.tqdm):  # in a kernel

    class tqdm(_auto_tqdm):  # noqa: N801 - the name users know
        """``tqdm.auto.tqdm`` whose saved plain text is its final state (see the module)."""

        def __init__(self, *args, **kwargs) -> None:
            from IPython.display import display

            self._handle = None
            if kwargs.get("delay", 0) > 0:  # shown later by tqdm itself: its own behaviour
                super().__init__(*args, **kwargs)
                return
            show = kwargs.pop("display", True)
            super().__init__(*args, display=False, **kwargs)
            if not self.disable and show:
                self._handle = display(self.container, display_id=True)
                self.displayed = True

        def display(self, *args, **kwargs):
            """tqdm's widget update, also reported to ``$SKD_PROGRESS_LOG`` when it is set."""
            shown = super().display(*args, **kwargs)
            _mirror(self)
            return shown

        def close(self) -> None:
            """Close the bar, then re-publish it so its saved text shows where it ended; a
            finished ``leave=False`` bar is replaced by nothing, as it vanishes on screen."""
            if self.disable:
                return
            stopped_early = bool(self.total and self.n < self.total)
            _mirror(self, closing=True)
            super().close()
            if self._handle is not None:
                if self.leave or stopped_early:
                    self._handle.update(self.container)
                else:
                    self._handle.update({"text/plain": ""}, raw=True)
                self._handle = None

else:
    tqdm = _auto_tqdm
