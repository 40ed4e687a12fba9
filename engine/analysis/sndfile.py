"""Read audio files that FFmpeg refuses but libsndfile plays, as a fallback behind :mod:`.media`.

FFmpeg's Ogg demuxer rejects a Vorbis stream that repeats its three header packets ("Invalid
data found when processing input"); libvorbis, through libsndfile, skips them and plays the
file. Some Debian game-music files are written that way (``hyperrogue-music``), so without
this fallback bgmatch could not index them. Only audio-only files reach it: a video file that
FFmpeg cannot open stays an error.
"""
from __future__ import annotations

import math
import os

import numpy as np
import soundfile
import soxr

from ..errors import MediaError

#: The tags read from libsndfile, by the names :mod:`.metadata` uses.
TAG_FIELDS = ("title", "artist", "album", "genre", "date")


def _open(path: str | os.PathLike[str]) -> soundfile.SoundFile | None:
    try:
        return soundfile.SoundFile(os.fspath(path))
    except (RuntimeError, TypeError, OSError):  # libsndfile's errors are RuntimeErrors
        return None


def sndfile_info(path: str | os.PathLike[str]) -> tuple[float, int, dict[str, str]] | None:
    """Duration (s), sample rate and tags of a file libsndfile can read; None if it cannot."""
    f = _open(path)
    if f is None:
        return None
    with f:
        if f.frames <= 0 or f.samplerate <= 0:
            return None
        tags = {name: value.strip() for name in TAG_FIELDS if (value := getattr(f, name, "") or "").strip()}
        return f.frames / f.samplerate, int(f.samplerate), tags


def sndfile_decode(path: str | os.PathLike[str], *, sr_hz: int, offset_s: float, limit_s: float,
                   stereo: bool) -> np.ndarray:
    """Decode with libsndfile and resample with soxr: ``[n]`` (mono) or ``[2, n]`` (``stereo``).

    Mono is the mean of the channels; stereo keeps the first two (a mono file is doubled).
    Raises :class:`MediaError` when libsndfile cannot read the file or it yields no samples.
    """
    f = _open(path)
    if f is None:
        raise MediaError(path, "not a readable media file (corrupt, truncated or not media at all)")
    with f:
        rate = int(f.samplerate)
        start = int(round(max(0.0, offset_s) * rate))
        if start >= f.frames:
            raise MediaError(path, "audio track has no samples")
        f.seek(start)
        try:
            y = f.read(frames=min(f.frames - start, int(math.ceil(limit_s * rate))), dtype="float32",
                       always_2d=True)
        except RuntimeError as exc:
            raise MediaError(path, f"audio cannot be decoded: {exc}") from None
    if y.shape[0] == 0:
        raise MediaError(path, "audio track has no samples")
    y = (np.repeat(y, 2, axis=1) if y.shape[1] == 1 else y[:, :2]) if stereo else y.mean(axis=1, keepdims=True)
    if rate != sr_hz:
        y = soxr.resample(y, rate, sr_hz, quality="HQ")
    y = np.ascontiguousarray(y.T, dtype=np.float32)
    y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    return y if stereo else y[0]
