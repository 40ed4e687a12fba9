"""Filters a user puts on a list of tracks: a tempo range and a duration range.

Bounds are inclusive; ``None`` leaves that side open. Used by the app's suggestion list and
library view, and usable on any rows that carry a tempo and a duration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class TrackFilter:
    """Inclusive tempo (BPM) and duration (s) ranges; ``None`` means unbounded."""

    min_bpm: float | None = None
    max_bpm: float | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None

    def __post_init__(self) -> None:
        ranges = ((self.min_bpm, self.max_bpm, "tempo"), (self.min_duration_s, self.max_duration_s, "duration"))
        for lo, hi, what in ranges:
            if lo is not None and hi is not None and lo > hi:
                raise ConfigError(f"{what} range is empty: minimum {lo:g} is above maximum {hi:g}")

    @property
    def is_open(self) -> bool:
        """Whether the filter lets every track through."""
        return all(v is None for v in (self.min_bpm, self.max_bpm, self.min_duration_s, self.max_duration_s))

    def accepts(self, *, tempo_bpm: float, duration_s: float) -> bool:
        """Whether a track with this tempo and duration passes (an unknown tempo fails a tempo bound)."""
        return (_within(tempo_bpm, self.min_bpm, self.max_bpm)
                and _within(duration_s, self.min_duration_s, self.max_duration_s))


def _within(value: float, lo: float | None, hi: float | None) -> bool:
    if lo is None and hi is None:
        return True
    if not math.isfinite(value):
        return False
    return (lo is None or value >= lo) and (hi is None or value <= hi)
