"""Write a video with a music track as its soundtrack: trimmed (or fitted) to the video, faded,
loudness-normalised, muxed.

The video stream is copied packet for packet when MP4 can hold its codec; otherwise it is
re-encoded to H.264. The result is written to a temporary file and renamed into place. A track
that runs out before the video ends is refused unless it is fitted (:mod:`.fit`):
the soundtrack is never padded with silence.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np

from ..analysis import media
from ..errors import BgmatchError, MediaError
from ..progress import CancelFn, ProgressFn, cancelled
from ..progress import report as report_progress
from .fit import FitConfig, FitPlan
from .fit_render import fit_track, render_track
from .loudness import (DEFAULT_CEILING_DBTP, DEFAULT_TARGET_LUFS, LoudnessReport, integrated_lufs, normalize,
                       true_peak_dbtp)

class ExportCancelled(BgmatchError):
    """An export stopped by its ``cancel()``; the partial file was removed."""


#: Codecs an MP4 file can carry as they are.
MP4_COPY_CODECS = frozenset({"h264", "hevc", "mpeg4", "av1", "vp9"})
#: A written file's true peak may exceed the ceiling by this much (dB) before the music is written again.
CEILING_SLACK_DB = 0.05
#: At most this many extra writes to bring the written file's true peak under the ceiling.
MAX_REWRITES = 3


@dataclass(frozen=True)
class ExportConfig:
    """Audio settings of an export.

    ``target_lufs`` None keeps the track's own level (times ``gain``); otherwise the music is
    normalised to it (BS.1770 integrated) with its true peak under ``ceiling_dbtp``. A fitted
    soundtrack ends on the track's own ending, so ``fade_out_s`` applies only to a plain trim.
    """

    sr_hz: int = 48000
    bitrate: int = 192_000
    fade_in_s: float = 0.5
    fade_out_s: float = 2.0
    gain: float = 1.0
    target_lufs: float | None = DEFAULT_TARGET_LUFS
    ceiling_dbtp: float = DEFAULT_CEILING_DBTP


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_video` wrote: the file, the fit plan used (or None) and the loudness.

    ``loudness.output_lufs`` and ``loudness.true_peak_dbtp`` are measured on the written file
    (decoded again), not on the samples before encoding; ``loudness`` is None when no normalisation was asked for.
    """

    path: Path
    plan: FitPlan | None
    loudness: LoudnessReport | None


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
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Path:
    """Write ``out_path`` (MP4): ``video``'s picture with ``track`` from ``offset_s`` as sound.

    ``progress(done, total, message)`` counts milliseconds of the video written. Returns the
    output path; see :func:`export_video` for fitting and the measured loudness.
    """
    return export_video(video, track, offset_s=offset_s, out_path=out_path, config=config, progress=progress,
                        cancel=cancel).path


def soundtrack(
    video_duration_s: float,
    track: str | os.PathLike[str],
    *,
    offset_s: float,
    config: ExportConfig = ExportConfig(),
    fit: FitConfig | FitPlan | None = None,
) -> tuple[np.ndarray, FitPlan | None, LoudnessReport | None]:
    """The music of an export, ``[2, round(video_duration_s · sr_hz)]`` float32 at ``config.sr_hz``.

    With ``fit`` (a config to plan with, or a plan made before) the track is re-cut to the
    video's length; without it a track that runs out before the video ends is refused with a
    :class:`MediaError` that names both lengths. Returns the audio, the plan and the loudness
    of the samples (before encoding).
    """
    if offset_s < 0:
        raise BgmatchError(f"offset {offset_s} s is negative")
    track_info = media.probe(track)
    if not track_info.has_audio:
        raise MediaError(track, "no audio track")
    if track_info.duration_s and offset_s >= track_info.duration_s:
        raise MediaError(track, f"offset {offset_s:.2f} s is past the end of the track ({track_info.duration_s:.2f} s)")
    n = int(round(video_duration_s * config.sr_hz))
    plan: FitPlan | None = None
    if fit is not None:
        plan = fit if isinstance(fit, FitPlan) else fit_track(track, offset_s=offset_s, duration_s=video_duration_s,
                                                              config=fit)
        audio = render_track(track, plan, sr_hz=config.sr_hz)[:, :n]
        audio = fade(audio, sr_hz=config.sr_hz, fade_in_s=config.fade_in_s, fade_out_s=0.0)
    else:
        audio = media.decode_audio(track, sr_hz=config.sr_hz, offset_s=offset_s, max_duration_s=video_duration_s,
                                   stereo=True)
        if audio.shape[1] < n - config.sr_hz / 25:  # more than a video frame short
            left_s = audio.shape[1] / config.sr_hz
            raise MediaError(track, f"runs out {video_duration_s - left_s:.2f} s before the video ends: "
                                    f"{left_s:.2f} s of music from offset {offset_s:.2f} s for a "
                                    f"{video_duration_s:.2f} s video; use --fit, or an offset of at most "
                                    f"{max(0.0, offset_s + left_s - video_duration_s):.2f} s")
        audio = np.pad(audio[:, :n], ((0, 0), (0, max(0, n - audio.shape[1]))))
        audio = fade(audio, sr_hz=config.sr_hz, fade_in_s=config.fade_in_s, fade_out_s=config.fade_out_s)
    report = None
    if config.target_lufs is None:
        audio = audio * config.gain
    else:
        audio, report = normalize(audio, sr_hz=config.sr_hz, target_lufs=config.target_lufs,
                                  ceiling_dbtp=config.ceiling_dbtp)
    return np.clip(audio, -1.0, 1.0).astype(np.float32), plan, report


def export_video(
    video: str | os.PathLike[str],
    track: str | os.PathLike[str],
    *,
    offset_s: float,
    out_path: str | os.PathLike[str],
    config: ExportConfig = ExportConfig(),
    fit: FitConfig | FitPlan | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> ExportResult:
    """Write ``out_path`` (MP4): ``video``'s picture with the music of :func:`soundtrack`.

    ``progress(done, total, message)`` counts milliseconds of the video written; ``cancel()``
    is asked between packets and stops the export with nothing written (:class:`ExportCancelled`).
    The loudness in the result is measured on the written file.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() not in {".mp4", ".m4v", ".mov"}:
        raise BgmatchError(f"{out_path}: export writes MP4; use a .mp4, .m4v or .mov name")
    if offset_s < 0:
        raise BgmatchError(f"offset {offset_s} s is negative")
    info = media.probe(video)
    if not info.has_video:
        raise MediaError(video, "no video track")
    audio, plan, loudness = soundtrack(info.duration_s, track, offset_s=offset_s, config=config, fit=fit)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.part")
    total_ms = max(1, int(round(info.duration_s * 1000)))
    message = f"exporting {out_path.name}"

    reported_ms = [0]  # a second write (see below) must not move the progress back

    def step(time_s: float) -> None:
        """Report the video written up to ``time_s`` (never backwards) and honour a cancel."""
        if cancelled(cancel):
            raise ExportCancelled(f"{out_path}: export cancelled; nothing was written")
        reported_ms[0] = max(reported_ms[0], min(total_ms - 1, int(time_s * 1000)))
        report_progress(progress, reported_ms[0], total_ms, message)

    def write(music: np.ndarray) -> None:
        """Mux the video with ``music`` into the temporary file."""
        with av.open(str(video)) as inp, av.open(str(tmp), "w", format="mp4") as out:
            in_v = media.first_decodable(inp.streams.video)
            rotation = media.display_rotation(video)
            # Every stream must exist before the first packet is written.
            if in_v.codec_context.name in MP4_COPY_CODECS:
                out_v = out.add_stream_from_template(in_v)
                if rotation:
                    out_v.set_display_rotation(rotation)  # keep phone footage upright
                out_a = _add_audio_stream(out, config)
                _copy_video(inp, in_v, out, out_v, step)
            else:
                out_v = _add_h264_stream(out, in_v)
                if rotation:
                    out_v.set_display_rotation(rotation)
                out_a = _add_audio_stream(out, config)
                _reencode_video(inp, in_v, out, out_v, step)
            _encode_audio(out, out_a, music, config)

    try:
        write(audio)
        if loudness is not None:  # what a player will hear: the encoded file, decoded again
            written = media.decode_audio(tmp, sr_hz=config.sr_hz, stereo=True)
            ceiling_dbtp = config.ceiling_dbtp
            for _ in range(MAX_REWRITES):
                over_db = true_peak_dbtp(written) - config.ceiling_dbtp
                if over_db <= CEILING_SLACK_DB:
                    break
                # Lossy encoding overshoots the limited peaks (measured: 0.34 dB for AAC at
                # 192 kb/s at -14 LUFS, less after a lower limit): limit that much lower, write again.
                ceiling_dbtp -= over_db
                audio, _ = normalize(audio, sr_hz=config.sr_hz, target_lufs=config.target_lufs,
                                     ceiling_dbtp=ceiling_dbtp)
                write(np.clip(audio, -1.0, 1.0).astype(np.float32))
                written = media.decode_audio(tmp, sr_hz=config.sr_hz, stereo=True)
            loudness = dataclasses.replace(loudness, output_lufs=integrated_lufs(written, sr_hz=config.sr_hz),
                                           true_peak_dbtp=true_peak_dbtp(written))
        os.replace(tmp, out_path)
    except av.error.FFmpegError as exc:
        raise MediaError(video, f"export failed: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    report_progress(progress, total_ms, total_ms, message)
    return ExportResult(out_path, plan, loudness)


def _copy_video(inp, in_v, out, out_v, step: Callable[[float], None]) -> None:
    done = 0.0
    for packet in inp.demux(in_v):
        if packet.dts is None:
            continue
        packet.stream = out_v
        out.mux(packet)
        # Packets come in decode order: report by decode time, never going backwards.
        done = max(done, float(packet.dts * in_v.time_base))
        step(done)


def _add_h264_stream(out, in_v):
    out_v = out.add_stream("libx264", rate=in_v.average_rate or Fraction(25, 1))
    out_v.width = in_v.codec_context.width // 2 * 2
    out_v.height = in_v.codec_context.height // 2 * 2
    out_v.pix_fmt = "yuv420p"
    out_v.options = {"crf": "20", "preset": "veryfast"}
    return out_v


def _reencode_video(inp, in_v, out, out_v, step: Callable[[float], None]) -> None:
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
        step(i / float(rate))
    for packet in out_v.encode(None):
        out.mux(packet)
