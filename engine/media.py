"""Decode media with PyAV: probe streams, audio to mono float32, video frames at an analysis rate.

Every failure is raised as :class:`MediaError` naming the file and the reason, so a batch can
report it in one line and go on.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from .errors import MediaError

#: Frames larger than this (in pixels) are refused: decoding them would need gigabytes.
MAX_FRAME_PIXELS = 8192 * 8192
#: Media longer than this is refused (a corrupt header can claim days).
MAX_DURATION_S = 6 * 3600.0


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` found in a file."""

    path: str
    duration_s: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    audio_rate_hz: int = 0
    title: str | None = None


def _open(path: str | os.PathLike[str]) -> av.container.InputContainer:
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "no such file")
    if p.is_dir():
        raise MediaError(p, "is a folder, not a media file")
    if not os.access(p, os.R_OK):
        raise MediaError(p, "permission denied")
    if p.stat().st_size == 0:
        raise MediaError(p, "file is empty (0 bytes)")
    try:
        return av.open(str(p), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise MediaError(p, "not a readable media file (corrupt, truncated or not media at all)") from None
    except av.error.FFmpegError as exc:
        raise MediaError(p, f"cannot open: {exc.strerror or exc}") from None


def first_decodable(streams) -> av.stream.Stream | None:
    """The first stream FFmpeg has a decoder for (a damaged header can leave none)."""
    return next((st for st in streams if st.codec_context is not None), None)


def _duration_s(container: av.container.InputContainer, stream: av.stream.Stream | None) -> float:
    if stream is not None and stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def display_rotation(path: str | os.PathLike[str]) -> float:
    """The display rotation of the first video stream (degrees, counter-clockwise; 0 if none)."""
    with _open(path) as c:
        stream = first_decodable(c.streams.video)
        if stream is None:
            return 0.0
        try:
            frame = next(c.decode(stream), None)
        except av.error.FFmpegError:
            return 0.0
        return float(frame.rotation or 0.0) if frame is not None else 0.0


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read the streams and duration of a media file without decoding it."""
    with _open(path) as c:
        v, a = first_decodable(c.streams.video), first_decodable(c.streams.audio)
        if v is None and a is None:
            raise MediaError(path, "no decodable audio or video stream")
        duration = _duration_s(c, v if v is not None else a)
        fps = float(v.average_rate) if v is not None and v.average_rate else 0.0
        tags = {k.lower(): val for k, val in {**c.metadata, **(a.metadata if a is not None else {})}.items()}
        return MediaInfo(
            path=os.fspath(path),
            duration_s=duration,
            has_video=v is not None,
            has_audio=a is not None,
            width=v.codec_context.width if v is not None else 0,
            height=v.codec_context.height if v is not None else 0,
            fps=fps,
            audio_rate_hz=a.codec_context.sample_rate if a is not None else 0,
            title=(tags.get("title") or "").strip() or None,
        )


def decode_audio(
    path: str | os.PathLike[str],
    *,
    sr_hz: int = 22050,
    offset_s: float = 0.0,
    max_duration_s: float | None = None,
    stereo: bool = False,
) -> np.ndarray:
    """Decode the first audio stream to float32 at ``sr_hz``, mono (or stereo).

    Returns an array of shape ``[n_samples]`` (mono) or ``[2, n_samples]`` (``stereo=True``).
    Raises :class:`MediaError` when the file has no audio, cannot be decoded, or yields no samples.
    """
    limit_s = MAX_DURATION_S if max_duration_s is None else min(max_duration_s, MAX_DURATION_S)
    with _open(path) as c:
        stream = first_decodable(c.streams.audio)
        if stream is None:
            raise MediaError(path, "no audio track")
        stream.thread_type = "AUTO"
        if offset_s > 0:
            c.seek(int(offset_s / stream.time_base), stream=stream, backward=True)
        resampler = av.AudioResampler(format="fltp", layout="stereo" if stereo else "mono", rate=sr_hz)
        chunks: list[np.ndarray] = []
        start = int(round(offset_s * sr_hz))
        cursor: int | None = None  # sample index of the next chunk in the file's timeline
        want = int(math.ceil(limit_s * sr_hz))
        have = 0
        try:
            for frame in c.decode(stream):
                if cursor is None:
                    cursor = int(round(frame.time * sr_hz)) if frame.time is not None else 0
                for out in resampler.resample(frame):
                    arr = out.to_ndarray()  # [channels, n]
                    skip = max(0, start - cursor)
                    cursor += arr.shape[1]
                    if skip >= arr.shape[1]:
                        continue
                    arr = arr[:, skip:]
                    chunks.append(arr)
                    have += arr.shape[1]
                if have >= want:
                    break
        except av.error.FFmpegError as exc:
            if have == 0:
                raise MediaError(path, f"audio cannot be decoded: {exc.strerror or exc}") from None
            # A truncated file: keep what decoded cleanly.
        if not chunks:
            raise MediaError(path, "audio track has no samples")
        y = np.concatenate(chunks, axis=1)[:, :want].astype(np.float32, copy=False)
        y = y if stereo else y[0]
        if not np.all(np.isfinite(y)):
            y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
        return y


@dataclass(frozen=True)
class Frames:
    """Grayscale analysis frames and their presentation times."""

    frames: np.ndarray  # [T, H, W] uint8, upright (display rotation applied)
    times_s: np.ndarray  # [T] float64
    source_fps: float
    duration_s: float
    rotation_deg: int = 0  # the file's display rotation (counter-clockwise degrees)


def _analysis_size(width: int, height: int, width_px: int) -> tuple[int, int]:
    w = min(width_px, width) if width > 0 else width_px
    h = max(2, int(round(height * w / width / 2)) * 2) if width > 0 else w
    return max(2, w // 2 * 2), h


#: Pixel formats whose first plane is the 8-bit luma (grayscale) picture.
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray"})


def _gray_small(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """The frame as a ``[height, width]`` uint8 grayscale picture.

    For planar YUV the luma plane is read in place and area-averaged by OpenCV, which is about
    3× faster than FFmpeg's swscale for large downscales (measured on 1080p H.264).
    """
    if frame.format.name in _LUMA_FIRST:
        import cv2

        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
        return cv2.resize(luma, (width, height), interpolation=cv2.INTER_AREA)
    return frame.reformat(width=width, height=height, format="gray").to_ndarray()


def decode_frames(
    path: str | os.PathLike[str],
    *,
    fps: float = 25.0,
    width_px: int = 160,
    max_duration_s: float | None = None,
) -> Frames:
    """Decode grayscale frames at (at most) ``fps``, scaled to ``width_px`` wide.

    Frames are scaled inside FFmpeg as they are decoded, so full-resolution frames are never
    converted to numpy. Returns :class:`Frames` with ``frames`` of shape ``[T, H, W]``.
    """
    limit_s = MAX_DURATION_S if max_duration_s is None else min(max_duration_s, MAX_DURATION_S)
    with _open(path) as c:
        stream = first_decodable(c.streams.video)
        if stream is None:
            raise MediaError(path, "no video track")
        cc = stream.codec_context
        if cc.width * cc.height > MAX_FRAME_PIXELS:
            raise MediaError(path, f"frame size {cc.width}x{cc.height} is too large")
        stream.thread_type = "AUTO"
        src_fps = float(stream.average_rate) if stream.average_rate else 0.0
        period = 1.0 / fps
        turns = 0  # quarter turns to make frames upright, known from the first frame
        out_w = out_h = 0
        frames: list[np.ndarray] = []
        times: list[float] = []
        next_t = 0.0
        index = 0
        try:
            for frame in c.decode(stream):
                t = float(frame.time) if frame.time is not None else index / (src_fps or fps)
                index += 1
                if t > limit_s:
                    break
                if t + 1e-3 < next_t:
                    continue
                next_t = (math.floor(t / period + 1e-3) + 1) * period  # next slot of the fps grid
                if not frames:
                    # rotation is counter-clockwise; np.rot90 with k = rotation / 90 applies it
                    # (checked against OpenCV's auto-rotation on a QuickTime portrait matrix).
                    turns = int(round((frame.rotation or 0) / 90.0)) % 4
                    w, h = (cc.height, cc.width) if turns % 2 else (cc.width, cc.height)
                    out_w, out_h = _analysis_size(w, h, width_px)
                    if turns % 2:
                        out_w, out_h = out_h, out_w  # scale in the coded orientation, then turn
                small = _gray_small(frame, out_w, out_h)
                frames.append(np.rot90(small, k=turns) if turns else small)
                times.append(t)
        except av.error.FFmpegError as exc:
            if not frames:
                raise MediaError(path, f"video cannot be decoded: {exc.strerror or exc}") from None
        if not frames:
            raise MediaError(path, "video track has no frames")
        t0 = times[0]
        times_s = np.asarray(times, dtype=np.float64) - t0
        duration = max(_duration_s(c, stream) - t0, times_s[-1] + 1.0 / (src_fps or fps))
        return Frames(np.ascontiguousarray(np.stack(frames)), times_s, src_fps, float(duration), turns * 90 % 360)
