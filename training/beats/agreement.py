"""Agreement of beat trackers with a second opinion on real recordings (no ground truth there).

    bgmatch train beats agree REF.json FOLDER [--weights FILE] [--max-s 60]

``REF.json`` maps audio paths (relative to ``FOLDER``) to reference beat times, e.g. madmom's
(:mod:`.madmom_reference`), or to ``{"beats": [...], "downbeats": [...]}`` (its ``--downbeats``
form). Each tracker runs on the same first ``max_s`` seconds; its beat F-measure, CMLt and AMLt
(and downbeat F where the reference has downbeats) against the reference are computed with the
benchmark's :func:`.evaluate.score_item` (beats before 5 s ignored). Reported: per file, and the
median and mean per tracker.
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bgmatch.engine.errors import ConfigError, MediaError

from .evaluate import Tracker, _as_pair, score_item


#: One file's reference: beat times [n] s, and downbeat times [m] s where the reference has them.
RefEntry = tuple[np.ndarray, np.ndarray | None]
METRICS = ("beat_f", "cmlt", "amlt", "downbeat_f")


def _entry(value: Any) -> RefEntry:
    if isinstance(value, dict):
        downs = value.get("downbeats")
        return (np.asarray(value["beats"], dtype=np.float64),
                None if downs is None else np.asarray(downs, dtype=np.float64))
    if isinstance(value, tuple):
        return value
    return np.asarray(value, dtype=np.float64), None


def load_reference(path: Path) -> dict[str, RefEntry]:
    """``{relative path: (beat times [n] s, downbeat times [m] s | None)}`` of a reference JSON."""
    try:
        doc = json.loads(path.read_text())
        return {str(k): _entry(v) for k, v in doc.items()}
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ConfigError(f"{path}: not a beat reference file ({exc})") from exc


def agreement(reference: Mapping[str, np.ndarray | RefEntry], folder: Path, trackers: Sequence[tuple[str, Tracker]], *,
              max_s: float = 60.0, load: Callable[[Path, float], tuple[np.ndarray, int]] | None = None,
              warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, Any]:
    """Scores of each tracker against ``reference`` (beat times, or :data:`RefEntry` pairs) on each
    file: ``{"per_file": {path: {tracker: scores}}, "summary": {tracker: {metric: {"median",
    "mean"}}}, "skipped": {path: reason}}``; a summary's downbeat F is over the files whose reference
    has downbeats (NaN where none has). A file that cannot be decoded is skipped with one ``warn``
    line; the others go on."""
    if load is None:
        from bgmatch.engine.analysis.media import decode_audio

        def load(path: Path, seconds: float) -> tuple[np.ndarray, int]:
            return decode_audio(path, sr_hz=22050, max_duration_s=seconds), 22050

    per_file: dict[str, dict[str, dict[str, float]]] = {}
    skipped: dict[str, str] = {}
    for rel, value in sorted(reference.items()):
        ref, ref_downs = _entry(value)
        if len(ref[ref >= 5.0]) < 2:
            continue  # nothing to agree with (silence, or a free-time intro)
        try:
            y, sr = load(folder / rel, max_s)
        except MediaError as exc:
            skipped[rel] = str(exc)
            warn(f"skipped: {exc}")
            continue
        per_file[rel] = {}
        for name, fn in trackers:
            beats, downs = _as_pair(fn(y, sr_hz=sr), f"tracker {name} on {rel}")
            per_file[rel][name] = score_item(ref, beats, ref_downs, downs if ref_downs is not None else None)
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for name, _ in trackers:
        summary[name] = {}
        for metric in METRICS:
            values = [v for f in per_file if not math.isnan(v := per_file[f][name][metric])]
            summary[name][metric] = {"median": float(np.median(values)) if values else math.nan,
                                     "mean": float(np.mean(values)) if values else math.nan}
    return {"per_file": per_file, "summary": summary, "n": len(per_file), "skipped": skipped}


def format_summary(result: dict[str, Any]) -> str:
    """Markdown table: tracker × median and mean beat F, CMLt, AMLt against the reference."""
    downbeats = any(not math.isnan(s.get("downbeat_f", {}).get("median", math.nan))
                    for s in result["summary"].values())
    lines = ["| tracker | n | median F | mean F | median CMLt | median AMLt |" + (
        " median downbeat F | mean downbeat F |" if downbeats else ""),
        "|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if downbeats else "")]
    for name, s in result["summary"].items():
        row = (f"| {name} | {result['n']} | {s['beat_f']['median']:.3f} | {s['beat_f']['mean']:.3f} | "
               f"{s['cmlt']['median']:.3f} | {s['amlt']['median']:.3f} |")
        if downbeats:
            row += "".join(" – |" if math.isnan(v) else f" {v:.3f} |"
                           for v in (s["downbeat_f"]["median"], s["downbeat_f"]["mean"]))
        lines.append(row)
    if result.get("skipped"):
        lines.append(f"\n{len(result['skipped'])} file(s) skipped (not decodable): {', '.join(sorted(result['skipped']))}")
    return "\n".join(lines)
