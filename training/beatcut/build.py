"""Build the BeatCut benchmark: silent query videos edited from real footage on real music.

    python -m bgmatch.training.beatcut.build [OUT] [--music DIR …] [--queries train=100,valid=100,test=150]
    bgmatch eval build [OUT] …                  (the same)

Tracks and footage are split into train / valid / test, disjoint by file (:mod:`.splits`).
Each query is cut by :func:`.edit.edit_to_music` to one track of its split from a seeded start
offset, with shots drawn from its split's footage. Videos go to ``OUT/queries/<split>/`` under
opaque names; how each was made goes to ``OUT/truth/`` (:mod:`.layout`), never beside the video.
A rerun skips rendered queries, so an interrupted build resumes; the same settings and seed give
the same benchmark.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bgmatch.engine.errors import BgmatchError, ConfigError
from bgmatch.engine.library.store import content_hash

from ..parallel import run_jobs
from .edit import CutSource, EditConfig, EditManifest, edit_to_music
from .layout import LAYOUT_VERSION, BenchLayout, default_bench_dir, default_media_root
from .plan import DEFAULT_EDIT, BuildConfig, QuerySpec, Track, find_tracks, plan_queries
from .sources import Source, find_footage, open_source
from .splits import SPLITS, parse_counts, parse_fractions, split_footage, split_names


@dataclass
class BuildReport:
    """What :func:`build` did."""

    rendered: list[str] = field(default_factory=list)  # "split/q0001"
    skipped: list[str] = field(default_factory=list)  # already rendered
    failed: list[tuple[str, str]] = field(default_factory=list)  # ("split/q0001", one-line reason)
    info: dict[str, Any] = field(default_factory=dict)  # the build.json contents


class SourcePool:
    """Footage sources opened once and reused for every query (a clip's cuts are scanned once)."""

    def __init__(self) -> None:
        self._open: dict[str, Source] = {}

    def get(self, paths: Sequence[str]) -> list[Source]:
        for p in paths:
            if p not in self._open:
                self._open[p] = open_source(p)
        return [self._open[p] for p in paths]

    def close(self) -> None:
        for src in self._open.values():
            src.close()
        self._open.clear()


_POOL: SourcePool | None = None  # one per worker process


def render_query(spec: QuerySpec, track_path: str, footage: Sequence[str], edit: EditConfig, stage: Path,
                 cut_source: CutSource | None = None, pool: SourcePool | None = None) -> EditManifest:
    """Render one query into ``stage`` (``<query>.mp4`` and its manifest ``<query>.json``);
    ``cut_source`` says where the cuts go (default: the engine's beats, :class:`.edit.TrackerCuts`)."""
    global _POOL
    if pool is None:
        _POOL = _POOL or SourcePool()
        pool = _POOL
    return edit_to_music(
        track_path, pool.get(footage), out_path=stage / f"{spec.query}.mp4", offset_s=spec.offset_s,
        duration_s=spec.duration_s, config=dataclasses.replace(edit, seed=spec.seed), track_name=spec.track,
        cut_source=cut_source,
    )


def split_media(tracks: Sequence[Track], footage: Sequence[Path], config: BuildConfig
                ) -> tuple[dict[str, list[Track]], dict[str, list[Path]]]:
    """Tracks and footage by split, each disjoint by file."""
    by_key = {t.key: t for t in tracks}
    names = split_names(list(by_key), config.fractions, seed=config.seed, salt=0)
    return ({s: [by_key[k] for k in names[s]] for s in SPLITS},
            split_footage(list(footage), config.fractions, seed=config.seed))


def _build_info(config: BuildConfig, music_dirs: Sequence[Path], tracks: dict[str, list[Track]],
                footage: dict[str, list[Path]]) -> dict[str, Any]:
    splits = {}
    for s in SPLITS:
        if config.queries.get(s, 0) == 0 and not tracks[s]:
            continue
        gallery = [{"key": t.key, "path": str(t.path), "content_hash": content_hash(t.path),
                    "duration_s": round(t.duration_s, 3)} for t in tracks[s]]
        splits[s] = {"tracks": gallery, "footage": [str(p) for p in footage[s]], "queries": config.queries.get(s, 0)}
    return {"version": LAYOUT_VERSION, "config": config.to_dict(), "music_dirs": [str(d) for d in music_dirs],
            "splits": splits}


def _check_resumable(layout: BenchLayout, info: dict[str, Any]) -> None:
    if not layout.build_json.exists():
        return
    old = json.loads(layout.build_json.read_text())
    if old.get("config") != info["config"]:
        raise ConfigError(f"{layout.root} was built with other settings; build into another folder")
    for s, part in info["splits"].items():
        if [t["key"] for t in old.get("splits", {}).get(s, {}).get("tracks", [])] != [t["key"] for t in part["tracks"]]:
            raise ConfigError(f"{layout.root}: the {s} split's tracks differ from the first build (music folders "
                              "changed?); build into another folder")


def _truth_record(spec: QuerySpec, manifest: EditManifest, track_hash: str) -> dict[str, Any]:
    return {"track": spec.track, "content_hash": track_hash, "offset_s": spec.offset_s,
            "duration_s": manifest.duration_s, "cut_times_s": manifest.cut_times_s,
            "sources": sorted({s["source"] for s in manifest.shots}), "seed": spec.seed,
            "style": manifest.style, "scene_cuts_s": manifest.scene_cuts_s, "ramp": manifest.ramp,
            "shots": manifest.shots, "edit": manifest.config}


def _finish(layout: BenchLayout, spec: QuerySpec, track_hash: str) -> None:
    """Move a rendered query out of the stage: its truth first, then the video (what resume checks)."""
    stage = layout.stage_dir / spec.split
    manifest = EditManifest.read(stage / f"{spec.query}.json")
    truth = layout.truth_dir(spec.split) / f"{spec.query}.json"
    truth.write_text(json.dumps(_truth_record(spec, manifest, track_hash), indent=1) + "\n")
    (stage / f"{spec.query}.json").unlink()
    os.replace(stage / f"{spec.query}.mp4", layout.queries_dir(spec.split) / f"{spec.query}.mp4")


def write_truth(layout: BenchLayout, split: str, specs: Sequence[QuerySpec], *, seed: int) -> int:
    """Gather the split's per-query truth files into ``truth/<split>.json``; returns how many."""
    queries = {}
    for spec in specs:
        path = layout.truth_dir(split) / f"{spec.query}.json"
        if (layout.queries_dir(split) / f"{spec.query}.mp4").exists() and path.exists():
            queries[spec.query] = json.loads(path.read_text())
    doc = {"split": split, "seed": seed, "queries": queries}
    tmp = layout.truth_json(split).with_suffix(".json.part")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, layout.truth_json(split))
    return len(queries)


def build(out_dir: str | os.PathLike[str], music_dirs: Sequence[str | os.PathLike[str]],
          media_root: str | os.PathLike[str], config: BuildConfig = BuildConfig(), *, workers: int = 1,
          show_bar: bool = True, warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
          ) -> BuildReport:
    """Build (or resume) a BeatCut benchmark in ``out_dir``; see the module docstring.

    ``music_dirs``: folders of music (searched recursively). ``media_root``: folder with
    ``footage/`` and ``photos/``. ``workers``: render processes.
    """
    layout = BenchLayout(out_dir)
    music = [Path(d).expanduser() for d in music_dirs]
    tracks, footage = split_media(
        find_tracks(music, min_usable_s=config.min_track_s, max_end_s=config.max_end_s, warn=warn),
        find_footage(Path(media_root).expanduser()), config)
    for s in SPLITS:
        if config.queries.get(s, 0) and len(footage[s]) < 2:
            raise ConfigError(f"split {s!r} has {len(footage[s])} footage files; at least 2 are needed")
    info = _build_info(config, music, tracks, footage)
    _check_resumable(layout, info)
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.build_json.write_text(json.dumps(info, indent=1) + "\n")
    hashes = {t["key"]: t["content_hash"] for part in info["splits"].values() for t in part["tracks"]}
    paths = {t.key: str(t.path) for part in tracks.values() for t in part}
    specs = {s: plan_queries(tracks[s], split=s, n_queries=config.queries.get(s, 0), config=config) for s in SPLITS}
    report = BuildReport(info=info)
    todo = []
    for s in SPLITS:
        if not specs[s]:
            continue
        for folder in (layout.queries_dir(s), layout.truth_dir(s), layout.stage_dir / s):
            folder.mkdir(parents=True, exist_ok=True)
        for spec in specs[s]:
            if (layout.queries_dir(s) / f"{spec.query}.mp4").exists():
                report.skipped.append(f"{s}/{spec.query}")
            else:
                todo.append(spec)
    bar = tqdm(total=len(todo), unit="query", desc="BeatCut", disable=not show_bar)
    jobs = [(spec, paths[spec.track], info["splits"][spec.split]["footage"], config.edit,
             layout.stage_dir / spec.split, None) for spec in todo]
    try:
        for spec, error in _run(jobs, workers):
            name = f"{spec.split}/{spec.query}"
            if error is None:
                _finish(layout, spec, hashes[spec.track])
                report.rendered.append(name)
            else:
                report.failed.append((name, error))
                warn(f"failed: {name}: {error}")
            bar.update()
    finally:
        bar.close()
        for s in SPLITS:
            if specs[s]:
                write_truth(layout, s, specs[s], seed=config.seed)
                with contextlib.suppress(OSError):  # only when empty: a failed query leaves nothing
                    (layout.stage_dir / s).rmdir()
        with contextlib.suppress(OSError):
            layout.stage_dir.rmdir()
    return report


def _render_job(job: tuple, pool: SourcePool | None = None) -> str | None:
    try:
        render_query(*job, pool=pool)
    except BgmatchError as exc:
        return str(exc)
    return None


def _run(jobs: list[tuple], workers: int, *, cancel: Callable[[], bool] | None = None):
    """Yield (spec, error or None) for each job (the arguments of :func:`render_query`), rendered
    in ``workers`` processes (a job whose process dies is one failed query); after ``cancel()``
    turns true no further job starts."""
    if workers <= 1 or len(jobs) <= 1:
        pool = SourcePool()
        try:
            for job in jobs:
                if cancel is not None and cancel():
                    return
                yield job[0], _render_job(job, pool)
        finally:
            pool.close()
        return
    for job, error, crashed in run_jobs(_render_job, jobs, workers, cancel=cancel):
        yield job[0], crashed or error


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}")
    return int(w), int(h)


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def build_parser(prog: str = "python -m bgmatch.training.beatcut.build") -> argparse.ArgumentParser:
    d, e = BuildConfig(), DEFAULT_EDIT
    p = argparse.ArgumentParser(prog=prog, description="Build the BeatCut benchmark (resumable, seeded).")
    p.add_argument("out", nargs="?", type=Path, default=default_bench_dir(),
                   help="benchmark folder (default %(default)s, or $BGMATCH_BEATCUT)")
    p.add_argument("--media-root", type=Path, default=default_media_root(),
                   help="fetch.sh output with footage/ and photos/ (default %(default)s, or $BGMATCH_MEDIA)")
    p.add_argument("--music", type=Path, action="append", default=None,
                   help="music folder, repeatable (default MEDIA_ROOT/music)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--queries", type=parse_counts, default=d.queries, help="queries per split (default "
                   + ",".join(f"{k}={v}" for k, v in d.queries.items()) + ")")
    p.add_argument("--fractions", type=parse_fractions, default=d.fractions, help="share of tracks and footage "
                   "per split (default " + ",".join(f"{k}={v:g}" for k, v in d.fractions.items()) + ")")
    p.add_argument("--duration", type=float, nargs=2, metavar=("MIN_S", "MAX_S"), default=d.duration_range_s,
                   help="query length range, s (default %(default)s)")
    p.add_argument("--max-end", type=float, default=d.max_end_s,
                   help="queries end before this time in the track; eval analyses tracks up to it (default %(default)s)")
    p.add_argument("--min-track", type=float, default=d.min_track_s, help="least usable track length, s")
    g = p.add_argument_group("difficulty and rendering (BeatCut editor)")
    g.add_argument("--jitter-frames", type=int, default=e.jitter_frames, help="cut jitter around beats (default %(default)s)")
    g.add_argument("--off-beat-share", type=float, default=e.off_beat_share,
                   help="share of cuts between beats (default %(default)s)")
    g.add_argument("--beats-per-cut", type=_int_tuple, default=e.beats_per_cut_choices,
                   help="shot lengths in beats, faster where louder (default 1,2,4,8)")
    g.add_argument("--size", type=_size, default=e.size, help="WIDTHxHEIGHT (default 320x180)")
    g.add_argument("--fps", type=int, default=e.fps)
    g.add_argument("--preset", default=e.preset, help="x264 preset (default %(default)s)")
    g.add_argument("--crf", type=int, default=e.crf)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="render processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    """The :class:`BuildConfig` the command line describes."""
    edit = dataclasses.replace(DEFAULT_EDIT, jitter_frames=args.jitter_frames, off_beat_share=args.off_beat_share,
                               beats_per_cut_choices=args.beats_per_cut, size=args.size, fps=args.fps,
                               preset=args.preset, crf=args.crf)
    return BuildConfig(seed=args.seed, queries=args.queries, fractions=args.fractions,
                       duration_range_s=tuple(args.duration), max_end_s=args.max_end, min_track_s=args.min_track,
                       edit=edit)


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Build from the command line; exit 0, 1 on an error, 3 when some queries failed."""
    parser = build_parser(prog) if prog else build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        report = build(args.out, args.music or [args.media_root / "music"], args.media_root, config,
                       workers=args.workers, show_bar=not args.quiet)
    except BgmatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = {s: (len(p["tracks"]), p["queries"]) for s, p in report.info["splits"].items()}
    print(f"{len(report.rendered)} rendered, {len(report.skipped)} already there, {len(report.failed)} failed; "
          + "; ".join(f"{s}: {q} queries over {t} tracks" for s, (t, q) in counts.items()) + f"; in {args.out}")
    return 3 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
