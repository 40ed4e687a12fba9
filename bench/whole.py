"""Case `whole`: suggest against a library of whole tracks, today's code against an earlier one.

A library holds whole songs, and synchrony is scored at every offset of every track, so whole
tracks cost more to rank than the `suggest` case's 30 s excerpts. Ours: this checkout's
``bgmatch suggest`` path (a freshly opened library analyses the 60 s 1080p video and ranks every
track). Reference: the same path in the code of :data:`REFERENCE_REVISION` (when the ranking
issue was filed), on the same audio files and the same video, each in its own library (their
analyses differ). Both run in child processes through ``library_probe.py``, taking turns so both
meet the same load; each keeps the best of its repeats. The target: ours ≤ 1.2 × the reference.
"""
from __future__ import annotations

import os
from pathlib import Path

from .context import Context
from .fixtures import music_files, whole_track_files
from .measure import BenchError, run_probe
from .reference import reference_tree
from .report import Row
from .suggest import bench_video

NAME = "whole"
#: main when the ranking issue ("a ranking that generalizes") was filed.
REFERENCE_REVISION = "9ae1285"
TARGET = 1.2
PROBE = str(Path(__file__).with_name("library_probe.py"))


def _env(pythonpath: Path | None) -> dict[str, str]:
    if pythonpath is None:
        return {}
    return {"PYTHONPATH": os.pathsep.join([str(pythonpath), *filter(None, [os.environ.get("PYTHONPATH")])])}


def _library(ctx: Context, files: list[Path], label: str, pythonpath: Path | None) -> Path:
    folder = ctx.cache / f"library-whole-{len(files)}-{label}"
    done = folder / ".built"
    if not done.exists():
        listfile = ctx.cache / f"whole-{len(files)}.txt"
        listfile.write_text("".join(f"{f}\n" for f in files))
        ctx.log(f"indexing {len(files)} whole tracks with {label} into {folder} (once; minutes per 100 tracks) …")
        out, wall = run_probe([PROBE, "build", str(folder), str(listfile)], env=_env(pythonpath), timeout_s=6 * 3600)
        if out["n_failed"] or out["tracks"] != len(files):
            raise BenchError(f"{label}: {out['n_failed']} of {len(files)} files failed to index: {out['failed'][:1]}")
        ctx.log(f"  {label}: {out['tracks']} tracks in {wall:.0f} s")
        done.write_text(f"{out['wall_s']:.1f} s wall, {out['cpu_s']:.1f} CPU-s\n")
    return folder


def run(ctx: Context) -> list[Row]:
    """One row: suggest latency on whole tracks, ours against the reference revision's."""
    n_tracks, repeats = (20, 1) if ctx.quick else (1000, 2)
    label, seconds, width, height = ("10 s 1080p", 10, 1920, 1080) if ctx.quick else ("60 s 1080p", 60, 1920, 1080)
    ctx.log(f"whole-track variants of the real music into {ctx.cache / 'whole'} (written once) …")
    files = whole_track_files(ctx.cache / "whole", music_files(ctx.media), n=n_tracks)
    ref_path = reference_tree(ctx.cache, REFERENCE_REVISION)
    ours_lib = _library(ctx, files, "ours", None)
    ref_lib = _library(ctx, files, REFERENCE_REVISION, ref_path)
    video = bench_video(ctx, seconds, width, height)
    ours_runs, ref_runs = [], []
    for i in range(repeats + 1):  # the first turn of each only warms the page cache
        ctx.log(f"whole: turn {i + 1} of {repeats + 1} …")
        ours, _ = run_probe([PROBE, "suggest", str(ours_lib), str(video)], timeout_s=1800)
        ref, _ = run_probe([PROBE, "suggest", str(ref_lib), str(video)], env=_env(ref_path), timeout_s=1800)
        if i:
            ours_runs.append(ours)
            ref_runs.append(ref)
    ours, ref = min(ours_runs, key=_total_s), min(ref_runs, key=_total_s)
    hours = sum(_duration_s(f) for f in files) / 3600
    return [Row(
        case=NAME, what=f"{label} video, {n_tracks:,} whole tracks ({hours:.0f} h of music)", ours=_total_s(ours),
        reference=_total_s(ref), unit="s", ours_label="bgmatch suggest", reference_label=f"code of {REFERENCE_REVISION}",
        target=f"≥{1 / TARGET:.2f}× (≤{TARGET}× slower)", met=_total_s(ours) <= TARGET * _total_s(ref),
        note=(f"ours: video {ours['video_s']:.1f} s + ranking {ours['ranking_s']:.2f} s; {REFERENCE_REVISION}: "
              f"video {ref['video_s']:.1f} s + ranking {ref['ranking_s']:.2f} s; best of {len(ours_runs)}"),
    )]


def _total_s(run: dict) -> float:
    """Seconds of one suggestion: the video's analysis and the ranking."""
    return run["video_s"] + run["ranking_s"]


def _duration_s(path: Path) -> float:
    import soundfile

    return soundfile.info(str(path)).duration
