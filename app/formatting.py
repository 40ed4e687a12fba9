"""How numbers look in the app: clock times, offsets, tempi and scores."""
from __future__ import annotations

import math


def clock(seconds: float) -> str:
    """``m:ss.s`` for a time in seconds (``–`` when unknown)."""
    if not math.isfinite(seconds):
        return "–"
    m, s = divmod(round(max(0.0, seconds), 1), 60)  # round first: 59.97 s is 1:00.0, not 0:60.0
    return f"{int(m)}:{s:04.1f}"


def offset_clock(seconds: float) -> str:
    """A start offset to the millisecond, ``m:ss.mmm`` (what ``bgmatch export --offset`` lands on)."""
    if not math.isfinite(seconds):
        return "–"
    m, s = divmod(round(max(0.0, seconds), 3), 60)
    return f"{int(m)}:{s:06.3f}"


def bpm(value: float) -> str:
    """A tempo, one decimal (``–`` when unknown)."""
    return f"{value:.1f}" if math.isfinite(value) and value > 0 else "–"


def score(value: float) -> str:
    """A score or score part, two decimals."""
    return f"{value:+.2f}" if math.isfinite(value) else "–"
