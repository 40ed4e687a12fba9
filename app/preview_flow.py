"""The preview: shows the session's video and chosen track in the player, the timeline and the transport.

A view of :class:`~bgmatch.engine.session.Session`: it subscribes to the session's events (a new
video, a choice, an offset moved, a beat grid corrected, a fit plan made or dropped) and passes
the user's picks to it. The offset and the beat grid live in the session; the player reads the
offset from there. With a fit plan (the "Fit to video" switch, :mod:`.fit_flow`) the player plays
the rendered fit from 0 under the video and the timeline shows the plan's segments and joins.
The music volume is the transport's, remembered in the app settings.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import FitPlan, Suggestion, TrackDetails, Waveform
from bgmatch.engine.session import Choice, LoadedVideo, overlay, track_marks

from .shell import Shell
from .workers import Job


class PreviewFlow(QObject):
    """Keeps the player, the alignment bar and the timeline in step with the session."""

    def __init__(self, window: Shell) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.session = window.session
        player, transport = window.player, window.transport
        player.position_changed.connect(self._position_changed)
        player.duration_changed.connect(transport.set_duration)
        player.playing_changed.connect(transport.set_playing)
        player.error.connect(window.show_error)
        transport.play_toggled.connect(player.toggle)
        transport.seek_requested.connect(player.seek)
        transport.set_volume(window.settings.volume)
        transport.volume_changed.connect(self.set_volume)
        self._waveform_job: Job | None = None
        self._waveform_path: Path | None = None  # the file whose waveform is drawn (or being read)
        window.timeline.plot.seek_requested.connect(player.seek)
        window.suggestions.selected.connect(self.select)
        window.suggestions.table.doubleClicked.connect(lambda _index: player.play())
        events = self.session.events
        events.video.connect(self._video_loaded)
        events.chosen.connect(self._chosen)
        events.offset.connect(self._offset_moved)
        events.beat_grid.connect(self._grid_corrected)
        events.fit_plan.connect(self._fit_changed)

    # -- the user's pick ---------------------------------------------------------------------
    def select(self, suggestion: Suggestion | None) -> None:
        """The user picked ``suggestion`` in the list (None: no track): choose it, to be played."""
        try:
            self.session.choose(suggestion, play=True)
        except BgmatchError as exc:
            self.window.show_error(str(exc))

    # -- what the session says ---------------------------------------------------------------
    def _video_loaded(self, video: LoadedVideo | None) -> None:
        w = self.window
        w.player.set_video(video.path if video else None, fps=video.info.fps if video else 25.0)
        w.video_pane.show_video(video is not None)
        w.transport.set_video_loaded(video is not None)
        w.transport.set_duration(video.info.duration_s if video else 0.0)
        w.transport.set_position(0.0)
        w.timeline.set_overlay(overlay(video.analysis) if video else None)
        if video is None:
            self._show_waveform(None)

    def _chosen(self, choice: Choice | None) -> None:
        w = self.window
        if choice is None:
            w.player.set_track(None)
            w.alignment.set_track_controls_enabled(False)
            w.export_action.setEnabled(False)
            w.timeline.set_track_header(None)
            self.redraw()
            return
        was_playing = w.player.is_playing
        self._play_session_track()
        w.alignment.set_track_controls_enabled(True)
        w.export_action.setEnabled(True)
        self._show_track_state()
        if was_playing or choice.play:
            w.player.play()

    def _offset_moved(self, _offset_s: float) -> None:
        self.window.player.realign()
        self._show_track_state()

    def _fit_changed(self, _plan: FitPlan | None) -> None:
        if self.session.chosen is None:
            return
        self._play_session_track()
        self.redraw()

    def _play_session_track(self) -> None:
        """The rendered fit from 0 when there is one, else the chosen track from its offset."""
        fitted, chosen = self.session.fit_audio_path, self.session.chosen
        if fitted is not None:
            self.window.player.set_track(fitted, fixed_offset_s=0.0)
        elif chosen is not None:
            self.window.player.set_track(Path(chosen.path))

    def set_volume(self, volume: float) -> None:
        """The music's volume (0–1) from now on, remembered for the next run."""
        self.window.player.set_volume(volume)
        self.window.settings.volume = volume

    def _grid_corrected(self, details: TrackDetails) -> None:
        self._show_track_state()
        chosen = self.session.chosen
        self.window.set_status(f"Beat grid of “{chosen.title if chosen else ''}”: {details.tempo_bpm:.1f} BPM, "
                               f"shifted {details.correction.shift_s * 1000:+.0f} ms (saved)")

    def _show_track_state(self) -> None:
        chosen, details = self.session.chosen, self.session.details
        if chosen is None or details is None:
            return
        self.window.alignment.set_offset(self.session.offset_s, chosen.offset_s)
        self.window.alignment.set_tempo(details.tempo_bpm, not details.correction.is_identity)
        self.redraw()

    def redraw(self) -> None:
        """Draw the video's curves, and the chosen track's (waveform, beats, bars, sections) at
        its offset, or as its fit plan plays it."""
        w, video, details, chosen = self.window, self.session.video, self.session.details, self.session.chosen
        if video is None:
            w.timeline.set_overlay(None)
            return
        if details is None or chosen is None:
            w.timeline.set_overlay(overlay(video.analysis))
            self._show_waveform(None)
            return
        plan, offset = self.session.fit_plan, self.session.offset_s
        marks = track_marks(duration_s=video.analysis.duration_s, offset_s=offset, beat_times_s=details.beat_times_s,
                            downbeat_times_s=details.downbeat_times_s, section_times_s=details.section_times_s,
                            plan=plan)
        w.timeline.set_overlay(overlay(video.analysis, details.music, offset_s=offset,
                                       beat_times_s=details.beat_times_s), marks)
        w.timeline.set_track_header(chosen.title, chosen.tags, fitted=plan is not None)
        fitted = self.session.fit_audio_path
        self._show_waveform(fitted or Path(chosen.path), offset_s=0.0 if fitted is not None else offset)
        w.timeline.plot.set_playhead(w.player.position_s)

    # -- the waveform ------------------------------------------------------------------------
    def _show_waveform(self, path: Path | None, *, offset_s: float = 0.0) -> None:
        """Draw the waveform of ``path`` (read on a worker the first time) with ``offset_s`` at 0."""
        plot, library = self.window.timeline.plot, self.session.library
        if path is None or library is None:
            self._waveform_path = None
            plot.set_waveform(None)
            return
        if path == self._waveform_path and plot.waveform is not None:
            plot.set_waveform(plot.waveform, offset_s=offset_s)  # the offset moved
            return
        self._waveform_path = path
        plot.set_waveform(None)
        job = self.window.runner.prepare("misc", "waveform", lambda _progress, _cancel: library.waveform(path))
        job.signals.succeeded.connect(lambda waveform, p=path: self._waveform_read(p, waveform))
        job.signals.failed.connect(lambda message: self.window.set_status(message, error=True))
        self._waveform_job = self.window.runner.submit(job)

    def _waveform_read(self, path: Path, waveform: Waveform) -> None:
        if path != self._waveform_path:
            return  # another track (or the fit) was chosen meanwhile
        fitted = self.session.fit_audio_path
        self.window.timeline.plot.set_waveform(waveform, offset_s=0.0 if fitted is not None else self.session.offset_s)

    # -- playback ----------------------------------------------------------------------------
    def _position_changed(self, position_s: float) -> None:
        self.window.transport.set_position(position_s)
        self.window.timeline.plot.set_playhead(position_s)

    def play_forward(self) -> None:
        """L: play; pressed while playing, double the speed (up to 4×)."""
        player = self.window.player
        if player.is_playing:
            player.set_rate(min(4.0, player.rate * 2))
        else:
            player.set_rate(1.0)
            player.play()
        self.window.transport.set_rate(player.rate)

    def pause(self) -> None:
        """K: pause and return to normal speed."""
        self.window.player.pause()
        self.window.player.set_rate(1.0)
        self.window.transport.set_rate(1.0)
