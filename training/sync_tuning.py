"""Choose the synchrony score's weights on a BeatCut split (never on test), and ablate its parts.

    bgmatch eval sync-tune [BENCH] --split valid --grid bar_weight=0,0.5 --grid hit_weight=0,0.5,1 [--set KEY=V …]
    bgmatch eval sync-tune [BENCH] --split test --ablate [--set KEY=V …]       (report a chosen setting once)
    bgmatch eval sync-tune [BENCH] --split valid --calibrate                  (the fit's slope and midpoint)

Every query video is analysed once; each setting then re-scores the whole gallery with
:func:`~bgmatch.engine.library.retrieval.rerank` (the exact path ``Library.suggest`` takes for
a library without a model), so a grid of settings costs little more than one. ``--grid`` tries
every combination of the listed values, on top of the defaults and ``--set``; ``--ablate`` turns
each weighted part off in turn. Results per editor style where the benchmark records one.
``--calibrate`` fits the editor-facing 0–100 fit (:func:`~bgmatch.engine.analysis.fitmeasure.fit_percent`)
to the setting's scores: the right track's against the others', each at its best offset.
"""
from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bgmatch.engine.analysis.motion import VideoAnalysis
from bgmatch.engine.analysis.rhythm import MusicAnalysis
from bgmatch.engine.analysis.sync import Ranked, SyncConfig, track_curves, video_curves
from bgmatch.engine.errors import ConfigError, exit_status
from bgmatch.engine.library import Library
from bgmatch.engine.library.retrieval import rerank

from .beatcut.layout import BenchLayout, TruthRecord, default_bench_dir
from .cli import parse_overrides
from .eval_library import add_beats_argument, open_split_library
from .eval_metrics import rank_of, recall_at

#: The weighted parts of the score, as ``SyncConfig`` fields.
PARTS = ("beat_weight", "onset_weight", "energy_weight", "bar_weight", "phrase_weight", "hit_weight")
ALL = "all"


@dataclass(frozen=True)
class Query:
    """One query of the split: its analysis, true track and editor style."""

    name: str
    analysis: VideoAnalysis
    content_hash: str
    style: str


@dataclass(frozen=True)
class SettingResult:
    """Ranks of the true tracks under one setting, and their summary per style."""

    label: str
    config: SyncConfig
    ranks: tuple[int, ...]
    summary: dict[str, dict[str, float]]  # style (and "all") -> R@1, R@5, R@10, median rank, n


def style_of(record: TruthRecord) -> str:
    """The editor style a query was cut in (``all`` for benchmarks that record none)."""
    return record.style or ALL


def summarize_ranks(ranks: Sequence[int], styles: Sequence[str]) -> dict[str, dict[str, float]]:
    """R@1, R@5, R@10 and median rank, over all queries and per style."""
    groups: dict[str, list[int]] = {ALL: list(ranks)}
    for rank, style in zip(ranks, styles):
        if style != ALL:
            groups.setdefault(style, []).append(rank)
    return {style: {"R@1": recall_at(r, 1), "R@5": recall_at(r, 5), "R@10": recall_at(r, 10),
                    "median_rank": float(np.median(r)), "n": float(len(r))} for style, r in groups.items()}


class SyncTuner:
    """Re-scores one gallery for a fixed set of analysed queries under any :class:`SyncConfig`."""

    def __init__(self, library: Library, queries: Sequence[Query]) -> None:
        if not queries:
            raise ConfigError("no queries to tune on")
        self.queries = list(queries)
        self.track_ids = library.store.track_ids()
        self._music: dict[str, MusicAnalysis] = {t: library.scoring_analysis(t) for t in self.track_ids}
        missing = sorted({q.content_hash for q in self.queries} - set(self._music))
        if missing:
            raise ConfigError(f"{library.folder}: the library lacks {len(missing)} of the queries' tracks")

    def _reranked(self, config: SyncConfig) -> Iterator[tuple[Query, list[Ranked]]]:
        """Each query with the whole gallery ranked under ``config``, best first."""
        curves = {t: track_curves(m, config=config) for t, m in self._music.items()}
        for q in self.queries:
            yield q, rerank(video_curves(q.analysis, config=config), curves, config=config)

    def ranks(self, config: SyncConfig) -> list[int]:
        """1-based rank of each query's true track under ``config``."""
        n = len(self.track_ids)
        return [rank_of([r.track_id for r in ranked], q.content_hash, gallery_size=n)
                for q, ranked in self._reranked(config)]

    def best_scores(self, config: SyncConfig) -> tuple[list[float], list[float]]:
        """Scores at the best offset under ``config``: the right tracks' (one per query) and the wrong ones'."""
        right, wrong = [], []
        for q, ranked in self._reranked(config):
            for r in ranked:
                (right if r.track_id == q.content_hash else wrong).append(r.score)
        return right, wrong

    def evaluate(self, label: str, config: SyncConfig) -> SettingResult:
        """The setting's ranks and summary."""
        ranks = self.ranks(config)
        return SettingResult(label, config, tuple(ranks), summarize_ranks(ranks, [q.style for q in self.queries]))


def load_queries(library: Library, layout: BenchLayout, split: str, *, limit: int | None = None,
                 show_bar: bool = True) -> list[Query]:
    """Analyse the split's query videos (once) and pair them with their truth."""
    truth = layout.truth(split)
    paths = layout.query_videos(split)[:limit]
    if not paths:
        raise ConfigError(f"{layout.queries_dir(split)}: no query videos (build the split first)")
    out = []
    for path in tqdm(paths, unit="query", desc=f"analyse {split}", disable=not show_bar):
        record = truth.get(path.stem)
        if record is None:
            raise ConfigError(f"{path}: no ground truth for this query")
        out.append(Query(path.stem, library.analyze_video(path), record.content_hash, style_of(record)))
    return out


def parse_grid(specs: Sequence[str]) -> dict[str, list[float]]:
    """``["hit_weight=0,0.5,1", …]`` → ``{"hit_weight": [0.0, 0.5, 1.0], …}`` (``SyncConfig`` fields)."""
    names = {f.name for f in fields(SyncConfig)}
    grid: dict[str, list[float]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise ConfigError(f"--grid {spec!r}: expected FIELD=V1,V2,… with FIELD one of {', '.join(sorted(names))}")
        try:
            grid[key] = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"--grid {spec!r}: the values must be numbers") from None
        if not grid[key]:
            raise ConfigError(f"--grid {spec!r}: no values")
    return grid


def base_config(overrides: Mapping[str, Any]) -> SyncConfig:
    """The default :class:`SyncConfig` with ``overrides`` (field → value)."""
    names = {f.name for f in fields(SyncConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(f"unknown synchrony setting(s) {unknown}; known: {', '.join(sorted(names))}")
    return replace(SyncConfig(), **overrides)


def grid_settings(base: SyncConfig, grid: Mapping[str, Sequence[float]]) -> list[tuple[str, SyncConfig]]:
    """Every combination of the grid's values on top of ``base``, labelled ``key=value …``."""
    keys = list(grid)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        changes = dict(zip(keys, values))
        out.append((" ".join(f"{k}={v:g}" for k, v in changes.items()) or "base", replace(base, **changes)))
    return out


def ablation_settings(base: SyncConfig) -> list[tuple[str, SyncConfig]]:
    """``base``, then ``base`` with each weighted part off in turn, then each part alone."""
    on = [p for p in PARTS if getattr(base, p)]
    out = [("all parts", base)]
    out += [(f"without {p.removesuffix('_weight')}", replace(base, **{p: 0.0})) for p in on if len(on) > 1]
    out += [(f"{p.removesuffix('_weight')} alone", replace(base, **{q: 0.0 for q in on if q != p})) for p in on
            if len(on) > 1]
    return out


def calibrate_fit(right: Sequence[float], wrong: Sequence[float]) -> tuple[float, float]:
    """``(slope, midpoint)`` of the logistic ``σ(slope · (score − midpoint))`` that best tells the
    right tracks' scores from the wrong ones' (maximum likelihood, the two classes weighed equally,
    so that 50 % means as likely wrong as right whatever the gallery's size)."""
    from scipy.optimize import minimize

    pos, neg = np.asarray(right, np.float64), np.asarray(wrong, np.float64)
    if len(pos) < 2 or len(neg) < 2:
        raise ConfigError("calibrating the fit needs at least two right and two wrong tracks")
    x = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    w = np.where(y == 1, 0.5 / len(pos), 0.5 / len(neg))

    def loss(ab: np.ndarray) -> float:
        z = ab[0] * x + ab[1]
        return float(np.sum(w * (np.logaddexp(0.0, z) - y * z)))

    a, b = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead").x
    if a <= 1e-6:
        raise ConfigError("the right tracks do not score above the wrong ones: there is no fit to calibrate")
    return float(a), float(-b / a)


def choose(results: Sequence[SettingResult]) -> SettingResult:
    """The setting with the best mean of R@1 and R@10 over all queries (the earlier on ties)."""
    return max(results, key=lambda r: (r.summary[ALL]["R@1"] + r.summary[ALL]["R@10"]) / 2)


def format_results(results: Sequence[SettingResult], *, chosen: SettingResult | None = None) -> str:
    """One line per setting (and per style beneath it, where there are styles)."""
    width = max(12, *(len(r.label) + 2 for r in results))
    lines = [f"{'setting':<{width}}{'style':<12}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'med.rank':>10}{'n':>6}"]
    for r in results:
        mark = "  <- chosen" if chosen is not None and r is chosen else ""
        for i, (style, s) in enumerate(r.summary.items()):
            label = r.label if i == 0 else ""
            lines.append(f"{label:<{width}}{style:<12}{s['R@1']:>7.3f}{s['R@5']:>7.3f}{s['R@10']:>7.3f}"
                         f"{s['median_rank']:>10.1f}{int(s['n']):>6}{mark if i == 0 else ''}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bgmatch eval sync-tune",
        description="Choose the synchrony score's weights on a BeatCut split (valid; never test), or ablate its "
                    "parts (--ablate, e.g. once on test with the chosen setting). Queries are analysed once; "
                    "every setting re-ranks the whole gallery.")
    p.add_argument("bench", nargs="?", type=Path, default=default_bench_dir(),
                   help="benchmark folder (default %(default)s)")
    p.add_argument("--split", default="valid", help="split to score (default %(default)s)")
    p.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2,…",
                   help="try these values of a SyncConfig field (repeat: every combination is tried)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a fixed SyncConfig setting under every grid cell (TOML value)")
    p.add_argument("--ablate", action="store_true", help="score the setting, then each weighted part off and alone")
    p.add_argument("--calibrate", action="store_true",
                   help="also fit the 0–100 fit's slope and midpoint to the setting's scores (FIT_SLOPE, FIT_MIDPOINT)")
    p.add_argument("--limit", type=int, default=None, help="only the first N queries")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    add_beats_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    """Score the settings the arguments ask for, print them, and write ``--json``."""
    grid = parse_grid(args.grid)
    if grid and args.split == "test":
        raise ConfigError("--grid chooses a setting: use a split other than test (choose on valid, report test once)")
    base = base_config(parse_overrides(args.set))
    settings = grid_settings(base, grid) if grid else []
    if args.ablate or not settings:
        settings += ablation_settings(base)
    layout = BenchLayout(args.bench)
    library = open_split_library(layout, args.split, beats=args.beats, show_bar=not args.quiet)
    try:
        tuner = SyncTuner(library, load_queries(library, layout, args.split, limit=args.limit,
                                                show_bar=not args.quiet))
        results = [tuner.evaluate(label, config) for label, config in
                   tqdm(settings, unit="setting", desc="score", disable=args.quiet)]
    finally:
        library.close()
    chosen = choose(results) if grid else None
    print(format_results(results, chosen=chosen))
    print(f"{len(tuner.queries)} queries of {args.split}, gallery of {len(tuner.track_ids)} tracks")
    calibration = None
    if args.calibrate:
        right, wrong = tuner.best_scores((chosen or results[0]).config)
        slope, midpoint = calibrate_fit(right, wrong)
        calibration = {"slope": slope, "midpoint": midpoint, "n_right": len(right), "n_wrong": len(wrong)}
        print(f"fit calibration ({(chosen or results[0]).label}): slope {slope:.2f}, midpoint {midpoint:.2f} "
              f"({len(right)} right and {len(wrong)} wrong tracks at their best offsets)")
    if args.json:
        doc = {"bench": str(layout.root), "split": args.split, "n_queries": len(tuner.queries),
               "gallery_size": len(tuner.track_ids), "chosen": chosen.label if chosen else None,
               "fit_calibration": calibration,
               "settings": [{"label": r.label, "config": {f.name: getattr(r.config, f.name) for f in fields(SyncConfig)},
                             "summary": r.summary, "ranks": list(r.ranks)} for r in results]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``bgmatch eval sync-tune``; exit 0, or 1 with one line on stderr."""
    args = build_parser().parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
