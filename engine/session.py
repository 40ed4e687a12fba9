"""The app's companion door to the engine: what a preview needs besides the ``Library``.

Qt-free: the play-sync controller that keeps the music player in step with the video, the
timeline overlay data, and the beat-grid arithmetic used to snap and nudge an offset.
"""
from __future__ import annotations

from .analysis.beatgrid import beat_period_s, snap_offset_s, step_beats_s
from .preview.overlay import Overlay, cut_alignment, on_beat, overlay
from .preview.playsync import DriftConfig, DriftTracker

__all__ = ["DriftConfig", "DriftTracker", "Overlay", "beat_period_s", "cut_alignment", "on_beat", "overlay",
           "snap_offset_s", "step_beats_s"]
