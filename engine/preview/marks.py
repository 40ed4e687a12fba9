"""The chosen track's marks on the video's time axis: beats, bars, sections and, for a fitted
track, its segments and joins.

Without a fit plan the track plays from ``offset_s``: a track time ``x`` is at video time
``x − offset_s``. With one, the video plays the plan's output from 0, and a source time inside
segment ``k`` is at ``target_start_s + (x − source_start_s) / stretch_rate`` — once per
segment it lies in (a repeated section shows its beats each time it plays). Pure functions.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..output.fit import FitPlan


@dataclass(frozen=True)
class FittedSegment:
    """One segment of a fitted track on the video's time axis (s): where it plays, where it
    comes from in the track, and the crossfade that leads into it (centred on ``start_s``)."""

    start_s: float
    end_s: float
    source_start_s: float
    crossfade_s: float


@dataclass(frozen=True)
class TrackMarks:
    """Marks of the track under the video, all in video seconds inside ``0 … duration_s``."""

    duration_s: float
    beat_times_s: np.ndarray  # [B]
    bar_times_s: np.ndarray  # [D] downbeats (empty when the analysis has none)
    section_times_s: np.ndarray  # [S] section starts
    segments: tuple[FittedSegment, ...] = ()  # the fit plan's segments (empty: not fitted)

    @property
    def fitted(self) -> bool:
        """Whether these are the marks of a fitted track."""
        return bool(self.segments)

    @property
    def join_times_s(self) -> np.ndarray:
        """Where the fitted segments meet (s), ``[J]``."""
        return np.array([s.start_s for s in self.segments[1:]], np.float64)


def _inside(times: np.ndarray, duration_s: float) -> np.ndarray:
    return np.sort(times[(times >= 0.0) & (times <= duration_s)])


def fitted_times_s(plan: FitPlan, source_times_s: Sequence[float] | np.ndarray) -> np.ndarray:
    """Output times (s) of track times played by ``plan``: each time once per segment holding it."""
    src = np.asarray(source_times_s, np.float64)
    out = []
    for seg in plan.segments:
        inside = src[(src >= seg.source_start_s) & (src < seg.source_end_s)]
        out.append(seg.target_start_s + (inside - seg.source_start_s) / plan.stretch_rate)
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.float64)


def track_marks(*, duration_s: float, offset_s: float, beat_times_s: Sequence[float] | np.ndarray,
                downbeat_times_s: Sequence[float] | np.ndarray = (), section_times_s: Sequence[float] | np.ndarray = (),
                plan: FitPlan | None = None) -> TrackMarks:
    """The marks of a track (times in track seconds) under a video of ``duration_s``, played from
    ``offset_s`` or, when ``plan`` is given, as the plan's output from the video's start."""
    beats, bars, sections = (np.asarray(t, np.float64) for t in (beat_times_s, downbeat_times_s, section_times_s))
    if plan is None:
        return TrackMarks(duration_s, *(_inside(t - offset_s, duration_s) for t in (beats, bars, sections)))
    segments = []
    for seg in plan.segments:
        start = seg.target_start_s
        end = start + seg.source_duration_s / plan.stretch_rate
        if start >= duration_s:
            break
        segments.append(FittedSegment(start, min(end, duration_s), seg.source_start_s, seg.crossfade_s))
    return TrackMarks(duration_s, *(_inside(fitted_times_s(plan, t), duration_s) for t in (beats, bars, sections)),
                      segments=tuple(segments))
