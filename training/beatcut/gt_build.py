"""Build the ground-truth BeatCut: videos cut by editor styles on reference beats, over whole tracks.

    bgmatch train beatcut build --edition gt [OUT] [--midi-per-category 55] [--queries train=60,valid=90,test=150] …

The gallery (:mod:`.gt_gallery`) is whole rendered MIDI pieces with their own beats, downbeats
and phrases, and whole recordings with madmom's (computed beforehand by
``training/beats/madmom_reference.py --downbeats --max-s 0`` in a separate environment). Each
query is cut by one editor style (:mod:`.styles`) from a seeded start anywhere in its track, and
rendered by today's BeatCut renderer (:func:`.edit.edit_to_music` with a
:class:`~.styles.StyleCuts` cut source): the editor never runs bgmatch's analysis.

The layout is today's BeatCut's (:mod:`.layout`), so ``bgmatch eval OUT`` runs on it; in addition
``OUT/reference.json`` holds every gallery track's reference times (for measuring offsets), each
truth record its ``style``, and ``build.json``'s config ``max_end_s`` is null (whole tracks).
Seeded and resumable: a rerun skips rendered pieces and queries; the gallery of the first build
is kept.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from bgmatch.engine.config import config_to_dict
from bgmatch.engine.errors import BgmatchError, ConfigError
from bgmatch.engine.library.store import content_hash

from ..beats.layout import default_src_dir, default_trainset_dir, write_json
from .build import BuildReport, _finish, _run, write_truth
from .edit import EditConfig
from .gt_gallery import MIDI_CATEGORIES, GalleryItem, assign_splits, recording_items, render_midi, reserved_groups, style_order
from .layout import LAYOUT_VERSION, BenchLayout, default_media_root
from .plan import DEFAULT_EDIT, BuildConfig, QuerySpec, Track, plan_queries
from .recordings import RECORDING_PACKAGES, fetch_recordings
from .sources import find_footage
from .splits import SPLITS, parse_counts, parse_fractions, split_footage
from .styles import BAR_STYLES, STYLES, StyleCuts


@dataclass(frozen=True)
class GtConfig:
    """Settings of a ground-truth BeatCut build (stored in ``build.json``; a resumed build must match)."""

    seed: int = 0
    midi_per_category: int = 90  # whole MIDI pieces per beat-benchmark category
    midi_categories: tuple[str, ...] = MIDI_CATEGORIES
    midi_total: int | None = None  # at most this many MIDI pieces in all
    recordings: tuple[str, ...] = tuple(RECORDING_PACKAGES)  # Debian packages of recorded music
    queries: Mapping[str, int] = field(default_factory=lambda: {"train": 60, "valid": 90, "test": 150})
    fractions: Mapping[str, float] = field(default_factory=lambda: {"train": 0.25, "valid": 0.25, "test": 0.5})
    styles: tuple[str, ...] = STYLES
    duration_range_s: tuple[float, float] = (15.0, 30.0)
    lead_s: float = 1.0
    min_track_s: float = 32.0  # shorter pieces are left out
    max_piece_s: float = 900.0  # a rendered piece is cut at this length (longer than any here)
    edit: EditConfig = DEFAULT_EDIT
    edition: str = "gt"
    max_end_s: float | None = None  # whole tracks: ``bgmatch eval`` analyses each to its end

    def __post_init__(self) -> None:
        for name in ("recordings", "styles", "duration_range_s", "midi_categories"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        bad = sorted(set(self.styles) - set(STYLES))
        if bad or not self.styles:
            raise ConfigError(f"styles must be some of {', '.join(STYLES)}, got {', '.join(bad) or 'none'}")
        unknown = sorted(set(self.recordings) - set(RECORDING_PACKAGES))
        if unknown:
            raise ConfigError(f"unknown recording packages {', '.join(unknown)}")
        self.plan_config()  # validates the durations

    def plan_config(self) -> BuildConfig:
        """Today's BeatCut settings that plan the queries (starts anywhere in a whole track)."""
        return BuildConfig(seed=self.seed, queries=self.queries, fractions=self.fractions,
                           duration_range_s=self.duration_range_s, max_end_s=1e9, lead_s=self.lead_s,
                           min_track_s=self.min_track_s, edit=self.edit)

    def to_dict(self) -> dict[str, Any]:
        d = config_to_dict(self)
        d["queries"] = {s: int(self.queries.get(s, 0)) for s in SPLITS}
        d["fractions"] = {s: float(self.fractions.get(s, 0.0)) for s in SPLITS}
        return d


def default_gt_dir() -> Path:
    """``$BGMATCH_BEATCUT_GT`` or ``<user cache>/bgmatch/beatcut-gt``."""
    env = os.environ.get("BGMATCH_BEATCUT_GT")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("bgmatch")) / "beatcut-gt"


@dataclass(frozen=True)
class GtQuery:
    """A planned query with its editor style."""

    spec: QuerySpec
    style: str


def plan_styled(tracks: list[GalleryItem], *, split: str, config: GtConfig) -> list[GtQuery]:
    """The split's queries (today's seeded planner, starts anywhere in the track) with their styles:
    each style an equal share, a bar style never on a track without bar lines."""
    plain = [Track(t.key, t.path, t.duration_s) for t in tracks]
    specs = plan_queries(plain, split=split, n_queries=config.queries.get(split, 0), config=config.plan_config())
    refs = {t.key: t.reference for t in tracks}
    order = style_order(len(specs), config.styles, seed=config.seed, salt=f"styles:{split}")
    free = [s for s in config.styles if s not in BAR_STYLES] or list(config.styles)
    out, counts = [], {s: 0 for s in config.styles}
    for spec, style in zip(specs, order):
        if style in BAR_STYLES and len(refs[spec.track].downbeats_s) < 2:
            style = min(free, key=lambda s: (counts[s], free.index(s)))
        counts[style] += 1
        out.append(GtQuery(spec, style))
    return out


def _licenses(src_dir: Path) -> dict[str, str]:
    from ..beats.sources import DEBIAN_PACKAGES, MUSIC21_COLLECTIONS

    return {**{f"debian:{k}": v.license for k, v in RECORDING_PACKAGES.items()},
            **{f"debian:{k}": v for k, v in DEBIAN_PACKAGES.items()},
            **{f"music21:{k}": v for k, v in MUSIC21_COLLECTIONS.items()},
            "copyright_files": str(src_dir / "licenses")}


def build_gt(out_dir: str | os.PathLike[str], config: GtConfig = GtConfig(), *, media_root: str | os.PathLike[str],
             src_dir: Path | None = None, beats_src_dir: Path | None = None, trainset_roots: Sequence[Path] = (),
             beatcut_root: Path | None = None, workers: int = 1,
             progress: Callable[[int, int, str], None] | None = None, cancel: Callable[[], bool] | None = None,
             warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> BuildReport:
    """Build (or resume) the ground-truth BeatCut in ``out_dir``; see the module docstring.

    ``src_dir``: fetched recordings and their madmom reference (default ``OUT/src``);
    ``beats_src_dir``: the beat benchmark's MIDI sources; ``trainset_roots`` / ``beatcut_root``:
    the beat tracker's training sets and today's BeatCut, whose music is kept out of valid and test.
    ``progress(done, total, what)`` counts rendered pieces, then queries.
    """
    layout = BenchLayout(out_dir)
    layout.root.mkdir(parents=True, exist_ok=True)
    src = Path(src_dir) if src_dir is not None else layout.root / "src"
    old = json.loads(layout.build_json.read_text()) if layout.build_json.is_file() else None
    if old is not None and old.get("config") != config.to_dict():
        raise ConfigError(f"{layout.root} was built with other settings; build into another folder")
    midi = render_midi(layout.root / "midi", per_category=config.midi_per_category, seed=config.seed,
                       max_s=config.max_piece_s, min_s=config.min_track_s, src_dir=beats_src_dir or default_src_dir(),
                       workers=workers, categories=config.midi_categories, limit=config.midi_total,  # type: ignore[arg-type]
                       progress=(lambda d, t, m: progress(d, t, f"piece {m}")) if progress else None, cancel=cancel)
    recordings: list[GalleryItem] = []
    if config.recordings:
        fetch_recordings(src, list(config.recordings))
        keep = None if old is None else {t["key"] for p in old["splits"].values() for t in p["tracks"]}
        recordings = [r for r in recording_items(src, min_s=config.min_track_s, keys=keep)
                      if r.key.split("/")[0] in config.recordings]
    items = midi + recordings
    reserved = reserved_groups(items, trainset_roots=trainset_roots, beatcut_root=beatcut_root)
    tracks = assign_splits(items, config.fractions, seed=config.seed, reserved=reserved)
    footage = split_footage(find_footage(Path(media_root).expanduser()), config.fractions, seed=config.seed)
    for s in SPLITS:
        if config.queries.get(s, 0) and len(footage[s]) < 2:
            raise ConfigError(f"split {s!r} has {len(footage[s])} footage files; at least 2 are needed")
    info = {"version": LAYOUT_VERSION, "config": config.to_dict(), "licenses": _licenses(src),
            "reserved_for_train": sorted(reserved), "splits": {}}
    for s in SPLITS:
        if tracks[s] or config.queries.get(s, 0):
            info["splits"][s] = {
                "tracks": [{"key": t.key, "path": str(t.path), "content_hash": content_hash(t.path),
                            "duration_s": round(t.duration_s, 3)} for t in tracks[s]],
                "footage": [str(p) for p in footage[s]], "queries": config.queries.get(s, 0)}
    if old is not None:
        for s, part in info["splits"].items():
            if [t["key"] for t in old["splits"].get(s, {}).get("tracks", [])] != [t["key"] for t in part["tracks"]]:
                raise ConfigError(f"{layout.root}: the {s} split's tracks differ from the first build; "
                                  "build into another folder")
    write_json(layout.build_json, info)
    write_json(layout.root / "reference.json", {t.key: t.reference.to_dict() for t in items})
    return _render_queries(layout, info, {s: tracks[s] for s in SPLITS}, config, workers=workers,
                           progress=progress, cancel=cancel, warn=warn)


def _render_queries(layout: BenchLayout, info: dict[str, Any], tracks: dict[str, list[GalleryItem]],
                    config: GtConfig, *, workers: int, progress, cancel, warn) -> BuildReport:
    report = BuildReport(info=info)
    hashes = {t["key"]: t["content_hash"] for part in info["splits"].values() for t in part["tracks"]}
    by_key = {t.key: t for part in tracks.values() for t in part}
    planned = {s: plan_styled(tracks[s], split=s, config=config) for s in SPLITS if config.queries.get(s, 0)}
    jobs = []
    for s, queries in planned.items():
        for folder in (layout.queries_dir(s), layout.truth_dir(s), layout.stage_dir / s):
            folder.mkdir(parents=True, exist_ok=True)
        for q in queries:
            if (layout.queries_dir(s) / f"{q.spec.query}.mp4").exists():
                report.skipped.append(f"{s}/{q.spec.query}")
                continue
            track = by_key[q.spec.track]
            jobs.append((q.spec, str(track.path), info["splits"][s]["footage"], config.edit, layout.stage_dir / s,
                         StyleCuts(q.style, track.reference)))  # type: ignore[arg-type]
    total = len(jobs)
    try:
        for done, (spec, error) in enumerate(_run(jobs, workers, cancel=cancel), start=1):
            name = f"{spec.split}/{spec.query}"
            if error is None:
                _finish(layout, spec, hashes[spec.track])
                report.rendered.append(name)
            else:
                report.failed.append((name, error))
                warn(f"failed: {name}: {error}")
            if progress is not None:
                progress(done, total, f"query {name}")
    finally:
        for s, queries in planned.items():
            write_truth(layout, s, [q.spec for q in queries], seed=config.seed)
    return report


def build_parser(prog: str = "bgmatch train beatcut build --edition gt") -> argparse.ArgumentParser:
    d = GtConfig()
    p = argparse.ArgumentParser(prog=prog, description="Build the ground-truth BeatCut (resumable, seeded).")
    p.add_argument("out", nargs="?", type=Path, default=default_gt_dir(),
                   help="benchmark folder (default %(default)s, or $BGMATCH_BEATCUT_GT)")
    p.add_argument("--media-root", type=Path, default=default_media_root(), help="footage/ and photos/ (default %(default)s)")
    p.add_argument("--src", type=Path, default=None, help="recordings and their madmom reference (default OUT/src)")
    p.add_argument("--beats-src", type=Path, default=None, help="the beat benchmark's MIDI sources (default its own)")
    p.add_argument("--trainset", type=Path, action="append", default=None, metavar="SET",
                   help="a beat tracker training set whose pieces are kept out of valid and test (repeatable; "
                        f"default {default_trainset_dir()})")
    p.add_argument("--beatcut", type=Path, default=Path(platformdirs.user_cache_dir("bgmatch")) / "beatcut",
                   help="today's BeatCut, whose train-split music is kept out of valid and test (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--midi-per-category", type=int, default=d.midi_per_category)
    p.add_argument("--midi-total", type=int, default=d.midi_total, help="at most this many MIDI pieces in all")
    p.add_argument("--recordings", default=",".join(d.recordings), help="Debian packages ('' for none)")
    p.add_argument("--queries", type=parse_counts, default=d.queries)
    p.add_argument("--fractions", type=parse_fractions, default=d.fractions)
    p.add_argument("--styles", default=",".join(d.styles))
    p.add_argument("--duration", type=float, nargs=2, metavar=("MIN_S", "MAX_S"), default=d.duration_range_s)
    p.add_argument("--min-track", type=float, default=d.min_track_s)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Build from the command line; exit 0, 1 on an error, 3 when some queries failed."""
    args = build_parser(prog or "bgmatch train beatcut build --edition gt").parse_args(argv)
    try:
        for named in args.trainset or []:
            if not (named / "build.json").is_file():
                raise ConfigError(f"{named}: not a beat tracker training set (no build.json)")
        config = GtConfig(seed=args.seed, midi_per_category=args.midi_per_category, midi_total=args.midi_total,
                          recordings=tuple(filter(None, args.recordings.split(","))), queries=args.queries,
                          fractions=args.fractions, styles=tuple(filter(None, args.styles.split(","))),
                          duration_range_s=tuple(args.duration), min_track_s=args.min_track)
        report = build_gt(args.out, config, media_root=args.media_root, src_dir=args.src, beats_src_dir=args.beats_src,
                          trainset_roots=args.trainset or [default_trainset_dir()], beatcut_root=args.beatcut, workers=args.workers,
                          progress=None if args.quiet else _print_progress)
    except BgmatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sizes = {s: len(p["tracks"]) for s, p in report.info["splits"].items()}
    print(f"{len(report.rendered)} rendered, {len(report.skipped)} already there, {len(report.failed)} failed; "
          f"gallery {sum(sizes.values())} tracks ({', '.join(f'{s} {n}' for s, n in sizes.items())}); in {args.out}")
    return 3 if report.failed else 0


def _print_progress(done: int, total: int, what: str) -> None:
    print(f"{done}/{total} {what}", file=sys.stderr, flush=True)

