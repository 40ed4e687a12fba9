"""Footage for BeatCut shots: segments of real clips and a virtual camera over real photographs.

A :class:`ClipSource` keeps its file open and seeks to each segment, so a shot decodes only the
frames it needs (from the keyframe before its start); the clip's own internal cuts are found once
at low resolution so that a shot never spans one. A :class:`PhotoSource` loads its image once and
renders pan/zoom shots with an affine warp. Both return RGB frames ``[n, H, W, 3]`` uint8.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from bgmatch.engine.errors import MediaError
from bgmatch.engine.analysis.motion import detect_cuts

PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
CLIP_SUFFIXES = frozenset({".avi", ".mp4", ".mkv", ".mov", ".webm"})
#: Width of the gray frames used to find a clip's own cuts.
_SCAN_WIDTH_PX = 96
#: Seconds kept clear of a clip's own cuts and ends.
_MARGIN_S = 0.08


def _cover_size(src_w: int, src_h: int, out_w: int, out_h: int) -> tuple[int, int]:
    """Smallest even size with the source's aspect that covers ``out_w`` × ``out_h``."""
    scale = max(out_w / src_w, out_h / src_h)
    return max(out_w, int(math.ceil(src_w * scale / 2)) * 2), max(out_h, int(math.ceil(src_h * scale / 2)) * 2)


def _center_crop(img: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    y0 = (img.shape[0] - out_h) // 2
    x0 = (img.shape[1] - out_w) // 2
    return img[y0 : y0 + out_h, x0 : x0 + out_w]


def _luma_thumbnail(frame: av.VideoFrame) -> np.ndarray:
    """Gray thumbnail about ``_SCAN_WIDTH_PX`` wide: the strided luma plane (no scaling pass)."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "gray"):
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    else:
        luma = frame.to_ndarray(format="gray")
    step = max(1, luma.shape[1] // _SCAN_WIDTH_PX)
    return np.ascontiguousarray(luma[::step, ::step])


class ClipSource:
    """A video file read by seeking; ``segments_s`` are its cut-free stretches ``[(start, end)]``."""

    kind = "clip"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = self.path.name
        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
        except av.error.FFmpegError as exc:
            raise MediaError(self.path, f"cannot open: {exc}") from None
        if not self._container.streams.video:
            self._container.close()
            raise MediaError(self.path, "no video track")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._segments: list[tuple[float, float]] | None = None
        c, st = self._container, self._stream
        if st.duration is not None and st.time_base is not None:
            self.duration_s = float(st.duration * st.time_base)
        else:
            self.duration_s = (c.duration or 0) / av.time_base

    def close(self) -> None:
        self._container.close()

    def _decode_from(self, start_s: float):
        """Frames from the keyframe at or before ``start_s`` onwards, with their times (s)."""
        tb = self._stream.time_base
        self._container.seek(max(0, int(start_s / tb)), stream=self._stream, backward=True)
        index = 0
        try:
            for frame in self._container.decode(self._stream):
                t = float(frame.time) if frame.time is not None else index / float(self._stream.average_rate or 25)
                index += 1
                yield t, frame
        except av.error.FFmpegError as exc:
            if index == 0:
                raise MediaError(self.path, f"video cannot be decoded: {exc}") from None

    @property
    def segments_s(self) -> list[tuple[float, float]]:
        """Stretches of the clip between its own cuts (one low-resolution pass, then cached)."""
        if self._segments is None:
            times, grays = [], []
            for t, frame in self._decode_from(0.0):
                grays.append(_luma_thumbnail(frame))
                times.append(t)
            if not times:
                raise MediaError(self.path, "video track has no frames")
            times_s = np.asarray(times)
            cuts = detect_cuts(np.stack(grays), times_s) if len(grays) > 2 else np.zeros(0)
            end_s = times_s[-1] + float(np.median(np.diff(times_s))) if len(times_s) > 1 else times_s[-1]
            bounds = [times_s[0], *[c for c in cuts if c > times_s[0]], end_s]
            self._segments = [
                (a + (_MARGIN_S if i else 0.0), b - _MARGIN_S) for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))
            ]
        return self._segments

    def longest_segment_s(self) -> float:
        return max(b - a for a, b in self.segments_s)

    def frames(self, *, start_s: float, n_frames: int, speed: float, fps: float, size: tuple[int, int],
               times_s: np.ndarray | None = None) -> np.ndarray:
        """``n_frames`` frames sampled from ``start_s`` at ``speed``× real time, ``[n, H, W, 3]``,
        or at the increasing source times ``times_s`` ``[n]`` (s) when given (a speed ramp).

        The latest decoded frame at or before each wanted time is used (a slower source frame rate
        repeats frames). Past the end of the file the last frame is held.
        """
        out_w, out_h = size
        wanted = start_s + speed * np.arange(n_frames) / fps if times_s is None else np.asarray(times_s, np.float64)
        out: list[np.ndarray] = []
        held: av.VideoFrame | None = None  # latest frame at or before the next wanted time
        held_img: np.ndarray | None = None
        for t, frame in self._decode_from(start_s):
            while len(out) < n_frames and t > wanted[len(out)] + 1e-6:
                if held is None:  # wanted before the first decoded frame
                    held = frame
                if held_img is None:
                    held_img = self._convert(held, out_w, out_h)
                out.append(held_img)
            if len(out) >= n_frames:
                break
            held, held_img = frame, None
        if held is None:
            raise MediaError(self.path, f"no frames at {start_s:.2f} s")
        while len(out) < n_frames:
            if held_img is None:
                held_img = self._convert(held, out_w, out_h)
            out.append(held_img)
        return np.stack(out)

    @staticmethod
    def _convert(frame: av.VideoFrame, out_w: int, out_h: int) -> np.ndarray:
        w, h = _cover_size(frame.width, frame.height, out_w, out_h)
        return _center_crop(frame.reformat(width=w, height=h, format="rgb24").to_ndarray(), out_w, out_h)


@dataclass(frozen=True)
class CameraMove:
    """A virtual camera path over a photo: window centre (photo px) and zoom, start → end."""

    center0: tuple[float, float]
    center1: tuple[float, float]
    zoom0: float
    zoom1: float


class PhotoSource:
    """A photograph shot with a virtual camera that pans and zooms at a chosen speed."""

    kind = "photo"

    def __init__(self, path: str | os.PathLike[str], *, max_width_px: int = 1280) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self._max_width_px = max_width_px
        self._image: np.ndarray | None = None

    def close(self) -> None:
        self._image = None

    @property
    def image(self) -> np.ndarray:
        """The photo as RGB ``[H, W, 3]`` uint8, at most ``max_width_px`` wide (loaded once)."""
        if self._image is None:
            img = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
            if img is None:
                raise MediaError(self.path, "not an image OpenCV can read")
            if img.shape[1] > self._max_width_px:
                h = round(img.shape[0] * self._max_width_px / img.shape[1])
                img = cv2.resize(img, (self._max_width_px, h), interpolation=cv2.INTER_AREA)
            self._image = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return self._image

    def window_px(self, zoom: float, aspect: float) -> tuple[float, float]:
        """Width and height (photo px) of the camera window at ``zoom`` (1 = largest that fits)."""
        h, w = self.image.shape[:2]
        base_w = min(w, h * aspect)
        return base_w / zoom, base_w / zoom / aspect

    def plan_move(
        self, *, speed_px_s: float, duration_s: float, size: tuple[int, int], rng: np.random.Generator
    ) -> tuple[CameraMove, float]:
        """A pan/zoom whose window moves at about ``speed_px_s`` output px/s.

        Returns the move and the speed it actually reaches (lower when the photo is too small for
        the requested travel).
        """
        out_w, out_h = size
        aspect = out_w / out_h
        h, w = self.image.shape[:2]
        zoom0 = float(rng.uniform(1.15, 1.8))
        zoom1 = float(np.clip(zoom0 * math.exp(rng.uniform(-0.08, 0.08) * duration_s), 1.05, 2.5))
        ww0, wh0 = self.window_px(zoom0, aspect)
        ww1, wh1 = self.window_px(zoom1, aspect)
        lo = np.array([max(ww0, ww1) / 2, max(wh0, wh1) / 2])
        hi = np.array([w, h]) - lo
        angle = rng.uniform(0, 2 * math.pi)
        direction = np.array([math.cos(angle), math.sin(angle)])
        scale = (ww0 + ww1) / 2 / out_w  # photo px per output px
        travel = speed_px_s * duration_s * scale
        room = hi - lo
        # Longest travel along `direction` that fits in the box of valid centres.
        fit = min((room[i] / abs(direction[i]) if abs(direction[i]) > 1e-6 else math.inf) for i in range(2))
        travel = min(travel, fit)
        span = direction * travel
        start_lo = np.where(span >= 0, lo, lo - span)
        start_hi = np.where(span >= 0, hi - span, hi)
        c0 = start_lo + rng.uniform(size=2) * np.maximum(start_hi - start_lo, 0)
        c1 = c0 + span
        actual = travel / scale / duration_s if duration_s > 0 else 0.0
        return CameraMove((float(c0[0]), float(c0[1])), (float(c1[0]), float(c1[1])), zoom0, zoom1), actual

    def frames(self, move: CameraMove, *, n_frames: int, size: tuple[int, int],
               progress: np.ndarray | None = None) -> np.ndarray:
        """Render ``n_frames`` of ``move`` as RGB ``[n, H, W, 3]`` uint8; ``progress`` ``[n]`` in
        [0, 1] is how far along the move each frame is (default: evenly spaced)."""
        out_w, out_h = size
        aspect = out_w / out_h
        img = self.image
        out = np.empty((n_frames, out_h, out_w, 3), np.uint8)
        c0, c1 = np.array(move.center0), np.array(move.center1)
        for i in range(n_frames):
            f = float(progress[i]) if progress is not None else i / max(n_frames - 1, 1)
            zoom = move.zoom0 * (move.zoom1 / move.zoom0) ** f
            cx, cy = c0 + (c1 - c0) * f
            s = self.window_px(zoom, aspect)[0] / out_w  # photo px per output px
            m = np.array([[1 / s, 0, out_w / 2 - cx / s], [0, 1 / s, out_h / 2 - cy / s]], np.float64)
            interp = cv2.INTER_AREA if s > 1.5 else cv2.INTER_LINEAR
            out[i] = cv2.warpAffine(img, m, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REFLECT)
        return out


Source = ClipSource | PhotoSource


def open_source(path: str | os.PathLike[str]) -> Source:
    """A :class:`PhotoSource` for image files, else a :class:`ClipSource`."""
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "no such file")
    return PhotoSource(p) if p.suffix.lower() in PHOTO_SUFFIXES else ClipSource(p)


def find_footage(media_root: str | os.PathLike[str], *, names: frozenset[str] | None = None) -> list[Path]:
    """Clips under ``media_root/footage`` and photos under ``media_root/photos``, sorted by name.

    ``names`` restricts the result to those file names (e.g. the ones whose license allows
    redistribution).
    """
    root = Path(media_root)
    found = sorted(
        [p for p in (root / "footage").glob("*") if p.suffix.lower() in CLIP_SUFFIXES]
        + [p for p in (root / "photos").glob("*") if p.suffix.lower() in PHOTO_SUFFIXES],
        key=lambda p: p.name,
    )
    if names is not None:
        found = [p for p in found if p.name in names]
    return found
