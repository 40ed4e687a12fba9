"""Keep a muted video and its music track in step during a preview.

The preview plays two independent players (video, track). :class:`DriftTracker` is fed their
positions as they play and says when the track must be re-aligned: when the median drift over
the last samples exceeds a threshold (steady drift), or one sample is far off (a stall or a
seek that was not followed). Plain Python, no Qt: the player widget only samples and seeks.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DriftConfig:
    """When to re-align the track with the video."""

    window: int = 10  # samples in the median (at 10 Hz sampling, one second)
    threshold_s: float = 0.030  # steady drift that triggers a re-alignment (under one 25-fps frame)
    hard_threshold_s: float = 0.250  # a single sample this far off re-aligns at once
    min_interval_s: float = 1.0  # at least this long between re-alignments (a seek needs time to settle)
    settle_s: float = 0.3  # samples this soon after a start or a seek are not used: the players spin up
    max_lead_s: float = 0.25  # most a re-alignment (or a resume) aims ahead for the player's latency
    learning_rate: float = 0.5  # share of a landing error taken into the next lead (the first is taken whole)


def drift_s(video_s: float, track_s: float, offset_s: float) -> float:
    """How far the track is ahead (positive) of where the video says it should be."""
    return (track_s - offset_s) - video_s


class DriftTracker:
    """Running estimate of the track's drift against the video, with a re-alignment policy.

    A video player reports the time of the frame on screen, which lags the true playback time
    by half a frame on average; ``frame_s`` (the video's frame period) removes that bias.

    A playing player's seek lands late: the track resumes from the asked position some tens of
    ms after it was asked for, more on a loaded machine. The first full window after each
    re-alignment measures where the seek really landed, and ``lead_s`` (how far ahead the next
    re-alignment aims) absorbs that error, so the seeks converge instead of repeating.

    Resuming from a pause is the same kind of error: a paused video shows its next frame at once,
    a paused track sounds some tens of ms later. The first full window after each resume
    (:meth:`started` with ``resume=True``) measures it, and ``start_lead_s`` sets the paused track
    that much ahead before the next resume (:meth:`start_target`).
    """

    def __init__(self, config: DriftConfig = DriftConfig(), *, frame_s: float = 0.04) -> None:
        self.config = config
        self.frame_s = frame_s
        self._samples: deque[float] = deque(maxlen=config.window)
        self._last_resync_s = -np.inf
        self._judging: str | None = None  # "seek"/"start": the samples since then measure its landing
        self.lead_s = 0.0
        self.start_lead_s = 0.0
        self._judged = {"seek": 0, "start": 0}  # landings measured so far, per kind
        self.resyncs = 0

    def reset(self, now_s: float | None = None) -> None:
        """Forget the samples (after a seek, a new track or a new offset)."""
        self._samples.clear()
        self._judging = None
        if now_s is not None:
            self._last_resync_s = now_s

    def started(self, now_s: float, *, resume: bool) -> None:
        """Both players were just started; after a ``resume`` (from a pause) the landing is judged."""
        self.reset(now_s)
        self._judging = "start" if resume else None

    def start_target(self, video_s: float, offset_s: float) -> float:
        """Track position (s) for a paused track about to resume with the video."""
        return max(0.0, video_s + offset_s + self.start_lead_s)

    def seek_target(self, video_s: float, offset_s: float) -> float:
        """Track position (s) to seek a playing track to, so that it lands in step with the video."""
        return max(0.0, video_s + self.frame_s / 2 + offset_s + self.lead_s)

    @property
    def drift_s(self) -> float:
        """Median drift of the recent samples, frame lag removed (0 when there are none)."""
        return float(np.median(self._samples)) if self._samples else 0.0

    def add(self, *, video_s: float, track_s: float, offset_s: float, now_s: float) -> float | None:
        """Record one sample; returns the track position (s) to seek to, or None to leave it.

        ``now_s`` is a monotonic clock reading, used to space re-alignments.
        """
        if now_s - self._last_resync_s < self.config.settle_s:
            return None  # e.g. a track that has not moved on since its seek: no measure of drift
        d = drift_s(video_s, track_s, offset_s) - self.frame_s / 2
        self._samples.append(d)
        full = len(self._samples) == self._samples.maxlen
        if full and self._judging is not None:
            # A landing varies by a frame or so from one time to the next (more on a loaded
            # machine): the first sets the lead, later ones move it part of the way.
            limit = self.config.max_lead_s
            step = 1.0 if self._judged[self._judging] == 0 else self.config.learning_rate
            self._judged[self._judging] += 1
            if self._judging == "seek":
                self.lead_s = float(np.clip(self.lead_s - step * self.drift_s, -limit, limit))
            else:
                self.start_lead_s = float(np.clip(self.start_lead_s - step * self.drift_s, -limit, limit))
            self._judging = None
        if now_s - self._last_resync_s < self.config.min_interval_s:
            return None
        hard = abs(d) > self.config.hard_threshold_s
        steady = full and abs(self.drift_s) > self.config.threshold_s
        if not (hard or steady):
            return None
        self.resyncs += 1
        self.reset(now_s)
        self._judging = "seek"
        return self.seek_target(video_s, offset_s)


def drift_report(video_s: np.ndarray, track_s: np.ndarray, offset_s: float, *, window: int = 10) -> dict[str, float]:
    """Summary of sampled positions of a preview: raw and smoothed (moving median) drift, in s.

    ``video_s`` and ``track_s`` are positions ``[N]`` read at the same instants. The moving
    median over ``window`` samples removes the video position's frame quantisation.
    """
    d = (np.asarray(track_s, np.float64) - offset_s) - np.asarray(video_s, np.float64)
    if len(d) == 0:
        return {"samples": 0.0, "median_s": 0.0, "p95_abs_s": 0.0, "max_abs_s": 0.0, "max_smoothed_abs_s": 0.0}
    k = max(1, min(window, len(d)))
    smoothed = np.array([np.median(d[i:i + k]) for i in range(len(d) - k + 1)])
    return {
        "samples": float(len(d)),
        "median_s": float(np.median(d)),
        "p95_abs_s": float(np.percentile(np.abs(d), 95)),
        "max_abs_s": float(np.abs(d).max()),
        "max_smoothed_abs_s": float(np.abs(smoothed).max()),
    }
