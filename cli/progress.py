"""Progress bars of the CLI (tqdm on stderr) for the engine's ``progress(done, total, message)`` callbacks."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


class ProgressBar:
    """A tqdm bar on stderr, drawn from the first progress report with work in it on: a job with
    nothing to do (no report, or a total of 0) leaves nothing on stderr. A context manager;
    ``update`` is the progress callback."""

    def __init__(self, quiet: bool, unit: str) -> None:
        self.quiet, self.unit, self.bar = quiet, unit, None

    def update(self, done: int, total: int, path: str) -> None:
        if self.quiet or (self.bar is None and total <= 0):
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=self.unit, dynamic_ncols=True, leave=False, file=sys.stderr)
        self.bar.total = total
        self.bar.n = done
        self.bar.set_postfix_str(Path(path).name[-40:] if path else "", refresh=False)
        self.bar.refresh()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_bar(quiet: bool, unit: str) -> tuple[ProgressBar, Callable[[int, int, str], None]]:
    """A :class:`ProgressBar` (use it as a context manager) and its progress callback."""
    bar = ProgressBar(quiet, unit)
    return bar, bar.update
