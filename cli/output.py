"""Formatting of CLI results: the suggestion table in an editor's words, its JSON form, the note
on other offsets that fit as well, and the export command for the top result.

One vocabulary: ``fit`` (0–100, ``engine.analysis.fitmeasure.fit_percent``), ``cuts on beat``
("N of M": cuts within ±40 ms of a beat at the offset), ``energy`` (good/fair/poor) and the
offset to the millisecond. The raw score parts stay in ``--json``.
"""
from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from bgmatch.engine.library import FitMeasure, Suggestion

#: How many of the other well-fitting offsets the note names.
NOTE_OFFSETS = 3


def clock(seconds: float, *, decimals: int = 1) -> str:
    """``m:ss.s`` (``decimals`` digits after the second) for a time in seconds."""
    m, s = divmod(round(max(0.0, seconds), decimals), 60)
    width = 3 + decimals if decimals else 2
    return f"{int(m)}:{s:0{width}.{decimals}f}"


def offset_clock(seconds: float) -> str:
    """A start offset to the millisecond (``0:04.750``): what ``export --offset`` needs to land on the frame."""
    return clock(seconds, decimals=3)


def suggestion_table(suggestions: Sequence[Suggestion], measures: Sequence[FitMeasure]) -> str:
    """A fixed-width table of suggestions, best first: fit, cuts on a beat, energy match, offset
    (ms), tempo, length, title."""
    head = (f"{'#':>3}  {'fit':>3}  {'cuts on beat':<12}  {'energy':<6}  {'offset':>8}  {'BPM':>5}  "
            f"{'length':>6}  title")
    rows = [head]
    for s, m in zip(suggestions, measures):
        cuts = f"{m.cuts_on_beat} of {m.cuts_total}"
        rows.append(f"{s.rank:>3}  {m.fit:>3}  {cuts:<12}  {m.energy:<6}  {offset_clock(s.offset_s):>8}  "
                    f"{s.tempo_bpm:5.1f}  {clock(s.duration_s):>6}  {s.title}")
    return "\n".join(rows)


def rival_note(suggestion: Suggestion, measure: FitMeasure) -> str | None:
    """A short note when other offsets of the track put the cuts on its beats about as well as
    the suggested one (``FitMeasure.rival_offsets_s``), else None."""
    rivals = measure.rival_offsets_s
    if not rivals:
        return None
    named = ", ".join(offset_clock(t) for t in rivals[:NOTE_OFFSETS])
    more = ", …" if len(rivals) > NOTE_OFFSETS else ""
    other = "another offset" if len(rivals) == 1 else f"{len(rivals)} other offsets"
    return (f"note: the cuts land on the beats of {suggestion.title} about as well from {other} "
            f"(e.g. {named}{more}); {offset_clock(suggestion.offset_s)} scores best once accents and loudness count too. "
            "To start elsewhere, export with another --offset.")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "track"


def export_command(video: str | os.PathLike[str], suggestion: Suggestion) -> str:
    """The exact ``bgmatch export`` command line for ``suggestion`` (output in the current folder)."""
    out = f"{_slug(Path(video).stem)}-{_slug(suggestion.title)}.mp4"
    args = ["bgmatch", "export", os.fspath(video), suggestion.path, "--offset", f"{suggestion.offset_s:.3f}", "-o", out]
    return shlex.join(args)


def suggestions_json(suggestions: Sequence[Suggestion], measures: Sequence[FitMeasure]) -> str:
    """The suggestions as a JSON list: the names scripts rely on (path, title, score, offset_s,
    parts with the raw score parts) plus fit, cuts_on_beat, cuts_total, energy_match and
    other_offsets_s (offsets that fit the cuts about as well)."""
    rows = []
    for s, m in zip(suggestions, measures):
        rows.append({**asdict(s), "tags": tags_json(s.tags), "fit": m.fit, "cuts_on_beat": m.cuts_on_beat, "cuts_total": m.cuts_total,
                     "energy_match": m.energy, "other_offsets_s": list(m.rival_offsets_s)})
    return json.dumps(rows, indent=2)


# ----- tags and text search (issue 16) -----

def tags_json(tags) -> list[dict[str, float | str]]:
    """Top tags ``[(name, probability)]`` as JSON objects."""
    return [{"tag": name, "probability": round(p, 4)} for name, p in tags]


def tags_text(tags, *, k: int = 3) -> str:
    """The first ``k`` tags as ``"piano 0.61, calm 0.40"``."""
    return ", ".join(f"{name} {p:.2f}" for name, p in tags[:k])


def search_table(hits) -> str:
    """A fixed-width table of text-search hits: score, tempo, length, title, artist, top tags."""
    rows = [f"{'#':>3}  {'score':>5}  {'BPM':>5}  {'length':>6}  title — artist  [tags]"]
    for h in hits:
        t = h.track
        who = f" — {t.artist}" if t.artist else ""
        rows.append(f"{h.rank:>3}  {h.score:5.3f}  {t.tempo_bpm:5.1f}  {clock(t.duration_s):>6}  {t.title}{who}  "
                    f"[{tags_text(t.tags)}]")
    return "\n".join(rows)


def search_json(hits) -> str:
    """Text-search hits as a JSON list: the track's fields, ``score``, ``tags`` and ``parts``
    (``text``: the score; ``matched``: the tags the text reached with their weights)."""
    rows = []
    for h in hits:
        rows.append({"rank": h.rank, **asdict(h.track), "score": h.score, "tags": tags_json(h.track.tags),
                     "parts": {"text": h.score, "matched": {name: round(w, 4) for name, w in h.matched}}})
    return json.dumps(rows, indent=2)
