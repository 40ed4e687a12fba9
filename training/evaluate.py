"""``bgmatch eval``: rank a BeatCut split's gallery for each query with several methods and score them.

    bgmatch eval [BENCH] --split valid [--methods random,tempo,cut-on-beat,sync] [--method pkg.mod:factory]
                 [--model NAME=BUNDLE …] [--tune-fusion] [--library DIR] [--out DIR]
    bgmatch eval build [OUT] …        build the benchmark (see bgmatch.training.beatcut.build)
    bgmatch eval plot RESULTS.json … -o recall_at_k.png
    bgmatch eval beats [--build] …    score beat trackers on the ground-truth beat set (see bgmatch.training.beats)
    bgmatch eval sync-tune …          choose the synchrony weights on valid, ablate its parts (see .sync_tuning)

The harness hands each method (:mod:`.eval_methods`) only the query video and the library; it
reads the split's ground truth afterwards, to score the answers (:mod:`.eval_metrics`). It
prints a table and writes it as ``<split>.json`` and ``<split>.csv``.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.engine.learned.bundle_format import set_fusion_weight
from bgmatch.engine.errors import ConfigError, exit_status
from bgmatch.engine.library import Library

from .beatcut.layout import BenchLayout, TruthRecord, default_bench_dir
from .eval_ablation import ABLATIONS, ablation_factory
from .eval_library import add_beats_argument, open_split_library
from .eval_methods import METHODS, MethodContext, MethodFactory, ModelScorer, Scorer, SharedVideoAnalysis, load_method
from .fusion_tuning import choose_weight
from .eval_metrics import median_finite, rank_of, summarize, sync_error_s

KS = (1, 5, 10)
COLUMNS = ("recall@1", "recall@5", "recall@10", "median_rank", "sync_error_ms", "sync_error_mean_ms",
           "offset_error_s", "offset_error_mean_s", "offset_error_n", "queries_per_s", "n_queries",
           "ref_sync_ms", "offset_ref_ms", "true_ref_ms")


@dataclass
class MethodResult:
    """One method's answers on a split: per query, and the table row."""

    name: str
    ranks: list[int] = field(default_factory=list)
    offsets_s: list[float] = field(default_factory=list)  # top-1 offset
    sync_errors_s: list[float] = field(default_factory=list)
    offset_errors_s: list[float | None] = field(default_factory=list)  # None where the top-1 track is wrong
    #: Against reference beats (the ground-truth edition): the cuts at the returned offset in the
    #: top-1 track (NaN without a reference), and, where the top-1 track is right, at the true offset.
    ref_errors_s: list[float] = field(default_factory=list)
    true_ref_errors_s: list[float | None] = field(default_factory=list)
    seconds: float = 0.0
    summary: dict[str, float] = field(default_factory=dict)


@dataclass
class EvalResult:
    """Every method's result on one split."""

    queries: list[str]
    gallery_size: int
    methods: dict[str, MethodResult]
    sync_error_floor_ms: float  # the same metric for the true track at the true offset
    styles: list[str] = field(default_factory=list)  # each query's editor style


def evaluate(library: Library, queries: Sequence[Path], methods: Sequence[MethodFactory],
             truth: Mapping[str, TruthRecord], *, seed: int = 0, show_bar: bool = True,
             reference_beats: Mapping[str, np.ndarray] | None = None) -> EvalResult:
    """Run each method on each query video against ``library`` and score it with ``truth``.

    ``truth`` maps a query's file stem to its record; the track is matched to the library by
    content hash (the library's track id). Methods never see ``truth``. ``reference_beats``
    (content hash → beat times, s) adds the offset measure against reference beats.
    """
    gallery = {t.track_id for t in library.tracks()}
    if not gallery:
        raise ConfigError(f"{library.folder}: the library has no tracks")
    missing = [q.name for q in queries if q.stem not in truth]
    if missing:
        raise ConfigError(f"no ground truth for {len(missing)} queries (e.g. {missing[0]})")
    absent = sorted({truth[q.stem].track for q in queries if truth[q.stem].content_hash not in gallery})
    if absent:
        raise ConfigError(f"{library.folder}: the library lacks {len(absent)} of the queries' tracks (e.g. {absent[0]})")
    ctx = MethodContext(library, SharedVideoAnalysis(library), seed=seed)
    scorers = [factory(ctx) for factory in methods]
    names = [s.name for s in scorers]
    if len(set(names)) != len(names):
        raise ConfigError(f"method names must differ, got {names}")
    results = {s.name: MethodResult(s.name) for s in scorers}
    for path in tqdm(list(queries), unit="query", desc="eval", disable=not show_bar):
        for scorer in scorers:
            ctx.analyses.begin()
            t0 = time.perf_counter()
            ranking = scorer.rank(path)
            wall = time.perf_counter() - t0
            shared = ctx.analyses
            res = results[scorer.name]
            res.seconds += wall - shared.computed_s + (shared.cost_s if shared.asked else 0.0)
            _score(res, ranking, truth[path.stem], ctx, gallery_size=len(gallery), where=f"{scorer.name} on {path.name}",
                   reference_beats=reference_beats or {})
    for res in results.values():
        res.summary = _summary(res, range(len(queries)))
    floor = [sync_error_s(truth[q.stem].cut_times_s, ctx.beats(truth[q.stem].content_hash),
                          offset_s=truth[q.stem].offset_s) for q in queries]
    return EvalResult([q.stem for q in queries], len(gallery), results, 1000 * median_finite(floor),
                      [truth[q.stem].style for q in queries])


def _summary(res: MethodResult, rows: Sequence[int]) -> dict[str, float]:
    """The table row of ``res`` over the queries ``rows``, with the reference offset measure."""
    pick = lambda values: [values[i] for i in rows]  # noqa: E731
    row = summarize(pick(res.ranks), pick(res.sync_errors_s), pick(res.offset_errors_s),
                    seconds=res.seconds * len(rows) / max(len(res.ranks), 1), ks=KS)
    hits = [(r, t) for r, t in zip(pick(res.ref_errors_s), pick(res.true_ref_errors_s)) if t is not None]
    row.update({"ref_sync_ms": 1000 * median_finite(pick(res.ref_errors_s)),
                "offset_ref_ms": 1000 * median_finite([r for r, _ in hits]),
                "true_ref_ms": 1000 * median_finite([t for _, t in hits])})
    return row


def style_summaries(result: EvalResult) -> dict[str, dict[str, dict[str, float]]]:
    """Each method's table row per editor style: ``{method: {style: row}}`` (styles in first-seen order)."""
    styles = list(dict.fromkeys(result.styles))
    return {name: {st: _summary(res, [i for i, s in enumerate(result.styles) if s == st]) for st in styles}
            for name, res in result.methods.items()}


def _score(res: MethodResult, ranking: list[tuple[str, float]], record: TruthRecord, ctx: MethodContext, *,
           gallery_size: int, where: str, reference_beats: Mapping[str, np.ndarray]) -> None:
    if not ranking:
        raise ConfigError(f"{where}: the method returned no tracks")
    top_id, top_offset = ranking[0][0], float(ranking[0][1])
    if not ctx.library.store.has_track(top_id):
        raise ConfigError(f"{where}: the method returned {top_id!r}, which is not a track of the library")
    rank = rank_of([r[0] for r in ranking], record.content_hash, gallery_size=gallery_size)
    res.ranks.append(rank)
    res.offsets_s.append(top_offset)
    res.sync_errors_s.append(sync_error_s(record.cut_times_s, ctx.beats(top_id), offset_s=top_offset))
    res.offset_errors_s.append(abs(top_offset - record.offset_s) if rank == 1 else None)
    ref = reference_beats.get(top_id)
    res.ref_errors_s.append(float("nan") if ref is None else sync_error_s(record.cut_times_s, ref, offset_s=top_offset))
    res.true_ref_errors_s.append(sync_error_s(record.cut_times_s, ref, offset_s=record.offset_s)
                                 if rank == 1 and ref is not None else None)


def format_table(result: EvalResult) -> str:
    """The results as a fixed-width text table."""
    width = max([14, *(len(name) + 2 for name in result.methods)])
    head = (f"{'method':<{width}}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'med.rank':>10}{'sync ms':>9}"
            f"{'offset s (n)':>15}{'q/s':>8}")
    lines = [head]
    for res in result.methods.values():
        s = res.summary
        offset = f"{s['offset_error_s']:.2f} ({int(s['offset_error_n'])})" if s["offset_error_n"] else "- (0)"
        lines.append(f"{res.name:<{width}}{s['recall@1']:>7.3f}{s['recall@5']:>7.3f}{s['recall@10']:>7.3f}"
                     f"{s['median_rank']:>10.1f}{s['sync_error_ms']:>9.0f}{offset:>15}{s['queries_per_s']:>8.2f}")
    lines.append(f"{len(result.queries)} queries, gallery of {result.gallery_size} tracks; sync error of the true "
                 f"track at the true offset: {result.sync_error_floor_ms:.0f} ms")
    return "\n".join(lines)


def format_style_table(result: EvalResult) -> str:
    """R@1, R@10 and median rank per method and editor style, and the offset measure against
    reference beats (median ms from the cuts to the nearest reference beat: at the returned
    offset / at the true offset, over the queries whose top-1 track is right)."""
    by_style = style_summaries(result)
    counts = {st: result.styles.count(st) for st in dict.fromkeys(result.styles)}
    width = max([14, *(len(name) + 2 for name in result.methods)])
    lines = [f"{'method':<{width}}{'style':<11}{'n':>4}{'R@1':>7}{'R@10':>7}{'med.rank':>10}{'ref ms':>8}"
             f"{'offset/true ms':>16}"]
    for name, rows in by_style.items():
        for st, row in rows.items():
            both = (f"{row['offset_ref_ms']:.0f}/{row['true_ref_ms']:.0f}" if row["offset_error_n"] else "-")
            lines.append(f"{name:<{width}}{st:<11}{counts[st]:>4}{row['recall@1']:>7.3f}{row['recall@10']:>7.3f}"
                         f"{row['median_rank']:>10.1f}{row['ref_sync_ms']:>8.0f}{both:>16}")
    return "\n".join(lines)


def _clean(x: float) -> float | None:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def write_results(result: EvalResult, out_dir: str | os.PathLike[str], split: str, meta: dict[str, Any]) -> list[Path]:
    """Write ``<split>.json`` (table, per-query ranks, ``meta``) and ``<split>.csv`` (the table)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_style = style_summaries(result)
    doc = {
        "split": split, **meta, "n_queries": len(result.queries), "gallery_size": result.gallery_size,
        "sync_error_floor_ms": _clean(result.sync_error_floor_ms), "queries": result.queries,
        "styles": result.styles,
        "methods": {
            name: {"summary": {k: _clean(v) for k, v in r.summary.items()}, "ranks": r.ranks,
                   "by_style": {st: {k: _clean(v) for k, v in row.items()} for st, row in by_style[name].items()},
                   "top1_offsets_s": [round(x, 3) for x in r.offsets_s],
                   "sync_errors_ms": [_clean(round(1000 * x, 1)) for x in r.sync_errors_s],
                   "ref_errors_ms": [_clean(round(1000 * x, 1)) for x in r.ref_errors_s]}
            for name, r in result.methods.items()
        },
    }
    json_path, csv_path = out / f"{split}.json", out / f"{split}.csv"
    tmp = json_path.with_name(json_path.name + ".part")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, json_path)
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("method", *COLUMNS))
        for name, r in result.methods.items():
            w.writerow((name, *(f"{r.summary[c]:.4g}" for c in COLUMNS)))
    return [json_path, csv_path]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bgmatch eval",
        description="Evaluate ranking methods on a BeatCut split. Also: `bgmatch eval build …` builds the "
                    "benchmark, `bgmatch eval plot …` draws Recall@K, `bgmatch eval beats …` scores beat trackers "
                    "on the ground-truth beat set, `bgmatch eval sync-tune …` chooses the synchrony weights.")
    p.add_argument("bench", nargs="?", type=Path, default=default_bench_dir(),
                   help="benchmark folder (default %(default)s, or $BGMATCH_BEATCUT)")
    p.add_argument("--split", default="valid", help="split to evaluate (default %(default)s)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma-separated built-in methods (default %(default)s)")
    p.add_argument("--ablation", action="store_true",
                   help="also rank with each score-part variant (" + ", ".join(ABLATIONS) + "; see "
                        "bgmatch.training.eval_ablation); they are valid --methods names too")
    p.add_argument("--method", action="append", default=[], metavar="MODULE:FACTORY",
                   help="also run a method from a factory taking a MethodContext (repeatable)")
    p.add_argument("--model", action="append", default=[], metavar="NAME=BUNDLE",
                   help="also rank with a trained model bundle (a `bgmatch train` run's model/ folder), as "
                        "two methods: NAME (fused with the analysis-only score, as `bgmatch suggest` ranks) "
                        "and 'NAME (learned only)' (repeatable)")
    p.add_argument("--tune-fusion", action="store_true",
                   help="choose each --model's fusion weight on this split (not test) and record it in its bundle")
    p.add_argument("--device", default=None, help="where models run: cpu, cuda, cuda:N (default: CUDA when present)")
    p.add_argument("--library", type=Path, default=None,
                   help="use this library as the gallery (default BENCH/libraries/SPLIT, built from the split)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N queries")
    p.add_argument("--out", type=Path, default=None, help="folder for SPLIT.json and SPLIT.csv (default BENCH/results)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random method")
    add_beats_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args: argparse.Namespace) -> int:
    layout = BenchLayout(args.bench)
    names = list(filter(None, args.methods.split(",")))
    names += [a for a in ABLATIONS if args.ablation and a not in names]
    factories = [ablation_factory(m) if m in ABLATIONS else load_method(m) for m in names]
    factories += [load_method(m) for m in args.method]
    if args.tune_fusion and (args.split == "test" or not args.model):
        raise ConfigError("--tune-fusion needs --model and a split other than test (choose on valid, report on test)")
    fused_scorers: list[tuple[Path, ModelScorer]] = []
    for spec in args.model:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise ConfigError(f"--model {spec!r}: use NAME=BUNDLE_FOLDER")
        bundle = ModelBundle.load(folder, device=args.device)

        def fused(ctx: MethodContext, name: str = name, bundle: ModelBundle = bundle, folder: str = folder) -> Scorer:
            scorer = ModelScorer(ctx, name, bundle, fused=True)
            fused_scorers.append((Path(folder), scorer))
            return scorer

        def learned(ctx: MethodContext, name: str = name, bundle: ModelBundle = bundle) -> Scorer:
            return ModelScorer(ctx, name, bundle, fused=False)

        factories += [fused, learned]
    if not factories:
        raise ConfigError("no methods to evaluate")
    queries = layout.query_videos(args.split)[: args.limit]
    if not queries:
        raise ConfigError(f"{layout.queries_dir(args.split)}: no query videos (build the split first)")
    t0 = time.perf_counter()
    library = (Library.open(args.library, create=False) if args.library
               else open_split_library(layout, args.split, beats=args.beats, show_bar=not args.quiet))
    index_s = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        keyed = layout.reference_beats()
        refs = {t.content_hash: keyed[t.key] for t in layout.gallery(args.split) if t.key in keyed}
        result = evaluate(library, queries, factories, layout.truth(args.split), seed=args.seed,
                          show_bar=not args.quiet, reference_beats=refs)
        eval_s = time.perf_counter() - t1
    finally:
        library.close()
    print(format_table(result))
    if len(set(result.styles)) > 1 or result.styles[:1] != ["tracker"]:
        print("\nper editor style (ref ms: cuts to the nearest reference beat of the top-1 track):")
        print(format_style_table(result))
    truth = layout.truth(args.split)
    for folder, scorer in fused_scorers if args.tune_fusion else []:
        tuning = choose_weight(scorer.samples, [truth[q.stem].content_hash for q in queries])
        print(f"\nfusion weight of {scorer.name} on {args.split} ({folder}):")
        print("\n".join(tuning.lines()))
        set_fusion_weight(folder, tuning.weight)
        print(f"recorded fusion_weight = {tuning.weight:g} in {folder / 'bundle.json'}")
    meta = {"bench": str(layout.root), "library": str(library.folder), "index_s": round(index_s, 1),
            "eval_s": round(eval_s, 1)}
    paths = write_results(result, args.out or layout.root / "results", args.split, meta)
    print(f"indexing {index_s:.0f} s, ranking {eval_s:.0f} s; wrote {', '.join(map(str, paths))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``bgmatch eval``; exit 0, or 1 with one line on stderr."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "build":
        from .beatcut.build import main as build_main

        return build_main(argv[1:], prog="bgmatch eval build")
    if argv and argv[0] == "plot":
        from .eval_plot import main as plot_main

        return plot_main(argv[1:])
    if argv and argv[0] == "beats":
        from .beats.evaluate import main as beats_main

        return beats_main(argv[1:])
    if argv and argv[0] == "sync-tune":
        from .sync_tuning import main as tune_main

        return tune_main(argv[1:])
    args = build_parser().parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
