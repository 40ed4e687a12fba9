"""Case `indexing`: seconds of music analysed per CPU-second, against decoding alone.

Ours: ``Library.add`` of the real tracks into a fresh library (decode, analysis, hashing,
store writes, index build), after librosa's beat tracker is compiled. Tagging (musicnn tags of
``indexing_clip_budget`` clips per track) is part of it; a third row compares it with
``set_tagging(False)``. Reference: decoding the
same files to the analysis rate and nothing else, the floor any indexer pays; and, as a second
reference, the paper's music features (80-bin log-mel per 4 s clip) of the same files.
Throughput is per CPU-second of this process (all its threads), so it reads "× real time per
core" and is little disturbed by other processes.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bgmatch.engine.analysis import media
from bgmatch.engine.library import Library
from bgmatch.engine.analysis.rhythm import RhythmConfig, warm_up

from .context import Context
from .fixtures import built_library, music_files
from .measure import measured
from .paper import paper_music_fbank
from .report import Row

NAME = "indexing"
TARGET_X_REAL_TIME = 50.0


def indexing_files(ctx: Context) -> list[Path]:
    """The real tracks (the first three with ``--quick``)."""
    files = music_files(ctx.media)
    return files[:3] if ctx.quick else files


def real_library(ctx: Context) -> Path:
    """A cached library of the real tracks of this run's size."""
    files = indexing_files(ctx)
    return built_library(ctx.cache / f"library-real-{len(files)}", files, say=ctx.log)


def run(ctx: Context) -> list[Row]:
    """Our indexing throughput against the decode floor and the paper's features."""
    files = indexing_files(ctx)
    sr = RhythmConfig().sr_hz
    warm_up()
    with measured() as floor:
        audio_s = sum(len(media.decode_audio(f, sr_hz=sr)) / sr for f in files)
    with measured() as paper:
        for f in files:
            paper_music_fbank(f)
    ctx.log(f"indexing: {len(files)} tracks, {audio_s / 60:.1f} min of audio …")
    folder = Path(tempfile.mkdtemp(prefix="index-", dir=ctx.cache))
    try:
        with Library.open(folder) as lib, measured() as ours:
            report = lib.add(files)
        keep = ctx.cache / f"library-real-{len(files)}"
        if not report.failed and not keep.exists():
            os.replace(folder, keep)  # the memory case starts from these analyses
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    untagged_folder = Path(tempfile.mkdtemp(prefix="index-untagged-", dir=ctx.cache))
    try:
        with Library.open(untagged_folder) as lib, measured() as untagged:
            lib.set_tagging(False)
            lib.add(files)
    finally:
        shutil.rmtree(untagged_folder, ignore_errors=True)
    ours_x = audio_s / ours.cpu_s
    note = (f"{len(files)} tracks, {audio_s / 60:.0f} min; wall {ours.wall_s:.0f} s "
            f"({audio_s / ours.wall_s:.0f}× real time on {os.cpu_count()} cores)")
    return [
        Row(case=NAME, what="music indexing vs decoding alone", ours=ours_x, reference=audio_s / floor.cpu_s,
            unit="× real time/core", ours_label="Library.add", reference_label="decode only",
            better="higher", target="≥50×", met=ours_x >= TARGET_X_REAL_TIME, note=note,
            extra={"audio_s": audio_s, "cpu_s": ours.cpu_s, "wall_s": ours.wall_s, "failed": len(report.failed)}),
        Row(case=NAME, what="music indexing vs paper features (log-mel clips)", ours=ours_x,
            reference=audio_s / paper.cpu_s, unit="× real time/core", ours_label="Library.add",
            reference_label="16 kHz decode + 80-bin fbank", better="higher",
            note="the paper's encoder would run on top of its features"),
        Row(case=NAME, what="music indexing with tags vs without", ours=ours_x,
            reference=audio_s / untagged.cpu_s, unit="× real time/core", ours_label="Library.add (tagging)",
            reference_label="Library.add, set_tagging(False)", better="higher", target="≥50×",
            met=ours_x >= TARGET_X_REAL_TIME,
            note="tagging: musicnn (MSD + MTT) on the clips indexing_clip_budget picks, plus the file's "
                 "metadata; the tagger's loading counts"),
    ]
