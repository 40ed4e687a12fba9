"""The preview: the video with the chosen track, its offset and beat grid, the timeline and the transport."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject

from bgmatch.engine.session import beat_period_s, overlay, snap_offset_s, step_beats_s
from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import BeatGridCorrection, Suggestion, TrackDetails

from . import jobs

if TYPE_CHECKING:
    from .main_window import MainWindow


class PreviewFlow(QObject):
    """Holds the chosen :attr:`suggestion`, its :attr:`details` and the user's :attr:`offset_s`."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.suggestion: Suggestion | None = None
        self.details: TrackDetails | None = None
        self.offset_s = 0.0
        self.autoplay = False  # whether choosing a track starts playing it
        player, transport = window.player, window.transport
        player.position_changed.connect(self._position_changed)
        player.duration_changed.connect(transport.set_duration)
        player.playing_changed.connect(transport.set_playing)
        player.error.connect(window.show_error)
        transport.play_toggled.connect(player.toggle)
        transport.seek_requested.connect(player.seek)
        window.timeline.plot.seek_requested.connect(player.seek)
        window.suggestions.selected.connect(self.select)
        window.suggestions.table.doubleClicked.connect(lambda _index: player.play())

    # -- the video ---------------------------------------------------------------------------
    def load_video(self, result: jobs.SuggestResult) -> None:
        """Show a newly analysed video, with no track chosen yet."""
        w = self.window
        w.player.set_video(result.video_path, fps=result.info.fps)
        w.video_pane.show_video(True)
        w.transport.set_video_loaded(True)
        w.transport.set_duration(result.info.duration_s)
        w.transport.set_position(0.0)
        self.suggestion, self.details = None, None
        w.timeline.set_overlay(overlay(result.analysis))

    # -- the chosen track --------------------------------------------------------------------
    def select(self, suggestion: Suggestion | None) -> None:
        """Play ``suggestion`` (None: no track) from its offset."""
        w = self.window
        same = (suggestion is not None and self.suggestion is not None and self.details is not None
                and suggestion.track_id == self.suggestion.track_id)
        if same:
            return  # the row moved (sorting, filtering), the choice did not
        self.suggestion = suggestion
        if suggestion is None or w.library is None:
            self.details = None
            w.player.set_track(None)
            w.alignment.set_track_controls_enabled(False)
            w.export_action.setEnabled(False)
            self.redraw()
            return
        try:
            self.details = w.library.track_details(suggestion.track_id)
        except BgmatchError as exc:
            w.show_error(str(exc))
            return
        self.offset_s = w.suggestions.model.offset_s(suggestion)
        was_playing = w.player.is_playing
        w.player.set_track(Path(suggestion.path), self.offset_s)
        w.alignment.set_track_controls_enabled(True)
        w.export_action.setEnabled(True)
        self._show_track_state()
        if was_playing or self.autoplay:
            w.player.play()

    def _show_track_state(self) -> None:
        if self.suggestion is None or self.details is None:
            return
        self.window.alignment.set_offset(self.offset_s, self.suggestion.offset_s)
        self.window.alignment.set_tempo(self.details.tempo_bpm, not self.details.correction.is_identity)
        self.redraw()

    def redraw(self) -> None:
        """Draw the video's curves, and the chosen track's at its offset."""
        w = self.window
        result = w.suggest_flow.result
        if result is None:
            w.timeline.set_overlay(None)
            return
        if self.details is None:
            w.timeline.set_overlay(overlay(result.analysis))
            return
        w.timeline.set_overlay(overlay(result.analysis, self.details.music, offset_s=self.offset_s,
                                       beat_times_s=self.details.beat_times_s))
        w.timeline.plot.set_playhead(w.player.position_s)

    # -- offset ------------------------------------------------------------------------------
    def set_offset(self, offset_s: float) -> None:
        """Start the chosen track at ``offset_s`` (clamped to the track)."""
        if self.suggestion is None or self.details is None:
            return
        limit = max(0.0, self.details.music.duration_s - 0.1)
        self.offset_s = round(min(max(0.0, offset_s), limit), 3)
        self.window.suggestions.model.set_offset(self.suggestion.track_id, self.offset_s)
        self.window.player.set_offset(self.offset_s)
        self._show_track_state()

    def nudge_seconds(self, delta_s: float) -> None:
        """Move the track's start by ``delta_s``."""
        self.set_offset(self.offset_s + delta_s)

    def nudge_beats(self, beats: int) -> None:
        """Move the track's start to the ``beats``-th (corrected) beat from here."""
        if self.details is not None:
            self.set_offset(step_beats_s(self.offset_s, self.details.beat_times_s, beats))

    def snap_to_beat(self) -> None:
        """Snap the track's start to the nearest (corrected) beat."""
        if self.details is not None:
            self.set_offset(snap_offset_s(self.offset_s, self.details.beat_times_s))

    # -- beat grid ---------------------------------------------------------------------------
    def halve_tempo(self) -> None:
        """The tracker found double the tempo."""
        self._correct(lambda c: c.halved())

    def double_tempo(self) -> None:
        """The tracker found half the tempo."""
        self._correct(lambda c: c.doubled())

    def shift_grid(self, delta_s: float) -> None:
        """Move the beat grid by ``delta_s``."""
        self._correct(lambda c: c.shifted(delta_s))

    def shift_half_beat(self) -> None:
        """Move the beat grid onto the off-beat."""
        if self.details is not None:
            half = beat_period_s(self.details.beat_times_s) / 2
            self._correct(lambda c: c.shifted(half))

    def reset_grid(self) -> None:
        """Forget the track's correction."""
        self._correct(lambda c: BeatGridCorrection())

    def _correct(self, change: Callable[[BeatGridCorrection], BeatGridCorrection]) -> None:
        """Apply a beat-grid change to the chosen track and save it in the library."""
        w = self.window
        if self.details is None or w.library is None:
            return
        correction = change(self.details.correction)
        try:
            w.library.set_beat_correction(self.details.track_id, correction)
        except BgmatchError as exc:
            w.show_error(str(exc))
            return
        self.details = w.library.track_details(self.details.track_id, correction)
        w.suggestions.model.set_tempo(self.details.track_id, self.details.tempo_bpm)
        self._show_track_state()
        w.set_status(f"Beat grid of “{self.suggestion.title if self.suggestion else ''}”: "
                     f"{self.details.tempo_bpm:.1f} BPM, shifted {correction.shift_s * 1000:+.0f} ms (saved)")
        w.library_flow.refresh()

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
