"""Decode media with PyAV: probe streams, audio to mono float32, video frames at an analysis rate.

Audio files FFmpeg cannot open but libsndfile can are probed and decoded by :mod:`.sndfile`.

Every failure is raised as :class:`MediaError` naming the file and the reason, so a batch can
report it in one line and go on.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import av
import numpy as np

from ..errors import MediaError
from .sndfile import sndfile_decode, sndfile_info

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


class _Unreadable(MediaError):
    """FFmpeg found no media it knows in the file (libsndfile may still read it)."""


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
        raise _Unreadable(p, "not a readable media file (corrupt, truncated or not media at all)") from None
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
    try:
        container = _open(path)
    except _Unreadable:
        found = sndfile_info(path)
        if found is None:
            raise
        duration_s, rate_hz, tags = found
        return MediaInfo(path=os.fspath(path), duration_s=duration_s, has_video=False, has_audio=True,
                         audio_rate_hz=rate_hz, title=tags.get("title"))
    with container as c:
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
    try:
        container = _open(path)
    except _Unreadable:
        if sndfile_info(path) is None:
            raise
        return sndfile_decode(path, sr_hz=sr_hz, offset_s=offset_s, limit_s=limit_s, stereo=stereo)
    with container as c:
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
    skipped: tuple[str, ...] = ()  # decoding work left out: "deblock" filter, "nonref" frames


def _analysis_size(width: int, height: int, width_px: int) -> tuple[int, int]:
    w = min(width_px, width) if width > 0 else width_px
    h = max(2, int(round(height * w / width / 2)) * 2) if width > 0 else w
    return max(2, w // 2 * 2), h


#: Pixel formats whose first plane is the 8-bit luma (grayscale) picture.
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "gray"})

#: Non-reference frames (most B-frames) are not decoded when the source has at least this many
#: frames per analysis frame, so that the frames left can still fill every analysis slot.
NONREF_SKIP_RATIO = 2.0
#: The in-loop deblocking filter is skipped when the picture's short side shrinks at least this
#: many times: what it smooths is averaged away (41 dB PSNR or more at 160 px from 1080p H.264).
DEBLOCK_SKIP_SHRINK = 4.0
#: Share of the analysis slots holding a frame of the file that a decode without non-reference
#: frames must fill; below it (too few reference frames, or no packet times to judge by) the file
#: is decoded again with every frame.
MIN_SLOT_COVERAGE = 0.9
#: The coverage is checked once this much of the video is decoded, and again at the end.
_COVERAGE_CHECK_S = 2.0


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


#: Histogram distance between consecutive decoded frames above which the later one likely
#: starts a shot (in 40 BeatCut queries: at most 0.06 inside shots, at least 0.18 at cuts).
_CUT_JUMP = 0.15


def _coarse_histogram(frame: av.VideoFrame) -> np.ndarray | None:
    """16-bin luma histogram (sums to 1) of an 80×45 sample of the frame; None for non-YUV frames."""
    if frame.format.name not in _LUMA_FIRST:
        return None
    import cv2

    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
    sample = cv2.resize(luma, (80, 45), interpolation=cv2.INTER_NEAREST)
    return np.bincount((sample >> 4).ravel(), minlength=16) / sample.size


class _Redo(Exception):
    """A decoding pass cannot give the right frames; ``settings`` are those of the next pass."""

    def __init__(self, **settings: object) -> None:
        super().__init__()
        self.settings = settings


def _slot(t: float, period_s: float) -> int:
    """Index of the analysis slot (``period_s`` long) that time ``t`` falls in."""
    return math.floor(t / period_s + 1e-3)


class _SlotCoverage:
    """Which analysis slots hold a frame of the file (from the packets' times), and which got one."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.sources: set[int] = set()
        self.kept: list[int] = []
        self.judgeable = True  # every packet had a time

    def add_packet(self, packet: av.Packet) -> None:
        if packet.pts is None or packet.time_base is None:
            self.judgeable = False
        else:
            self.sources.add(_slot(float(packet.pts * packet.time_base), self.period_s))

    def enough(self, end_s: float) -> bool:
        """Whether :data:`MIN_SLOT_COVERAGE` of the slots holding a packet, from the first frame
        kept to ``end_s``, got a frame."""
        if not self.judgeable:
            return False
        if not self.kept:
            return True
        want = {s for s in self.sources if self.kept[0] <= s < _slot(end_s, self.period_s)}
        return not want or len(want.intersection(self.kept)) >= MIN_SLOT_COVERAGE * len(want)


def _decoded(c: av.container.InputContainer, stream: av.stream.Stream,
             coverage: _SlotCoverage | None) -> Iterator[av.VideoFrame]:
    """The frames the decoder outputs, in display order, telling ``coverage`` of each packet."""
    for packet in c.demux(stream):
        if coverage is not None and packet.size:
            coverage.add_packet(packet)
        yield from packet.decode()


def _frame_time(frame: av.VideoFrame, clock: Literal["pts", "dts"]) -> float | None:
    stamp = frame.pts if clock == "pts" else frame.dts
    return float(stamp * frame.time_base) if stamp is not None and frame.time_base is not None else None


def _grid_frames(c: av.container.InputContainer, stream: av.stream.Stream, *, fps: float, width_px: int,
                 limit_s: float, skip_nonref: bool,
                 clock: Literal["pts", "dts"]) -> tuple[list[np.ndarray], list[float], int]:
    """(frames, times, quarter turns): one frame per ``1 / fps`` slot, small and upright.

    Each slot keeps its first frame, unless a later frame in the slot changes more from the one
    before it, by at least :data:`_CUT_JUMP` (a likely cut): it takes the slot, so a cut is
    timed to its first frame, not to the next slot's start.

    Frame times are the frames' presentation stamps (``clock="pts"``), or the decoding stamps
    of the packets that released them (``"dts"``), which run in display order even in files
    whose presentation stamps were written in decoding order. :class:`_Redo` is raised when
    presentation stamps run backwards (such a file), or when, with ``skip_nonref``, fewer than
    :data:`MIN_SLOT_COVERAGE` of the slots holding a packet get a frame. A decoding error after
    the first frame ends the decode early (a truncated file keeps what decoded cleanly).
    """
    cc = stream.codec_context
    if skip_nonref:
        cc.skip_frame = "NONREF"
    src_fps = float(stream.average_rate) if stream.average_rate else 0.0
    period_s = 1.0 / fps
    coverage = _SlotCoverage(period_s) if skip_nonref else None
    frames: list[np.ndarray] = []
    times: list[float] = []
    turns = out_w = out_h = 0
    check_at, next_t, last_t = math.inf, 0.0, -math.inf
    previous_hist: np.ndarray | None = None
    kept_jump = 0.0
    try:
        for frame in _decoded(c, stream, coverage):
            t = _frame_time(frame, clock)
            if t is None:
                if skip_nonref:
                    raise _Redo(skip_nonref=False, clock=clock)
                t = 0.0 if last_t == -math.inf else last_t + 1.0 / (src_fps or fps)  # follows its predecessor
            if t < last_t - 1e-3 and clock == "pts":
                raise _Redo(skip_nonref=False, clock="dts")
            last_t = t
            if t > limit_s:
                break
            if coverage is not None and t >= check_at:  # every frame before t was output or skipped
                if not coverage.enough(t):
                    raise _Redo(skip_nonref=False, clock=clock)
                check_at = math.inf
            hist = _coarse_histogram(frame)
            jump = 0.0 if previous_hist is None or hist is None else 0.5 * float(np.abs(hist - previous_hist).sum())
            previous_hist = hist
            if t + 1e-3 < next_t:
                if jump < max(_CUT_JUMP, kept_jump) or not times or times[-1] + 1e-3 >= t:
                    continue
                frames.pop()  # the shot's first frame takes the slot
                times.pop()
            kept_jump = jump
            next_t = (_slot(t, period_s) + 1) * period_s
            if not frames:
                check_at = t + _COVERAGE_CHECK_S
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
            if coverage is not None:
                coverage.kept.append(_slot(t, period_s))
    except av.error.FFmpegError:
        if not frames:
            raise
    if coverage is not None and not coverage.enough(last_t + period_s):
        raise _Redo(skip_nonref=False, clock=clock)
    return frames, times, turns


def _decode_frames(path: str | os.PathLike[str], *, fps: float, width_px: int, limit_s: float,
                   skip_deblock: bool, skip_nonref: bool, clock: Literal["pts", "dts"]) -> Frames:
    """One decoding pass of :func:`decode_frames`; ``skip_*`` allow skipping, the source decides."""
    with _open(path) as c:
        stream = first_decodable(c.streams.video)
        if stream is None:
            raise MediaError(path, "no video track")
        cc = stream.codec_context
        if cc.width * cc.height > MAX_FRAME_PIXELS:
            raise MediaError(path, f"frame size {cc.width}x{cc.height} is too large")
        stream.thread_type = "AUTO"
        skipped: tuple[str, ...] = ()
        if skip_deblock and min(cc.width, cc.height) >= DEBLOCK_SKIP_SHRINK * width_px:
            cc.options = {**cc.options, "skip_loop_filter": "all"}
            skipped += ("deblock",)
        src_fps = float(stream.average_rate) if stream.average_rate else 0.0
        if skip_nonref and src_fps >= NONREF_SKIP_RATIO * fps:
            skipped += ("nonref",)
        try:
            frames, times, turns = _grid_frames(c, stream, fps=fps, width_px=width_px, limit_s=limit_s,
                                                skip_nonref="nonref" in skipped, clock=clock)
        except av.error.FFmpegError as exc:
            raise MediaError(path, f"video cannot be decoded: {exc.strerror or exc}") from None
        if not frames:
            raise MediaError(path, "video track has no frames")
        t0 = times[0]
        times_s = np.asarray(times, dtype=np.float64) - t0
        duration = max(_duration_s(c, stream) - t0, times_s[-1] + 1.0 / (src_fps or fps))
        return Frames(np.ascontiguousarray(np.stack(frames)), times_s, src_fps, float(duration), turns * 90 % 360,
                      skipped)


def decode_frames(
    path: str | os.PathLike[str],
    *,
    fps: float = 25.0,
    width_px: int = 160,
    max_duration_s: float | None = None,
    skip_unused: bool = True,
) -> Frames:
    """Decode grayscale frames at (at most) ``fps``, scaled to ``width_px`` wide.

    Only the luma plane of the frames kept is read and shrunk, so full-resolution frames are
    never converted. With ``skip_unused`` the decoder also leaves out work whose result the
    analysis would throw away: non-reference frames when the source has at least
    :data:`NONREF_SKIP_RATIO` frames per analysis frame (a file where that leaves analysis slots
    empty is decoded again with every frame), and the deblocking filter when the picture
    shrinks at least :data:`DEBLOCK_SKIP_SHRINK` times. Frame times are the frames' presentation
    timestamps either way (or, where a file's run backwards, its decoding timestamps, which
    follow display order). Returns :class:`Frames` with ``frames`` of shape ``[T, H, W]``, whose
    ``skipped`` names what was left out.
    """
    limit_s = MAX_DURATION_S if max_duration_s is None else min(max_duration_s, MAX_DURATION_S)
    settings: dict = {"skip_nonref": skip_unused, "clock": "pts"}
    while True:  # each pass that fails asks for less skipping or the other clock, so this ends
        try:
            return _decode_frames(path, fps=fps, width_px=width_px, limit_s=limit_s, skip_deblock=skip_unused,
                                  **settings)
        except _Redo as redo:
            settings = redo.settings
