"""The preview's timeline: a video's motion and cuts against a track's onsets and beats.

Everything is put on the video's time axis (0 … video duration) for a given start offset in
the track, and scaled to 0–1 for plotting. :func:`cut_alignment` counts how many cuts land on
a beat. Pure functions over the engine's analysis dataclasses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.fitmeasure import ON_BEAT_TOLERANCE_S  # one "on the beat" for the list, the CLI and the timeline
from ..analysis.motion import VideoAnalysis
from ..analysis.rhythm import MusicAnalysis

#: The motion curve is scaled by this percentile: flow spikes at cuts would flatten the rest.
MOTION_PERCENTILE = 99.0


@dataclass(frozen=True)
class Overlay:
    """Curves and marks of the timeline, all in video seconds."""

    duration_s: float
    motion_times_s: np.ndarray  # [T]
    motion: np.ndarray  # [T] 0–1
    cut_times_s: np.ndarray  # [C]
    onset_times_s: np.ndarray  # [F] (empty without a track)
    onset: np.ndarray  # [F] 0–1
    beat_times_s: np.ndarray  # [B] beats of the track that fall inside the video


def _unit(x: np.ndarray, *, percentile: float = 100.0) -> np.ndarray:
    """Scale to 0–1 by a high percentile (below 100, one spike does not flatten the rest)."""
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return x.astype(np.float32)
    top = float(np.percentile(x, percentile))
    if top <= 0:
        return np.zeros(len(x), np.float32)
    return np.clip(x / top, 0.0, 1.0).astype(np.float32)


def overlay(video: VideoAnalysis, music: MusicAnalysis | None = None, *, offset_s: float = 0.0,
            beat_times_s: np.ndarray | None = None) -> Overlay:
    """The timeline of ``video`` with ``music`` starting at ``offset_s`` s into the track.

    ``beat_times_s`` (track seconds) replaces the analysed beats, e.g. after a beat-grid
    correction. Without ``music`` only the video's curves are filled.
    """
    duration = float(video.duration_s)
    motion = _unit(video.motion, percentile=MOTION_PERCENTILE)
    empty = np.zeros(0, np.float64)
    if music is None:
        return Overlay(duration, video.times_s, motion, video.cut_times_s, empty, empty.astype(np.float32), empty)
    rate = music.frame_rate_hz
    first = max(0, int(np.floor(offset_s * rate)))
    last = min(len(music.onset_envelope), int(np.ceil((offset_s + duration) * rate)) + 1)
    frames = np.arange(first, last)
    onset_times = frames / rate - offset_s
    onset = _unit(music.onset_envelope[first:last])
    beats = music.beat_times_s if beat_times_s is None else np.asarray(beat_times_s, np.float64)
    beats = beats - offset_s
    beats = beats[(beats >= 0.0) & (beats <= duration)]
    return Overlay(duration, video.times_s, motion, video.cut_times_s, onset_times, onset, beats)


def on_beat(cut_times_s: np.ndarray, beat_times_s: np.ndarray, *,
            tolerance_s: float = ON_BEAT_TOLERANCE_S) -> np.ndarray:
    """Whether each cut lies within ``tolerance_s`` of a beat, ``[C]`` bool.

    Both arrays are on the same time axis (e.g. :class:`Overlay` fields).
    """
    cuts = np.asarray(cut_times_s, np.float64)
    beats = np.sort(np.asarray(beat_times_s, np.float64))
    if len(cuts) == 0 or len(beats) == 0:
        return np.zeros(len(cuts), bool)
    pos = np.searchsorted(beats, cuts)
    after = beats[np.minimum(pos, len(beats) - 1)]
    before = beats[np.maximum(pos - 1, 0)]
    nearest = np.minimum(np.abs(cuts - after), np.abs(cuts - before))
    return nearest <= tolerance_s


def cut_alignment(cut_times_s: np.ndarray, beat_times_s: np.ndarray, *,
                  tolerance_s: float = ON_BEAT_TOLERANCE_S) -> tuple[int, int]:
    """``(cuts on a beat, cuts)``, see :func:`on_beat`."""
    mask = on_beat(cut_times_s, beat_times_s, tolerance_s=tolerance_s)
    return int(mask.sum()), len(mask)
