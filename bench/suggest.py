"""Case `suggest`: latency of a suggestion for a long video against a 1,000-track library.

Ours: a freshly opened library (no per-process caches) analyses the video and ranks every
track, as one ``bgmatch suggest`` does after start-up. Reference: the paper's feature
extraction on the same video (:mod:`bench.paper`). Each is the best of its repeats, which is
the figure least disturbed by other work on the machine.
"""
from __future__ import annotations

from pathlib import Path

from bgmatch.engine.library import Library

from .context import Context
from .fixtures import built_library, excerpt_files, footage_files, make_video, music_files
from .measure import best_of, measured
from .paper import paper_video_features
from .report import Row

NAME = "suggest"
TARGET_RATIO = 10.0
#: (label, seconds, width, height)
VIDEOS = (("60 s 1080p", 60, 1920, 1080), ("5 min 720p", 300, 1280, 720))
VIDEOS_QUICK = (("10 s 1080p", 10, 1920, 1080),)


def bench_library(ctx: Context, n_tracks: int) -> Path:
    """The cached library of ``n_tracks`` 30 s excerpts of the real music."""
    files = excerpt_files(ctx.cache / "excerpts", music_files(ctx.media), n=n_tracks)
    return built_library(ctx.cache / f"library-{n_tracks}", files, say=ctx.log)


def bench_video(ctx: Context, seconds: int, width: int, height: int) -> Path:
    """The cached benchmark video of that length and size."""
    path = ctx.cache / f"video-{seconds}s-{height}p.mp4"
    if not path.exists():
        ctx.log(f"making {path.name} from the real footage (once) …")
    return make_video(path, footage_files(ctx.media), duration_s=seconds, width=width, height=height)


def _suggest_once(folder: Path, video: Path) -> tuple[float, float]:
    """(video analysis s, ranking s) of one suggestion in a freshly opened library."""
    with Library.open(folder, create=False) as lib:
        with measured() as analysis:
            video_analysis = lib.analyze_video(video)
        with measured() as ranking:
            lib.suggest(video_analysis, top=10)
    return analysis.wall_s, ranking.wall_s


def run(ctx: Context) -> list[Row]:
    """One row per video: our suggest latency against the paper-style extraction."""
    n_tracks = 50 if ctx.quick else 1000
    repeats = 1 if ctx.quick else 2
    folder = bench_library(ctx, n_tracks)
    rows = []
    for label, seconds, width, height in VIDEOS_QUICK if ctx.quick else VIDEOS:
        video = bench_video(ctx, seconds, width, height)
        ctx.log(f"suggest: {label} …")
        runs = [_suggest_once(folder, video) for _ in range(repeats)]
        analysis_s, ranking_s = min(runs, key=sum)
        reference_s, features = best_of(lambda: paper_video_features(video), repeats)
        ours = analysis_s + ranking_s
        rows.append(Row(
            case=NAME, what=f"{label} video, {n_tracks:,}-track library", ours=ours, reference=reference_s,
            unit="s", ours_label="bgmatch suggest", reference_label="paper extraction",
            target="≥10×", met=reference_s / ours >= TARGET_RATIO,
            note=f"ours: video {analysis_s:.1f} s + ranking {ranking_s:.2f} s; paper: {features.n_frames} frames",
            extra={"analysis_s": analysis_s, "ranking_s": ranking_s, "n_tracks": n_tracks, "frames": features.n_frames},
        ))
    return rows
