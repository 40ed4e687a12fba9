"""Agreement of beat trackers with a second opinion on real recordings (no ground truth there).

    bgmatch train beats agree REF.json FOLDER [--weights FILE] [--max-s 60]

``REF.json`` maps audio paths (relative to ``FOLDER``) to reference beat times, e.g. madmom's
(:mod:`.madmom_reference`). Each tracker runs on the same first ``max_s`` seconds; its beat
F-measure, CMLt and AMLt against the reference are computed with the benchmark's
:func:`.evaluate.score_item` (beats before 5 s ignored). Reported: per file, and the median and
mean per tracker.
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bgmatch.engine.errors import ConfigError, MediaError

from .evaluate import Tracker, _as_pair, score_item


def load_reference(path: Path) -> dict[str, np.ndarray]:
    """``{relative path: beat times [n] s}`` of a reference JSON."""
    try:
        doc = json.loads(path.read_text())
        return {str(k): np.asarray(v, dtype=np.float64) for k, v in doc.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not a beat reference file ({exc})") from exc


def agreement(reference: dict[str, np.ndarray], folder: Path, trackers: Sequence[tuple[str, Tracker]], *,
              max_s: float = 60.0, load: Callable[[Path, float], tuple[np.ndarray, int]] | None = None,
              warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, Any]:
    """Scores of each tracker against ``reference`` on each file: ``{"per_file": {path: {tracker:
    scores}}, "summary": {tracker: {metric: {"median", "mean"}}}, "skipped": {path: reason}}``. A file
    that cannot be decoded is skipped with one ``warn`` line; the others go on."""
    if load is None:
        from bgmatch.engine.analysis.media import decode_audio

        def load(path: Path, seconds: float) -> tuple[np.ndarray, int]:
            return decode_audio(path, sr_hz=22050, max_duration_s=seconds), 22050

    per_file: dict[str, dict[str, dict[str, float]]] = {}
    skipped: dict[str, str] = {}
    for rel, ref in sorted(reference.items()):
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
            beats, _ = _as_pair(fn(y, sr_hz=sr), f"tracker {name} on {rel}")
            per_file[rel][name] = score_item(ref, beats, None, None)
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for name, _ in trackers:
        summary[name] = {}
        for metric in ("beat_f", "cmlt", "amlt"):
            values = [per_file[f][name][metric] for f in per_file]
            summary[name][metric] = {"median": float(np.median(values)) if values else math.nan,
                                     "mean": float(np.mean(values)) if values else math.nan}
    return {"per_file": per_file, "summary": summary, "n": len(per_file), "skipped": skipped}


def format_summary(result: dict[str, Any]) -> str:
    """Markdown table: tracker × median and mean beat F, CMLt, AMLt against the reference."""
    lines = ["| tracker | n | median F | mean F | median CMLt | median AMLt |", "|---|---:|---:|---:|---:|---:|"]
    for name, s in result["summary"].items():
        lines.append(f"| {name} | {result['n']} | {s['beat_f']['median']:.3f} | {s['beat_f']['mean']:.3f} | "
                     f"{s['cmlt']['median']:.3f} | {s['amlt']['median']:.3f} |")
    if result.get("skipped"):
        lines.append(f"\n{len(result['skipped'])} file(s) skipped (not decodable): {', '.join(sorted(result['skipped']))}")
    return "\n".join(lines)
