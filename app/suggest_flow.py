"""A video in the window: analyse it and rank the library in a worker, list the suggestions, "more like this"."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import check_video

from . import jobs
from .shell import NO_LIBRARY, Shell
from .workers import Job

VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm *.mpg *.mpeg *.wmv *.flv *.mts *.m2ts);;All files (*)"


class SuggestFlow(QObject):
    """The job analysing and ranking the next video; its result goes to the session."""

    def __init__(self, window: Shell) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.job: Job | None = None
        self._job_video: Path | None = None
        self._started = 0.0
        self._likeness_title = ""
        window.analysis_task.cancel_requested.connect(self.cancel)
        window.suggestions.more_like_this.connect(self.more_like_this)

    # -- analysing a video -------------------------------------------------------------------
    def open_video_dialog(self) -> None:
        """Ask for a video and analyse it."""
        start = str(self.window.settings.last_folder("video"))
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a video", start, VIDEO_FILTER)
        if path:
            self.open_video(Path(path))

    def open_video(self, path: Path) -> bool:
        """Check ``path`` is a video, then analyse it and rank the library in a worker.

        A file that is not a readable video is reported and changes nothing. A video opened
        while another is being analysed replaces it (the older analysis is cancelled).
        """
        w = self.window
        path = Path(path)
        try:
            info = check_video(path)
        except BgmatchError as exc:
            w.show_error(str(exc))
            return False
        if w.library is None:
            w.show_error(NO_LIBRARY)
            return False
        if self.job is not None:
            self.job.cancel()
        self.job = w.runner.start(
            "analysis", "suggest", jobs.suggest_job(w.library, path, info), progress=self._progress,
            succeeded=self._ready, failed=self._failed, done=self._done)
        self._job_video = path
        self._started = time.monotonic()
        w.analysis_task.start(f"Analysing {path.name}…")
        w.set_status(f"Analysing {path.name}…")
        return True

    def rerank(self) -> None:
        """Rank the current video again (the model changed); an analysis under way starts over."""
        video = self._job_video if self.job is not None else self.window.session.video_path
        if video is not None:
            self.open_video(video)

    def cancel(self) -> None:
        """Cancel the running analysis (the current video and suggestions stay)."""
        if self.job is not None:
            self.job.cancel()
            self.job = None
            self.window.analysis_task.finish()
            self.window.set_status("Analysis cancelled.")

    def _is_current(self) -> bool:
        """Whether the signal being handled comes from the latest job (older ones were replaced)."""
        return self.job is not None and self.sender() is self.job.signals

    def _progress(self, done: int, total: int, text: str) -> None:
        if self._is_current():
            self.window.analysis_task.progress(done, total, text)

    def _failed(self, message: str) -> None:
        if self._is_current():
            self.window.show_error(message)

    def _done(self) -> None:
        if self._is_current():
            self.job = None
            self.window.analysis_task.finish()

    def _ready(self, result: jobs.SuggestResult) -> None:
        if not self._is_current():
            return
        w = self.window
        elapsed = time.monotonic() - self._started
        video = result.video
        w.settings.set_last_folder("video", video.path.parent)
        w.setWindowTitle(f"{video.path.name} — bgmatch")
        if not result.suggestions:
            w.suggestions.set_empty_text("Your music library is empty, so there is nothing to rank yet.\n\n"
                                         "Add a folder of music (Library ▸ Add Folder…), then open the video again.")
        try:
            w.session.set_video(video, result.suggestions)  # the best track is chosen, not played
        except BgmatchError as exc:
            w.show_error(str(exc))
            return
        w.tabs.setCurrentWidget(w.suggestions)
        n = len(result.suggestions)
        w.set_status(f"{video.path.name}: {len(video.analysis.cut_times_s)} cuts; "
                     f"{n} of {result.library_size} tracks ranked in {elapsed:.1f} s")

    # -- more like this ----------------------------------------------------------------------
    def more_like_this(self, track_id: str) -> None:
        """Sort the suggestions by likeness to ``track_id`` (computed in a worker)."""
        w = self.window
        if w.library is None:
            return
        listed = w.session.suggestions
        self._likeness_title = next((s.title for s in listed if s.track_id == track_id), track_id)
        w.runner.start("misc", "similar", jobs.similar_job(w.library, track_id, [s.track_id for s in listed]),
                       succeeded=self._likeness_ready, failed=w.show_error)
        w.set_status(f"Finding tracks like “{self._likeness_title}”…")

    def _likeness_ready(self, similarity: dict[str, float]) -> None:
        self.window.suggestions.show_likeness(self._likeness_title, similarity)
        self.window.set_status(f"Sorted by likeness to “{self._likeness_title}”")
