"""Progress bars that read as finished in a saved notebook.

``tqdm.auto`` shows an ipywidgets bar in a kernel. A notebook saved after a headless run (papermill,
nbclient) keeps that bar's plain-text form as it was when the bar was *first displayed*, so every
finished loop reads ``0%| | 0/16``. The bar here is ``tqdm.auto``'s, except that in a kernel it is
displayed with a display id and re-published when it closes, so the saved text is its final state
(``100%|██████████| 16/16 [00:03<00:00, ...]``, or where it stopped); a finished ``leave=False`` bar
is replaced by nothing, as it vanishes on screen. Outside a kernel it is ``tqdm.auto``'s terminal
bar unchanged.

Use it as tqdm::

    from skdlib.progress import tqdm

    for batch in tqdm(loader, desc="dataset targets"):
        ...
"""

from __future__ import annotations

from tqdm.auto import tqdm as _auto_tqdm
from tqdm.notebook import tqdm as _notebook_tqdm

__all__ = ["tqdm"]


if issubclass(_auto_tqdm, _notebook_tqdm):  # in a kernel with ipywidgets

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

        def close(self) -> None:
            """Close the bar, then re-publish it so its saved text shows where it ended; a
            finished ``leave=False`` bar is replaced by nothing, as it vanishes on screen."""
            if self.disable:
                return
            stopped_early = bool(self.total and self.n < self.total)
            super().close()
            if self._handle is not None:
                if self.leave or stopped_early:
                    self._handle.update(self.container)
                else:
                    self._handle.update({"text/plain": ""}, raw=True)
                self._handle = None

else:
    tqdm = _auto_tqdm
