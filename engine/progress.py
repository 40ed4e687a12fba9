"""The one progress protocol of the engine, the CLI, training and the app.

Long work takes ``progress(done, total, message)`` — ``done`` of ``total`` steps so far and a
short line saying what is being done (``total`` 0: not known yet) — and ``cancel()``, asked
between steps, which stops the work cleanly when it returns True (what was done is kept).
"""
from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[int, int, str], None]
"""``progress(done, total, message)``."""
CancelFn = Callable[[], bool]
"""``cancel() -> True`` to stop at the next step."""


def report(progress: ProgressFn | None, done: int, total: int, message: str = "") -> None:
    """Call ``progress`` when there is one."""
    if progress is not None:
        progress(done, total, message)


def cancelled(cancel: CancelFn | None) -> bool:
    """Whether ``cancel`` asks to stop (False when there is none)."""
    return cancel is not None and bool(cancel())


def scaled(progress: ProgressFn | None, *, start: int, span: int, total: int) -> ProgressFn | None:
    """A ``progress`` for a sub-task that maps its own (done, total) onto ``span`` steps of a
    larger job of ``total`` steps, starting at ``start``."""
    if progress is None:
        return None

    def sub(done: int, sub_total: int, message: str) -> None:
        part = span * done // sub_total if sub_total else 0
        progress(start + part, total, message)

    return sub
