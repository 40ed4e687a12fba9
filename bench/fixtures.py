"""Benchmark inputs made from the real media, cached so later runs reuse them.

- Videos of a given length and size: shots of 1–4 s from the real footage, upscaled and
  looped, encoded with libx264 (``veryfast``, CRF 21, CABAC), with the B-frames x264 chooses
  (as an editor exports) or none (as most phones and cameras record).
- A music library of N tracks: 30 s excerpts of the real tracks at different offsets and
  speeds (written as Ogg Vorbis), analysed into a bgmatch library.
- N whole tracks: every real track whole, again at small speed changes (each a distinct file,
  as a library holds whole songs), written as FLAC (fast to write; the analysis decodes either).
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np

from bgmatch.engine.analysis import media
from bgmatch.engine.library import Library

from .context import log
from .measure import BenchError

#: Footage files left out: Megamind.avi's license does not allow redistribution (assets/LICENSES.md).
_SKIP_FOOTAGE = frozenset({"Megamind.avi"})
_SPEEDS = (1.0, 0.94, 1.06, 0.89, 1.12)


def footage_files(media_dir: Path) -> list[Path]:
    """The real footage clips, sorted."""
    files = sorted(p for p in (media_dir / "footage").glob("*") if p.is_file() and p.name not in _SKIP_FOOTAGE)
    if not files:
        raise BenchError(f"no footage in {media_dir / 'footage'}; run bash tests/media/fetch.sh {media_dir}")
    return files


def music_files(media_dir: Path) -> list[Path]:
    """The real music tracks, sorted."""
    files = sorted(p for p in (media_dir / "music").rglob("*") if p.suffix in {".ogg", ".opus"})
    if not files:
        raise BenchError(f"no music in {media_dir / 'music'}; run bash tests/media/fetch.sh {media_dir}")
    return files


def _frame_counts(files: list[Path]) -> list[int]:
    counts = []
    for f in files:
        with av.open(str(f)) as c:
            counts.append(sum(1 for _ in c.decode(c.streams.video[0])))
    return counts


def _shot(path: Path, start: int, n: int):
    """``n`` decoded frames of ``path`` from frame ``start`` (wrapping to the start)."""
    got = 0
    while got < n:
        with av.open(str(path)) as c:
            for i, frame in enumerate(c.decode(c.streams.video[0])):
                if i >= start:
                    yield frame
                    got += 1
                    if got == n:
                        return
        start = 0


def make_video(path: Path, footage: list[Path], *, duration_s: float, width: int, height: int,
               fps: int = 25, seed: int = 0, b_frames: bool = True) -> Path:
    """Write (once) an H.264 MP4 of ``duration_s`` at ``width``×``height`` cut from ``footage``.

    The encoder picks every frame's type (the footage's own types are cleared, else x264 would
    copy them); ``b_frames=False`` allows it none.
    """
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    counts = _frame_counts(footage)
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    total = int(round(duration_s * fps))
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "21", **({} if b_frames else {"x264-params": "bframes=0"})}
        written, previous = 0, -1
        while written < total:
            k = int(rng.choice([i for i in range(len(footage)) if i != previous] or [0]))
            previous = k
            n = min(total - written, int(rng.uniform(1.0, 4.0) * fps))
            for frame in _shot(footage[k], int(rng.integers(0, max(1, counts[k] - n))), n):
                big = frame.reformat(width=width, height=height, format="yuv420p", interpolation="BILINEAR")
                big.pts, big.time_base = written, Fraction(1, fps)
                big.pict_type = av.video.frame.PictureType.NONE
                written += 1
                out.mux(stream.encode(big))
        out.mux(stream.encode())
    os.replace(tmp, path)
    return path


def excerpt_plan(durations_s: list[float], n: int, *, excerpt_s: float = 30.0) -> list[tuple[int, float, float]]:
    """(track index, offset s, speed) of ``n`` excerpts, spread over tracks, offsets and speeds."""
    eligible = [i for i, d in enumerate(durations_s) if d >= excerpt_s * max(_SPEEDS) + 1.0]
    if not eligible:
        raise BenchError(f"no track is longer than {excerpt_s * max(_SPEEDS) + 1.0:.0f} s")
    plan = []
    for i in range(n):
        t, round_ = eligible[i % len(eligible)], i // len(eligible)
        speed = _SPEEDS[round_ % len(_SPEEDS)]
        room = durations_s[t] - excerpt_s * speed - 0.5
        plan.append((t, (round_ * 23.0) % room, speed))
    return plan


def excerpt_files(folder: Path, music: list[Path], *, n: int, excerpt_s: float = 30.0, sr_hz: int = 22050) -> list[Path]:
    """Write (once) ``n`` Ogg Vorbis excerpts of the real tracks into ``folder``; their paths."""
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    durations = [media.probe(p).duration_s for p in music]
    out = []
    for i, (t, offset_s, speed) in enumerate(excerpt_plan(durations, n, excerpt_s=excerpt_s)):
        path = folder / f"{i:05d}-{music[t].stem[:40]}-{int(offset_s)}s-x{speed:.2f}.ogg"
        out.append(path)
        if path.exists():
            continue
        y = media.decode_audio(music[t], sr_hz=sr_hz, offset_s=offset_s, max_duration_s=excerpt_s * speed + 0.1)
        n_out = int(excerpt_s * sr_hz)
        y = np.interp(np.arange(n_out) * speed, np.arange(len(y)), y).astype(np.float32)
        tmp = path.with_name(f".{path.name}.tmp")
        soundfile.write(tmp, y, sr_hz, format="OGG", subtype="VORBIS")
        os.replace(tmp, path)
    return out


def whole_plan(n_tracks: int, n: int, *, step: float = 0.012) -> list[tuple[int, float]]:
    """(track index, speed) of ``n`` whole-track variants: every track at 1.0×, then at
    1 ± ``step``, 1 ± 2·``step``, … (so each variant is a distinct file of a plausible tempo)."""
    if n_tracks < 1:
        raise BenchError("no track to make whole-track variants of")
    plan = []
    for i in range(n):
        round_ = i // n_tracks
        k = (round_ + 1) // 2 * (1 if round_ % 2 else -1)
        plan.append((i % n_tracks, 1.0 + step * k))
    return plan


def whole_track_files(folder: Path, music: list[Path], *, n: int, sr_hz: int = 22050) -> list[Path]:
    """Write (once) ``n`` whole-track FLAC variants of the real tracks into ``folder``; their paths."""
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    plan = whole_plan(len(music), n)
    out: list[Path | None] = [None] * n
    for t, track in enumerate(music):  # each source decoded once, for all its variants
        mine = [(i, speed) for i, (tt, speed) in enumerate(plan) if tt == t]
        y = None
        for i, speed in mine:
            path = folder / f"{i:05d}-{track.stem[:40]}-x{speed:.3f}.flac"
            out[i] = path
            if path.exists():
                continue
            if y is None:
                y = media.decode_audio(track, sr_hz=sr_hz)
            n_out = int(len(y) / speed)
            z = np.interp(np.arange(n_out) * speed, np.arange(len(y)), y).astype(np.float32)
            tmp = path.with_name(f".{path.name}.tmp")
            soundfile.write(tmp, z, sr_hz, format="FLAC", subtype="PCM_16")
            os.replace(tmp, path)
    return [p for p in out if p is not None]


def built_library(folder: Path, files: list[Path], *, say: Callable[[str], None] = log) -> Path:
    """A bgmatch library of ``files`` in ``folder`` (indexing only what is missing)."""
    with Library.open(folder) as lib:
        if len(lib) < len(files):
            say(f"indexing {len(files) - len(lib)} tracks into {folder} (once) …")
            report = lib.add(files)
            if report.failed:
                raise BenchError(f"{len(report.failed)} files failed to index: {report.failed[0][1]}")
        lib.index()
    return folder
