"""``bgmatch eval beats``: score beat trackers on the ground-truth beat benchmark with mir_eval.

    bgmatch eval beats [--out DIR] [--build] [--limit N] [--tracker NAME|MODULE:FUNCTION …] [--json FILE]

A tracker is a callable ``(y, *, sr_hz) -> (beat_times_s, downbeat_times_s | None)`` taking a mono
float signal ``[n]``. Built in: ``librosa`` (librosa's beat tracker as ``rhythm.analyze_music``
runs it; no downbeats), ``analysis`` (what the library stores: those beats and the downbeats
``analysis.bars`` puts on them) and ``neural`` (``bgmatch.engine.analysis.beats.track_beats``,
when that module exists).

Metrics (mir_eval.beat, its default 70 ms F-measure window and continuity tolerances; beats in
the first 5 s are ignored in both lists, as mir_eval's ``trim_beats`` does by convention): beat
F-measure, CMLt, AMLt, and the F-measure of downbeats (items whose file states no meter, and
trackers without downbeats, are left out of that column). The table holds the mean per tracker and
category, and over all items.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mir_eval
import numpy as np
from tqdm import tqdm

from bgmatch.engine.errors import ConfigError, exit_status

from .build import build_with_bar
from .layout import BeatItem, default_root, load_set, write_json
from .plan import CATEGORIES, BuildConfig

Tracker = Callable[..., Any]  # (y, *, sr_hz) -> (beats_s, downbeats_s | None)
NEURAL_MODULE = "bgmatch.engine.analysis.beats"
METRICS = ("beat_f", "cmlt", "amlt", "downbeat_f", "lag_ms")
LAG_WINDOW_S = 0.07  # mir_eval's F-measure window: the beats a lag is measured on
SKIP_S = 5.0


def librosa_tracker(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, None]:
    """librosa's tracker as the engine runs it (``rhythm.beats = "librosa"``): its beats, no downbeats."""
    from bgmatch.engine.analysis.beats import track_beats

    return track_beats(np.asarray(y, dtype=np.float32), sr_hz=sr_hz, method="librosa").beat_times_s, None


def analysis_tracker(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """The library's analysis: ``rhythm.analyze_music``'s beats and downbeats."""
    from bgmatch.engine.analysis.rhythm import analyze_music

    music = analyze_music(np.asarray(y, dtype=np.float32), sr_hz=sr_hz)
    return music.beat_times_s, music.downbeat_times_s


def neural_available() -> bool:
    """Whether the neural tracker's module is installed (it is optional)."""
    try:
        return importlib.util.find_spec(NEURAL_MODULE) is not None
    except ModuleNotFoundError:
        return False


def neural_tracker(y: np.ndarray, *, sr_hz: int) -> Any:
    """``bgmatch.engine.analysis.beats.track_beats`` (raises ConfigError where it is absent)."""
    if not neural_available():
        raise ConfigError(f"tracker 'neural': {NEURAL_MODULE} is not installed")
    return importlib.import_module(NEURAL_MODULE).track_beats(y, sr_hz=sr_hz)


BUILTIN: dict[str, Tracker] = {"librosa": librosa_tracker, "analysis": analysis_tracker, "neural": neural_tracker}


def load_tracker(spec: str) -> tuple[str, Tracker]:
    """``(name, callable)`` of a built-in name or ``module:function``."""
    if spec in BUILTIN:
        return spec, BUILTIN[spec]
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"tracker {spec!r}: use one of {', '.join(BUILTIN)} or MODULE:FUNCTION")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"tracker {spec!r}: cannot import ({exc})") from exc
    if not callable(fn):
        raise ConfigError(f"tracker {spec!r}: not callable")
    return spec, fn


def default_trackers() -> list[str]:
    """``librosa``, and ``neural`` where its module exists."""
    return ["librosa"] + (["neural"] if neural_available() else [])


def _as_pair(result: Any, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """A tracker's answer as ``(beats, downbeats | None)``: a pair, or an object with such attributes."""
    for names in (("beat_times_s", "downbeat_times_s"), ("beats_s", "downbeats_s"), ("beats", "downbeats")):
        if hasattr(result, names[0]):
            result = (getattr(result, names[0]), getattr(result, names[1], None))
            break
    if not isinstance(result, tuple) or len(result) != 2:
        raise ConfigError(f"{where}: a tracker must return (beat_times_s, downbeat_times_s | None)")
    beats = np.asarray(result[0], dtype=np.float64).reshape(-1)
    downs = None if result[1] is None else np.asarray(result[1], dtype=np.float64).reshape(-1)
    return np.sort(beats), None if downs is None else np.sort(downs)


def score_item(ref_beats: np.ndarray, est_beats: np.ndarray, ref_downbeats: np.ndarray | None,
               est_downbeats: np.ndarray | None, *, skip_s: float = SKIP_S) -> dict[str, float]:
    """Beat F, CMLt, AMLt, downbeat F (NaN where either side lacks downbeats) and lag of one item.

    ``lag_ms``: the median of (found − true) over the true beats with a found beat within
    ``LAG_WINDOW_S`` (NaN where none): how late a tracker puts the beats it gets right.
    """
    ref = mir_eval.beat.trim_beats(np.asarray(ref_beats, dtype=np.float64), min_beat_time=skip_s)
    est = mir_eval.beat.trim_beats(np.asarray(est_beats, dtype=np.float64), min_beat_time=skip_s)
    if len(ref) == 0:
        raise ConfigError(f"no reference beats after {skip_s:g} s")
    _, cmlt, _, amlt = mir_eval.beat.continuity(ref, est)
    out = {"beat_f": float(mir_eval.beat.f_measure(ref, est)), "cmlt": float(cmlt), "amlt": float(amlt),
           "downbeat_f": math.nan, "lag_ms": _lag_ms(ref, est)}
    if ref_downbeats is not None and est_downbeats is not None:
        rd = mir_eval.beat.trim_beats(np.asarray(ref_downbeats, dtype=np.float64), min_beat_time=skip_s)
        ed = mir_eval.beat.trim_beats(np.asarray(est_downbeats, dtype=np.float64), min_beat_time=skip_s)
        if len(rd):
            out["downbeat_f"] = float(mir_eval.beat.f_measure(rd, ed))
    return out


def mean_tracker_scores(model: Any, cases: Sequence[Any],
                        score_case: Callable[[Any], dict[str, float]]) -> dict[str, float]:
    """Mean beat F and downbeat F (over the cases that have downbeats) of ``score_case(case)`` for
    each case, with the torch ``model`` in eval mode meanwhile: a fine-tuning run's validation."""
    was_training = model.training
    model.eval()
    beat_f, down_f = [], []
    try:
        for case in cases:
            s = score_case(case)
            beat_f.append(s["beat_f"])
            if not math.isnan(s["downbeat_f"]):
                down_f.append(s["downbeat_f"])
    finally:
        model.train(was_training)
    return {"beat_f": float(np.mean(beat_f)), "downbeat_f": float(np.mean(down_f)) if down_f else math.nan,
            "n": len(cases)}


def _lag_ms(ref: np.ndarray, est: np.ndarray) -> float:
    if len(est) == 0:
        return math.nan
    right = np.clip(np.searchsorted(est, ref), 0, len(est) - 1)
    left = np.clip(right - 1, 0, len(est) - 1)
    found = np.where(np.abs(est[left] - ref) <= np.abs(est[right] - ref), est[left], est[right])
    signed = (found - ref)[np.abs(found - ref) <= LAG_WINDOW_S]
    return float(1000.0 * np.median(signed)) if len(signed) else math.nan


@dataclass
class TrackerResult:
    """One tracker's scores: per item, and the means per category (plus ``all``)."""

    name: str
    per_item: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    audio_s: float = 0.0
    table: dict[str, dict[str, float]] = field(default_factory=dict)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def evaluate(items: Sequence[BeatItem], trackers: Sequence[tuple[str, Tracker]], *, skip_s: float = SKIP_S,
             progress: Callable[[int, int, str], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> dict[str, TrackerResult]:
    """Run every tracker on every item and score it; ``{tracker name: result}``."""
    names = [n for n, _ in trackers]
    if len(set(names)) != len(names):
        raise ConfigError(f"tracker names must differ, got {names}")
    results = {name: TrackerResult(name) for name in names}
    total = len(items) * len(trackers)
    done = 0
    if items:  # warm-up, untimed: the speed column leaves out one-off compilation (librosa's numba)
        y, sr = items[0].load()
        for _, fn in trackers:
            fn(y[: 4 * sr], sr_hz=sr)
    for item in items:
        y, sr = item.load()
        for name, fn in trackers:
            if cancel is not None and cancel():
                return results
            t0 = time.perf_counter()
            beats, downs = _as_pair(fn(y, sr_hz=sr), f"tracker {name} on {item.item_id}")
            res = results[name]
            res.seconds += time.perf_counter() - t0
            res.audio_s += len(y) / sr
            res.per_item[item.item_id] = score_item(item.beats_s, beats, item.downbeats_s, downs, skip_s=skip_s)
            done += 1
            if progress is not None:
                progress(done, total, f"{name} {item.item_id}")
    by_id = {i.item_id: i for i in items}
    for res in results.values():
        groups: dict[str, list[str]] = {c: [] for c in CATEGORIES}
        for item_id in res.per_item:
            groups.setdefault(by_id[item_id].category, []).append(item_id)
        groups["all"] = list(res.per_item)
        for group, ids in groups.items():
            if ids:
                row = {m: _nanmean([res.per_item[i][m] for i in ids]) for m in METRICS}
                res.table[group] = {"n": len(ids), **row}
    return results


def _fmt(x: float, metric: str = "") -> str:
    if math.isnan(x):
        return "–"
    return f"{x:+.0f}" if metric == "lag_ms" else f"{x:.3f}"


def format_table(results: dict[str, TrackerResult]) -> str:
    """Markdown table: tracker × category rows, mean beat F, CMLt, AMLt, downbeat F."""
    lines = ["| tracker | category | n | beat F | CMLt | AMLt | downbeat F | lag ms |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for res in results.values():
        for group, row in res.table.items():
            lines.append(f"| {res.name} | {group} | {row['n']} | " + " | ".join(_fmt(row[m], m) for m in METRICS) + " |")
    speed = ", ".join(f"{r.name} {r.audio_s / r.seconds:.0f}× real time" for r in results.values() if r.seconds > 0)
    return "\n".join(lines) + (f"\n\nspeed (one process, after a warm-up call): {speed}" if speed else "")


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 4)
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    return x


def results_doc(results: dict[str, TrackerResult], items: Sequence[BeatItem], root: Path) -> dict[str, Any]:
    """The results as a JSON-ready dict (NaN → null)."""
    return {
        "set": str(root), "n_items": len(items), "skip_s": SKIP_S, "metrics": list(METRICS),
        "categories": {i.item_id: i.category for i in items},
        "trackers": {name: {"table": _clean(r.table), "per_item": _clean(r.per_item),
                            "seconds": round(r.seconds, 2), "audio_s": round(r.audio_s, 1)}
                     for name, r in results.items()},
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bgmatch eval beats",
        description="Score beat trackers on the ground-truth beat benchmark (MIDI rendered with fluidsynth; "
                    "beats and downbeats from each file's tempo and meter map). Prints a markdown table per "
                    "tracker and category and writes it, with per-item scores, as JSON.")
    p.add_argument("--out", type=Path, default=None,
                   help="the benchmark folder (default $BGMATCH_BEATS or ~/.cache/bgmatch/beats)")
    p.add_argument("--build", action="store_true",
                   help="render missing items first (resumable: rendered items are kept; needs fluidsynth, "
                        "fluid-soundfont-gm, apt-get for the Debian MIDI packages)")
    p.add_argument("--limit", type=int, default=None,
                   help="at most N items: with --build, render up to N (round-robin over categories); "
                        "always, evaluate only the first N of the set")
    p.add_argument("--per-category", type=int, default=BuildConfig.per_category,
                   help="with --build: items per category (default %(default)s)")
    p.add_argument("--seed", type=int, default=BuildConfig.seed, help="with --build: the set's seed (default %(default)s)")
    p.add_argument("--max-s", type=float, default=BuildConfig.max_s,
                   help="with --build: seconds of music per item (default %(default)s)")
    p.add_argument("--tracker", action="append", default=[], metavar="NAME|MODULE:FUNCTION",
                   help="tracker to score (repeatable): librosa, analysis, neural, or a callable "
                        "(y, *, sr_hz) -> (beat_times_s, downbeat_times_s | None); default: librosa, plus neural "
                        "when bgmatch.engine.analysis.beats exists")
    p.add_argument("--json", type=Path, default=None, help="results file (default OUT/results/beats.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    root = args.out or default_root()
    trackers = [load_tracker(s) for s in (args.tracker or default_trackers())]
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if args.build:
        config = BuildConfig(seed=args.seed, per_category=args.per_category, limit=args.limit, max_s=args.max_s)
        t0 = time.perf_counter()
        report = build_with_bar(root, config, quiet=args.quiet)
        print(f"built {len(report.rendered)} items, kept {len(report.skipped)}, left out {len(report.rejected)} "
              f"pieces in {time.perf_counter() - t0:.0f} s; the set has {len(report.items)} items in {root}")
    items = load_set(root)[: args.limit]
    bar = tqdm(total=len(items) * len(trackers), unit="run", desc="eval beats", disable=args.quiet)

    def progress(done: int, total: int, _msg: str) -> None:
        bar.n = done
        bar.refresh()

    try:
        results = evaluate(items, trackers, progress=progress)
    finally:
        bar.close()
    print(format_table(results))
    json_path = args.json or root / "results" / "beats.json"
    write_json(json_path, results_doc(results, items, root))
    print(f"wrote {json_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``bgmatch eval beats``; exit 0, or 1 with one line on stderr."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
