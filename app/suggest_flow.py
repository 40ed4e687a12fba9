"""A video in the window: analyse it and rank the library in a worker, list the suggestions, re-rank them
for a text without analysing the video again, "more like this", play a suggestion from its button."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import Suggestion, check_video
from bgmatch.engine.session import Ranking, TextSteer

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
        self._job_steer = TextSteer()  # the text the running analysis ranks by
        self.rerank_job: Job | None = None
        self._rerank_steer = TextSteer()
        self._pending_steer: TextSteer | None = None
        window.analysis_task.cancel_requested.connect(self.cancel)
        window.suggestions.more_like_this.connect(self.more_like_this)
        window.suggestions.steer_changed.connect(self.steer)
        window.suggestions.play_requested.connect(self._play)
        window.suggestions.steer_bar.first_focus.connect(self.warm_text)
        self.text_warmed = False

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
        self._cancel_rerank()
        self._job_steer = w.suggestions.steer_bar.steer()
        self.job = w.runner.start(
            "analysis", "suggest", jobs.suggest_job(w.library, path, info, self._job_steer), progress=self._progress,
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
        """Cancel the running analysis or re-ranking (the current video and suggestions stay)."""
        if self.job is not None or self.rerank_job is not None:
            if self.job is not None:
                self.job.cancel()
                self.job = None
            self._cancel_rerank()
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
            pending, self._pending_steer = self._pending_steer, None
            if pending is not None and self.window.session.query is not None:
                self.steer(pending)

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
        wanted = w.suggestions.steer_bar.steer()
        # Words changed while the video was analysed rank it again once the job is done (set before
        # the session hears of the video: its views may run the event loop, and ``done`` with it).
        self._pending_steer = wanted if wanted != self._job_steer else None
        try:  # the best track is chosen, not played
            w.session.set_video(video, result.suggestions, query=result.query, fits=result.fits, steer=self._job_steer)
        except BgmatchError as exc:
            self._pending_steer = None
            w.show_error(str(exc))
            return
        w.tabs.setCurrentWidget(w.suggestions)
        n = len(result.suggestions)
        if result.message:
            w.set_status(result.message, error=True)
        else:
            w.set_status(f"{video.path.name}: {len(video.analysis.cut_times_s)} cuts; "
                         f"{n} of {result.library_size} tracks ranked in {elapsed:.1f} s")

    # -- steering by text --------------------------------------------------------------------
    def steer(self, steer: TextSteer) -> None:
        """Rank the current video again under ``steer`` in a worker, without analysing it again
        (before any video: the next one is ranked so)."""
        w = self.window
        query = w.session.query
        if w.library is None or query is None or self.job is not None:
            return  # a running analysis takes the bar's words when it is done
        self._cancel_rerank()
        self._rerank_steer = steer
        self.rerank_job = w.runner.start(
            "analysis", "rerank", jobs.rerank_job(w.library, query, steer, w.session.fits),
            progress=self._rerank_progress, succeeded=self._reranked, failed=self._rerank_failed,
            done=self._rerank_done)
        text = f"Ranking for “{steer.text.strip()}”…" if steer.active else "Ranking by the video alone…"
        w.analysis_task.start(text)
        w.set_status(text)

    def warm_text(self) -> None:
        """Load the text model in the background once the user goes to the text box."""
        w = self.window
        if w.library is not None and not self.text_warmed:
            self.text_warmed = True
            w.runner.start("misc", "warm-text", jobs.warm_text_job(w.library))

    def _cancel_rerank(self) -> None:
        if self.rerank_job is not None:
            self.rerank_job.cancel()
            self.rerank_job = None

    def _is_current_rerank(self) -> bool:
        return self.rerank_job is not None and self.sender() is self.rerank_job.signals

    def _rerank_progress(self, done: int, total: int, text: str) -> None:
        if self._is_current_rerank():
            self.window.analysis_task.progress(done, total, text)

    def _rerank_failed(self, message: str) -> None:
        if self._is_current_rerank():
            self.window.show_error(message)

    def _rerank_done(self) -> None:
        if self._is_current_rerank():
            self.rerank_job = None
            self.window.analysis_task.finish()

    def _reranked(self, ranking: Ranking) -> None:
        if not self._is_current_rerank():
            return
        w, steer = self.window, self._rerank_steer
        try:
            w.session.set_ranking(ranking, steer)
        except BgmatchError as exc:
            w.show_error(str(exc))
            return
        if ranking.message:
            w.set_status(ranking.message, error=True)
        elif ranking.steered:
            w.set_status(f"Ranked for “{steer.text.strip()}” ({steer.weight:.0%} words, "
                         f"{1 - steer.weight:.0%} video)")
        else:
            w.set_status("Ranked by the video alone")

    def _play(self, suggestion: Suggestion) -> None:
        """A suggestion's play button: it was chosen like a click on its row; play it."""
        if self.window.session.chosen is not None and self.window.session.chosen.track_id == suggestion.track_id:
            self.window.player.play()

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
