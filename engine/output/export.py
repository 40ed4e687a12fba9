"""Write a video with a music track as its soundtrack: trimmed to the video, faded, muxed.

The video stream is copied packet for packet when MP4 can hold its codec; otherwise it is
re-encoded to H.264. The result is written to a temporary file and renamed into place.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np

from ..analysis import media
from ..errors import BgmatchError, MediaError

#: Codecs an MP4 file can carry as they are.
MP4_COPY_CODECS = frozenset({"h264", "hevc", "mpeg4", "av1", "vp9"})


@dataclass(frozen=True)
class ExportConfig:
    """Audio settings of an export."""

    sr_hz: int = 48000
    bitrate: int = 192_000
    fade_in_s: float = 0.5
    fade_out_s: float = 2.0
    gain: float = 1.0


def fade(audio: np.ndarray, *, sr_hz: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    """Apply equal-power fades to ``audio`` ``[channels, n]`` (returns a new array)."""
    out = audio.copy()
    n = out.shape[-1]
    for length_s, sl, rising in ((fade_in_s, slice(0, None), True), (fade_out_s, slice(None), False)):
        k = min(n, int(length_s * sr_hz))
        if k <= 0:
            continue
        ramp = np.sin(np.linspace(0.0, np.pi / 2, k, dtype=np.float32)) ** 2
        if rising:
            out[..., :k] *= ramp
        else:
            out[..., n - k:] *= ramp[::-1]
    return out


def _add_audio_stream(out: av.container.OutputContainer, config: ExportConfig) -> av.audio.stream.AudioStream:
    stream = out.add_stream("aac", rate=config.sr_hz, layout="stereo")
    stream.bit_rate = config.bitrate
    return stream


def _encode_audio(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, audio: np.ndarray,
                  config: ExportConfig) -> None:
    frame_size = 1024
    pts = 0
    for start in range(0, audio.shape[1], frame_size):
        chunk = np.ascontiguousarray(audio[:, start:start + frame_size])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = config.sr_hz
        frame.pts = pts
        frame.time_base = Fraction(1, config.sr_hz)
        pts += chunk.shape[1]
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def export(
    video: str | os.PathLike[str],
    track: str | os.PathLike[str],
    *,
    offset_s: float,
    out_path: str | os.PathLike[str],
    config: ExportConfig = ExportConfig(),
    progress: Callable[[float], None] | None = None,
) -> Path:
    """Write ``out_path`` (MP4): ``video``'s picture with ``track`` from ``offset_s`` as sound.

    ``progress`` receives the fraction done (0–1). Returns the output path.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() not in {".mp4", ".m4v", ".mov"}:
        raise BgmatchError(f"{out_path}: export writes MP4; use a .mp4, .m4v or .mov name")
    if offset_s < 0:
        raise BgmatchError(f"offset {offset_s} s is negative")
    info = media.probe(video)
    if not info.has_video:
        raise MediaError(video, "no video track")
    track_info = media.probe(track)
    if not track_info.has_audio:
        raise MediaError(track, "no audio track")
    if track_info.duration_s and offset_s >= track_info.duration_s:
        raise MediaError(track, f"offset {offset_s:.2f} s is past the end of the track ({track_info.duration_s:.2f} s)")
    audio = media.decode_audio(track, sr_hz=config.sr_hz, offset_s=offset_s, max_duration_s=info.duration_s, stereo=True)
    n = int(round(info.duration_s * config.sr_hz))
    if audio.shape[1] < n:
        audio = np.pad(audio, ((0, 0), (0, n - audio.shape[1])))
    audio = fade(audio[:, :n] * config.gain, sr_hz=config.sr_hz, fade_in_s=config.fade_in_s, fade_out_s=config.fade_out_s)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.part")
    try:
        with av.open(str(video)) as inp, av.open(str(tmp), "w", format="mp4") as out:
            in_v = media.first_decodable(inp.streams.video)
            rotation = media.display_rotation(video)
            # Every stream must exist before the first packet is written.
            if in_v.codec_context.name in MP4_COPY_CODECS:
                out_v = out.add_stream_from_template(in_v)
                if rotation:
                    out_v.set_display_rotation(rotation)  # keep phone footage upright
                out_a = _add_audio_stream(out, config)
                _copy_video(inp, in_v, out, out_v, info.duration_s, progress)
            else:
                out_v = _add_h264_stream(out, in_v)
                if rotation:
                    out_v.set_display_rotation(rotation)
                out_a = _add_audio_stream(out, config)
                _reencode_video(inp, in_v, out, out_v, info.duration_s, progress)
            _encode_audio(out, out_a, np.clip(audio, -1.0, 1.0), config)
        os.replace(tmp, out_path)
    except av.error.FFmpegError as exc:
        raise MediaError(video, f"export failed: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    if progress is not None:
        progress(1.0)
    return out_path


def _copy_video(inp, in_v, out, out_v, duration_s: float, progress) -> None:
    done = 0.0
    for packet in inp.demux(in_v):
        if packet.dts is None:
            continue
        packet.stream = out_v
        out.mux(packet)
        if progress is not None and duration_s > 0:
            # Packets come in decode order: report by decode time, never going backwards.
            done = max(done, min(0.95, float(packet.dts * in_v.time_base) / duration_s * 0.95))
            progress(done)


def _add_h264_stream(out, in_v):
    out_v = out.add_stream("libx264", rate=in_v.average_rate or Fraction(25, 1))
    out_v.width = in_v.codec_context.width // 2 * 2
    out_v.height = in_v.codec_context.height // 2 * 2
    out_v.pix_fmt = "yuv420p"
    out_v.options = {"crf": "20", "preset": "veryfast"}
    return out_v


def _reencode_video(inp, in_v, out, out_v, duration_s: float, progress) -> None:
    rate = in_v.average_rate or Fraction(25, 1)
    last_pts = -1
    for i, frame in enumerate(inp.decode(in_v)):
        # Keep the source timing (AVI files often skip frames), on the output frame grid.
        pts = int(round(frame.time * rate)) if frame.time is not None else last_pts + 1
        if pts <= last_pts:
            continue
        last_pts = pts
        frame = frame.reformat(width=out_v.width, height=out_v.height, format="yuv420p")
        frame.pts = pts
        frame.time_base = Fraction(1, 1) / rate
        for packet in out_v.encode(frame):
            out.mux(packet)
        if progress is not None and duration_s > 0:
            progress(min(0.95, i / float(rate) / duration_s * 0.95))
    for packet in out_v.encode(None):
        out.mux(packet)
