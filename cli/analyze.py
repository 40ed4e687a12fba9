"""`bgmatch analyze TRACK...`: what bgmatch knows of each track (metadata, length, tempo, beats,
downbeats and bars, phrases, sections, tags), from the library when it holds the file, else analysed on the spot (nothing is stored)."""
from __future__ import annotations

import argparse
import json
import sys

FIRST_BEATS = 8


def add_analyze_command(sub, common: argparse.ArgumentParser) -> None:
    """The `analyze` subcommand."""
    from pathlib import Path

    s = sub.add_parser("analyze", parents=[common], help="show what bgmatch knows of audio files",
                       description="Print each track's own metadata (title, artist, album, genre), length, "
                                   "tempo, beats, downbeats (bars), phrase and section starts, and tags with "
                                   "their probabilities: from the library when it holds the file unchanged, else "
                                   "analysed now (nothing is stored). A bad file is named and the rest go on "
                                   "(exit 3).")
    s.add_argument("tracks", nargs="+", type=Path, metavar="TRACK", help="audio files")
    s.add_argument("--json", action="store_true", help="print a JSON list")


def _times(times_s) -> list[float]:
    return [round(float(t), 3) for t in times_s]


def _first(times_s, count: int = FIRST_BEATS) -> str:
    """The first ``count`` times as "at 0.52, 1.04, … s" (or "none")."""
    if len(times_s) == 0:
        return "none"
    more = ", …" if len(times_s) > count else ""
    return "at " + ", ".join(f"{t:.2f}" for t in times_s[:count]) + more + " s"


def description_json(d) -> dict:
    """One track's description as JSON."""
    return {"path": d.path, "source": d.source, "metadata": d.metadata, "duration_s": round(d.duration_s, 3),
            "tempo_bpm": round(d.tempo_bpm, 2), "beats": len(d.beat_times_s),
            "beat_times_s": _times(d.beat_times_s),
            "beats_per_bar": d.meter, "bars": len(d.downbeat_times_s),
            "downbeat_times_s": _times(d.downbeat_times_s),
            "phrase_times_s": _times(d.phrase_times_s),
            "section_times_s": _times(d.section_times_s),
            "tags": [{"tag": n, "probability": round(p, 4)} for n, p in d.tags]}


def description_text(d) -> str:
    """One track's description as a few lines."""
    from .output import clock

    lines = [f"{d.path}  ({'from the library' if d.source == 'library' else 'analysed now'})"]
    for key in ("title", "artist", "album", "genre", "date"):
        if key in d.metadata:
            lines.append(f"  {key + ':':<8} {d.metadata[key]}")
    lines.append(f"  length:  {clock(d.duration_s)}")
    lines.append(f"  tempo:   {d.tempo_bpm:.1f} BPM")
    lines.append(f"  beats:   {len(d.beat_times_s)} (first {_first(d.beat_times_s)})")
    lines.append(f"  bars:    {len(d.downbeat_times_s)} of {d.meter} beats (downbeats {_first(d.downbeat_times_s)})")
    lines.append(f"  phrases: {len(d.phrase_times_s)} (starting {_first(d.phrase_times_s)})")
    lines.append(f"  sections: {len(d.section_times_s)} (starting {_first(d.section_times_s, len(d.section_times_s))})")
    tags = ", ".join(f"{n} {p:.2f}" for n, p in d.tags) or "none (no tagger)"
    lines.append(f"  tags:    {tags}")
    return "\n".join(lines)


def cmd_analyze(args: argparse.Namespace, lib) -> int:
    """Describe each track; returns how many could not be read (each named on stderr)."""
    from bgmatch.engine.errors import BgmatchError
    from bgmatch.engine.library import describe_track

    out, failed = [], 0
    for path in args.tracks:
        try:
            d = describe_track(path, library=lib)
        except BgmatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            out.append(description_json(d))
        else:
            print(description_text(d) + "\n")
    if args.json:
        print(json.dumps(out, indent=2))
    return failed
