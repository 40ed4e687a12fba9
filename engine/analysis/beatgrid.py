"""Beat-grid corrections a user makes by ear: halve or double the tempo, shift the grid.

Beat trackers often lock onto half or double the felt tempo, or a little early or late. A
correction is stored in a track's metadata under :data:`META_KEY` and applied to the analysed
beats with :func:`corrected_beats`. Snapping and nudging a start offset to the (corrected)
beats live here too. Pure functions over numpy arrays.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import ConfigError

#: Key of the correction in a track's metadata (``Library.store.update_meta``).
META_KEY = "beat_grid"
#: Allowed tempo factors: the grid may be halved or doubled at most twice.
MIN_TEMPO_FACTOR, MAX_TEMPO_FACTOR = 0.25, 4.0
#: Two times closer than this count as the same beat.
ON_BEAT_S = 1e-3


@dataclass(frozen=True)
class BeatGridCorrection:
    """A user's correction of a track's beat grid.

    ``tempo_factor`` is a power of two: 0.5 keeps every other beat, 2.0 adds a beat halfway
    between each pair. ``shift_s`` moves every beat later (positive) or earlier (negative).
    """

    tempo_factor: float = 1.0
    shift_s: float = 0.0

    def __post_init__(self) -> None:
        f = self.tempo_factor
        if not (MIN_TEMPO_FACTOR <= f <= MAX_TEMPO_FACTOR) or not float(math.log2(f)).is_integer():
            raise ConfigError(f"beat grid tempo factor {f} is not a power of two between "
                              f"{MIN_TEMPO_FACTOR} and {MAX_TEMPO_FACTOR}")
        if not math.isfinite(self.shift_s):
            raise ConfigError(f"beat grid shift {self.shift_s} is not a number")

    @property
    def is_identity(self) -> bool:
        """Whether the correction changes nothing."""
        return self.tempo_factor == 1.0 and self.shift_s == 0.0

    def halved(self) -> "BeatGridCorrection":
        """Half the tempo (no lower than :data:`MIN_TEMPO_FACTOR`)."""
        return BeatGridCorrection(max(MIN_TEMPO_FACTOR, self.tempo_factor / 2), self.shift_s)

    def doubled(self) -> "BeatGridCorrection":
        """Double the tempo (no higher than :data:`MAX_TEMPO_FACTOR`)."""
        return BeatGridCorrection(min(MAX_TEMPO_FACTOR, self.tempo_factor * 2), self.shift_s)

    def shifted(self, delta_s: float) -> "BeatGridCorrection":
        """The grid moved by ``delta_s`` seconds more (rounded to the millisecond)."""
        return BeatGridCorrection(self.tempo_factor, round(self.shift_s + delta_s, 3))

    def to_meta(self) -> dict[str, float]:
        """The JSON-able form stored in track metadata."""
        return {"tempo_factor": self.tempo_factor, "shift_s": self.shift_s}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> "BeatGridCorrection":
        """The correction stored in a track's ``meta`` (no correction when there is none)."""
        raw = meta.get(META_KEY)
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise ConfigError(f"beat grid correction {raw!r} is not a mapping")
        try:
            return cls(float(raw.get("tempo_factor", 1.0)), float(raw.get("shift_s", 0.0)))
        except (TypeError, ValueError):
            raise ConfigError(f"beat grid correction {dict(raw)!r} has a non-numeric value") from None


def corrected_tempo_bpm(tempo_bpm: float, correction: BeatGridCorrection) -> float:
    """The tempo after the correction."""
    return float(tempo_bpm) * correction.tempo_factor


def _doubled(beats: np.ndarray, duration_s: float) -> np.ndarray:
    if len(beats) < 2:
        return beats
    mids = (beats[:-1] + beats[1:]) / 2
    tail = beats[-1] + (beats[-1] - beats[-2]) / 2
    out = np.concatenate([beats, mids, [tail] if tail <= duration_s else []])
    return np.sort(out)


def corrected_beats(beat_times_s: np.ndarray, correction: BeatGridCorrection, *, duration_s: float) -> np.ndarray:
    """Apply ``correction`` to beat times ``[B]`` (s); returns the new beats in ``[0, duration_s]``.

    Halving keeps beats 0, 2, 4, …; shifting by one original beat (see :func:`beat_period_s`)
    selects the other half.
    """
    beats = np.sort(np.asarray(beat_times_s, np.float64))
    factor = correction.tempo_factor
    while factor > 1.0:
        beats, factor = _doubled(beats, duration_s), factor / 2
    while factor < 1.0:
        beats, factor = beats[::2], factor * 2
    beats = beats + correction.shift_s
    return beats[(beats >= 0.0) & (beats <= duration_s)]


def snapped(times_s: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """Each of ``times_s`` moved to its nearest time of ``grid_s`` (sorted, duplicates merged);
    ``times_s`` unchanged when the grid is empty."""
    times = np.asarray(times_s, np.float64)
    grid = np.sort(np.asarray(grid_s, np.float64))
    if len(grid) == 0 or len(times) == 0:
        return np.sort(times)
    return np.unique(grid[np.abs(grid[None, :] - times[:, None]).argmin(axis=1)])


def corrected_bars(downbeat_times_s: np.ndarray, phrase_times_s: np.ndarray, section_times_s: np.ndarray,
                   correction: BeatGridCorrection, *, corrected_beat_times_s: np.ndarray,
                   duration_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Downbeats, phrase starts and section starts (s) under ``correction``.

    They move with the shift, and stay on the grid: downbeats onto the nearest corrected beat
    (``corrected_beats``), phrase and section starts onto the nearest corrected downbeat. A
    tempo change keeps the bars where they are (½× and 2× change the beats within a bar); after
    ½× a downbeat on a dropped beat moves to its earlier neighbour. Times outside
    ``[0, duration_s]`` are dropped.
    """
    def moved(times: np.ndarray) -> np.ndarray:
        t = np.asarray(times, np.float64) + correction.shift_s
        return t[(t >= 0.0) & (t <= duration_s)]

    if correction.is_identity:
        return (np.asarray(downbeat_times_s, np.float64), np.asarray(phrase_times_s, np.float64),
                np.asarray(section_times_s, np.float64))
    downs = snapped(moved(downbeat_times_s), corrected_beat_times_s)
    return downs, snapped(moved(phrase_times_s), downs), snapped(moved(section_times_s), downs)


def beat_period_s(beat_times_s: np.ndarray) -> float:
    """Median interval between beats (s); 0.5 s (120 BPM) when there are fewer than two."""
    if len(beat_times_s) < 2:
        return 0.5
    return float(np.median(np.diff(np.sort(beat_times_s))))


def nearest_beat_s(time_s: float, beat_times_s: np.ndarray) -> float:
    """The beat closest to ``time_s`` (``time_s`` itself when there are no beats)."""
    if len(beat_times_s) == 0:
        return float(time_s)
    return float(beat_times_s[int(np.argmin(np.abs(np.asarray(beat_times_s) - time_s)))])


def snap_offset_s(offset_s: float, beat_times_s: np.ndarray) -> float:
    """Snap a start offset in the track to the nearest beat, so the video starts on a beat."""
    return max(0.0, nearest_beat_s(offset_s, beat_times_s))


def step_beats_s(time_s: float, beat_times_s: np.ndarray, steps: int) -> float:
    """The ``steps``-th beat after (``steps > 0``) or before (``steps < 0``) ``time_s``.

    A time on a beat counts from that beat; a time between beats moves to the next beat in
    that direction first. Past the first or last beat the grid is extended at the median
    beat period. The result is never negative.
    """
    if steps == 0:
        return float(time_s)
    beats = np.sort(np.asarray(beat_times_s, np.float64))
    period = beat_period_s(beats)
    if len(beats) == 0:
        return max(0.0, float(time_s) + steps * period)
    # Index of time_s on the grid as a real number (extended linearly outside the beats).
    if time_s < beats[0]:
        position = (time_s - beats[0]) / period
    elif time_s > beats[-1]:
        position = len(beats) - 1 + (time_s - beats[-1]) / period
    else:
        i = int(np.searchsorted(beats, time_s, side="right")) - 1
        span = beats[i + 1] - beats[i] if i + 1 < len(beats) else period
        position = i + (time_s - beats[i]) / span
    on_beat = abs(position - round(position)) * period < ON_BEAT_S
    base = round(position) if on_beat else (math.floor(position) if steps > 0 else math.ceil(position))
    target = base + steps
    if 0 <= target < len(beats):
        out = beats[target]
    elif target < 0:
        out = beats[0] + target * period
    else:
        out = beats[-1] + (target - len(beats) + 1) * period
    return max(0.0, float(out))
