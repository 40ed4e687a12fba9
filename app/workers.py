"""Run long work off the GUI thread: jobs on QThreadPool lanes, with progress and cancel.

A job is a plain function ``fn(progress, cancel) -> result`` with the engine's progress protocol,
``progress(done, total, message)`` (``total`` 0: busy, amount unknown); :class:`Job` runs it in a
pool thread (handed to the pool as a callable, which the pool lets go after the run) and reports
through Qt signals, which are delivered on the GUI thread. A job stops on cancel by raising
:class:`JobCancelled` (``cancelled`` signal) or by returning a partial result (``succeeded``).
Each lane is a pool of one thread, so jobs of one kind (analysis, library, export, …) queue behind
each other while different kinds run side by side.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import ProgressFn

#: Lanes and how many threads each has.
LANES = {"analysis": 1, "library": 1, "export": 1, "training": 1, "misc": 1}


class JobCancelled(Exception):
    """Raised inside a job to stop it when the user cancelled."""


class CancelToken:
    """A thread-safe cancel flag; calling it returns whether it is set (the engine's ``cancel``)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()

    @property
    def event(self) -> threading.Event:
        """The underlying event (for interfaces that take a ``threading.Event``)."""
        return self._event

    def raise_if_cancelled(self) -> None:
        """Raise :class:`JobCancelled` when cancelled (from inside a job's callbacks)."""
        if self._event.is_set():
            raise JobCancelled()


JobFn = Callable[[ProgressFn, CancelToken], Any]


class JobSignals(QObject):
    """What a running job reports; ``done`` always comes last."""

    progress = Signal(int, int, str)  # done, total (0: busy), message
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()


def error_message(exc: BaseException) -> str:
    """One line for the user: the engine's own message, or the file and reason of an OS error."""
    if isinstance(exc, BgmatchError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"unexpected error ({type(exc).__name__}): {exc}"


class Job:
    """One run of a job function in a pool thread.

    Not a ``QRunnable``: PySide's ``QThreadPool.start(runnable)`` keeps a reference to every
    runnable it was given for as long as the pool lives, so no job was ever freed.
    """

    def __init__(self, fn: JobFn, name: str) -> None:
        self.fn = fn
        self.name = name
        self.lane = "misc"
        self.token = CancelToken()
        self.signals = JobSignals()

    def cancel(self) -> None:
        """Ask the job to stop (it may still finish its current step)."""
        self.token.cancel()

    def _progress(self, done: int, total: int, message: str) -> None:
        if not self.token.cancelled:
            self.signals.progress.emit(int(done), int(total), message)

    def run(self) -> None:
        """Run in a pool thread; every outcome becomes one signal, then ``done``."""
        try:
            if self.token.cancelled:
                self.signals.cancelled.emit()
                return
            result = self.fn(self._progress, self.token)
        except JobCancelled:
            self.signals.cancelled.emit()
        except Exception as exc:  # the thread boundary: every error reaches the user as one line
            self.signals.failed.emit(error_message(exc))
        else:
            # A job that returns normally after a cancel hands over its partial result
            # (e.g. the tracks indexed before stopping); jobs with nothing partial raise instead.
            self.signals.succeeded.emit(result)
        finally:
            self.signals.done.emit()


class JobRunner(QObject):
    """Starts jobs on named lanes and keeps them alive until they are done.

    A finished job is let go on the GUI thread once its lane is idle (``done`` is delivered while
    the pool thread may still be returning from :meth:`Job.run` and holding it). The runner's own
    connection holds the job weakly: a strong one would be a cycle through Qt (job → signals →
    slot → job) that Python's collector cannot see.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pools: dict[str, QThreadPool] = {}
        for lane, threads in LANES.items():
            pool = QThreadPool(self)
            pool.setMaxThreadCount(threads)
            self._pools[lane] = pool
        self._active: set[Job] = set()
        self._finished: list[Job] = []

    def prepare(self, lane: str, name: str, fn: JobFn) -> Job:
        """A job for ``lane``, not yet started: connect to its ``signals``, then :meth:`submit` it."""
        if lane not in self._pools:
            raise KeyError(f"no worker lane {lane!r}")
        job = Job(fn, name)
        job.lane = lane
        return job

    def submit(self, job: Job) -> Job:
        """Start a prepared job (connections made before this cannot miss a signal)."""
        self._active.add(job)
        ref = weakref.ref(job)
        job.signals.done.connect(lambda: self._retire(ref))
        self._pools[job.lane].start(job.run)
        return job

    def _retire(self, ref: "weakref.ref[Job]") -> None:
        job = ref()
        if job is not None:
            self._active.discard(job)
            self._finished.append(job)
        self._finished = [j for j in self._finished if self._pools[j.lane].activeThreadCount() > 0]

    def start(self, lane: str, name: str, fn: JobFn, *, progress: ProgressFn | None = None,
              succeeded: Callable[[Any], None] | None = None, failed: Callable[[str], None] | None = None,
              cancelled: Callable[[], None] | None = None, done: Callable[[], None] | None = None) -> Job:
        """Prepare ``fn`` on ``lane``, connect the given handlers, and start it."""
        job = self.prepare(lane, name, fn)
        for signal, handler in ((job.signals.progress, progress), (job.signals.succeeded, succeeded),
                                (job.signals.failed, failed), (job.signals.cancelled, cancelled),
                                (job.signals.done, done)):
            if handler is not None:
                signal.connect(handler)
        return self.submit(job)

    def active(self, name: str | None = None) -> list[Job]:
        """Jobs not yet done (with this name, if given)."""
        return [j for j in self._active if name is None or j.name == name]

    def cancel_all(self) -> None:
        """Ask every job to stop."""
        for job in list(self._active):
            job.cancel()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until every lane is idle (at shutdown); returns whether they all finished."""
        idle = all(pool.waitForDone(timeout_ms) for pool in self._pools.values())
        if idle:
            self._finished.clear()
        return idle
