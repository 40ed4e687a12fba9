"""The app's companion door to the engine: the editing session and what a preview needs besides the ``Library``.

Qt-free: the :class:`Session` model (video, suggestions, chosen track, its offset and beat grid,
fit plan, export settings) with its change events, the play-sync controller that keeps the music
player in step with the video, the timeline overlay data and the track's marks (beats, bars,
sections, a fit's segments), rendering the preview's fit to the video, and the beat-grid arithmetic.
"""
from __future__ import annotations

from ..analysis.beatgrid import beat_period_s, snap_offset_s, step_beats_s
from ..preview.overlay import Overlay, cut_alignment, on_beat, overlay
from ..preview.playsync import DriftConfig, DriftTracker
from ..preview.marks import FittedSegment, TrackMarks, fitted_times_s, track_marks
from .events import Event
from .fitpreview import FitRequest, FittedPreview, render_preview
from .ranking import DEFAULT_TEXT_WEIGHT, Ranking, TextSteer, fit_measures, rank
from .state import Choice, ExportRequest, LoadedVideo, Session, SessionEvents
from .tagfilter import carries, tag_counts

__all__ = ["Choice", "DriftConfig", "DriftTracker", "Event", "ExportRequest", "LoadedVideo", "Overlay", "Session",
           "SessionEvents", "beat_period_s", "cut_alignment", "on_beat", "overlay", "snap_offset_s", "step_beats_s",
           "FitRequest", "FittedPreview", "FittedSegment", "TrackMarks", "fitted_times_s", "render_preview", "track_marks",
           "DEFAULT_TEXT_WEIGHT", "Ranking", "TextSteer", "carries", "fit_measures", "rank", "tag_counts"]
