"""Formatting of CLI results: the suggestion table and its JSON form."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Sequence

from bgmatch.engine.library import Suggestion


def clock(seconds: float) -> str:
    """``m:ss.s`` for a time in seconds."""
    m, s = divmod(round(max(0.0, seconds), 1), 60)
    return f"{int(m)}:{s:04.1f}"


def suggestion_table(suggestions: Sequence[Suggestion]) -> str:
    """A fixed-width table of suggestions, best first."""
    parts = sorted({k for s in suggestions for k in s.parts})
    head = f"{'#':>3}  {'score':>6}  " + "  ".join(f"{p:>6}" for p in parts) + f"  {'offset':>7}  {'BPM':>5}  {'length':>7}  title"
    rows = [head]
    for s in suggestions:
        cells = "  ".join(f"{s.parts.get(p, float('nan')):6.3f}" for p in parts)
        rows.append(f"{s.rank:>3}  {s.score:6.3f}  {cells}  {clock(s.offset_s):>7}  {s.tempo_bpm:5.1f}  "
                    f"{clock(s.duration_s):>7}  {s.title}")
    return "\n".join(rows)


def suggestions_json(suggestions: Sequence[Suggestion]) -> str:
    """The suggestions as a JSON list (the names scripts rely on: path, title, score, offset_s, parts)."""
    return json.dumps([asdict(s) for s in suggestions], indent=2)
