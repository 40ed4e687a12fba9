"""The preview's "Fit to video" switch: keep the session's fit plan for the chosen track, its offset
and the video's length, rendered to a cache file the preview plays.

While the switch is on, every change the fit depends on (the video, the chosen track, its offset,
its beat grid) drops the session's plan at once (the session does that: the preview falls back to
the track as it is) and, after a short pause for more nudges, plans and renders the new fit on a
worker (:func:`bgmatch.engine.session.render_preview`, with progress). A render that finishes for
a request that is no longer the session's is thrown away, so a stale fit never plays. Recent
renders are kept in memory: switching back and forth, or back to an earlier offset, is instant.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from bgmatch.engine.library import FitPlan
from bgmatch.engine.session import FitRequest, FittedPreview, render_preview

from .shell import Shell
from .workers import Job

#: Wait this long after the last change before fitting (offset nudges come in bursts).
DEBOUNCE_MS = 350
#: Renders remembered in memory (their files are in the cache folder).
REMEMBERED = 8


def default_cache_dir() -> Path:
    """Where rendered fits are written: the app's cache folder."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)) / "fits"


class FitFlow(QObject):
    """Runs the fit of the chosen track while the switch is on; :attr:`job` is the render in flight."""

    def __init__(self, window: Shell, *, cache_dir: Path | None = None) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.session = window.session
        self.cache_dir = cache_dir or default_cache_dir()
        self.job: Job | None = None
        self._job_key: str | None = None
        self._failed_key: str | None = None  # not retried until something changes
        self._renders: OrderedDict[str, FittedPreview] = OrderedDict()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refit)
        window.transport.fit_toggled.connect(self.session.set_fit_enabled)
        events = self.session.events
        events.fit_enabled.connect(self._switched)
        events.fit_plan.connect(self._plan_changed)
        for event in (events.video, events.chosen, events.offset, events.beat_grid):
            event.connect(lambda _value: self._changed())

    # -- what the session says ---------------------------------------------------------------
    def _switched(self, enabled: bool) -> None:
        self.window.transport.set_fit_checked(enabled)
        if enabled:
            self.refit()
        else:
            self._timer.stop()
            self._cancel()
            self.window.transport.set_fit_status("")

    def _changed(self) -> None:
        self.window.transport.set_fit_available(self.session.fit_request() is not None)
        if self.session.fit_enabled:
            self._timer.start()  # restarted by each change: fits once the user stops nudging
            self.window.transport.set_fit_status("…")

    def _plan_changed(self, plan: FitPlan | None) -> None:
        if plan is not None:
            joins = len(plan.segments) - 1
            self.window.transport.set_fit_status(f"{joins} join{'s' if joins != 1 else ''}" if joins else "as is")
            self.window.transport.fit_status.setToolTip("\n".join(plan.warnings))

    # -- fitting -----------------------------------------------------------------------------
    def refit(self) -> None:
        """Fit the chosen track for the session as it is now (at once from memory, else on a worker)."""
        self._timer.stop()
        request = self.session.fit_request()
        if not self.session.fit_enabled or request is None:
            return
        key = request.key
        if self.session.fit_plan is not None and self._current_key() == key:
            return
        if key in self._renders:
            self._use(self._renders[key])
            return
        if self.job is not None and self._job_key == key:
            return  # already fitting this
        self._cancel()
        folder = self.cache_dir
        job = self.window.runner.prepare(
            "misc", "fit", lambda progress, cancel: render_preview(request, cache_dir=folder, progress=progress,
                                                                   cancel=cancel))
        job.signals.progress.connect(self._progress)
        job.signals.succeeded.connect(self._rendered)
        job.signals.failed.connect(lambda message, k=key: self._failed(k, message))
        job.signals.done.connect(lambda j=job: self._done(j))
        self.job, self._job_key = job, key
        self.window.runner.submit(job)
        self.window.transport.set_fit_status("fitting…")

    def _current_key(self) -> str | None:
        audio = self.session.fit_audio_path
        return audio.stem.removeprefix("fit-") if audio is not None else None

    def _progress(self, done: int, total: int, message: str) -> None:
        self.window.transport.set_fit_status(f"fitting… {100 * done // total} %" if total else "fitting…")
        self.window.set_status(message)

    def _rendered(self, preview: FittedPreview | None) -> None:
        if preview is None:
            return  # cancelled
        self._renders[preview.request.key] = preview
        while len(self._renders) > REMEMBERED:
            self._renders.popitem(last=False)
        request = self.session.fit_request()
        if self.session.fit_enabled and request is not None and request.key == preview.request.key:
            self._use(preview)
            notes = "; ".join(preview.plan.warnings)
            title = self.session.chosen.title if self.session.chosen is not None else request.track.stem
            self.window.set_status(f"Playing “{title}” fitted to {request.duration_s:.1f} s"
                                   + (f" ({notes})" if notes else ""))

    def _use(self, preview: FittedPreview) -> None:
        self.session.set_fit_plan(preview.plan, audio_path=preview.audio_path)

    def _failed(self, key: str, message: str) -> None:
        self._failed_key = key
        request = self.session.fit_request()
        if request is not None and request.key == key:
            self.window.transport.set_fit_status("not fitted")
            self.window.set_status(message, error=True)

    def _done(self, job: Job) -> None:
        if job is not self.job:
            return  # a cancelled render ending after a newer one started
        self.job, self._job_key = None, None
        request = self.session.fit_request()
        if (self.session.fit_enabled and self.session.fit_plan is None and not self._timer.isActive()
                and request is not None and request.key != self._failed_key):
            self.refit()  # the session moved on while this one rendered

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def remembered(self, request: FitRequest) -> FittedPreview | None:
        """The render of ``request`` kept in memory, if any."""
        return self._renders.get(request.key)
