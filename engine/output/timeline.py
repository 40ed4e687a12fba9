"""Timelines for editing software, written through OpenTimelineIO and its adapters.

A timeline holds the video clip on a video track and the music on an audio track: one clip
per segment of the fit plan (or one trimmed clip without a fit), joined by dissolves centred
on each join (the plan's equal-power crossfades). Markers sit on the clips at the track's
beats (bar lines named "bar") and at the video's cuts, in each clip's source time. Media are
referenced by absolute ``file://`` URLs, which Final Cut, Premiere, Resolve and Kdenlive resolve.

The format comes from the file name's extension (:data:`FORMATS`); every format is written
by an OpenTimelineIO adapter, none by hand. What each one keeps is stated in
:data:`FORMAT_NOTES` and checked by reading the file back (tests/engine/test_timeline.py).
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import opentimelineio as otio

from ..analysis import media
from ..errors import BgmatchError, MediaError
from .fit import FitConfig, FitPlan
from .fit_render import fit_track

#: Timeline file extension → OpenTimelineIO adapter.
FORMATS = {
    ".otio": "otio_json",  # OpenTimelineIO's own format
    ".fcpxml": "fcpx_xml",  # Final Cut Pro X, DaVinci Resolve (otio-fcpx-xml-adapter)
    ".xml": "fcp_xml",  # Final Cut Pro 7 XML, read by Premiere Pro and Resolve (otio-fcp-adapter)
    ".edl": "cmx_3600",  # CMX 3600 EDL (otio-cmx3600-adapter)
    ".kdenlive": "kdenlive",  # Kdenlive project, rendered by MLT's melt (otio-kdenlive-adapter)
}

#: What a format loses, as measured by reading it back with OpenTimelineIO.
FORMAT_NOTES = {
    ".otio": "keeps everything: clips, source ranges, crossfades, markers, file URLs",
    ".fcpxml": "drops the crossfades (the adapter writes the music as connected clips, which carry no "
               "transitions); markers come back on their clips (a few moved by a frame), and OpenTimelineIO's "
               "reader also copies the music's onto the video clip",
    ".xml": "keeps clips, source ranges, crossfades and markers",
    ".edl": "holds the music track only (an EDL is one track; the video is one untouched clip); a crossfade "
            "becomes an EDL dissolve, which starts at the join, so it reads back with the join moved by half "
            "the crossfade; markers become LOC comments",
    ".kdenlive": "keeps clips and source ranges; drops crossfades and markers (the otio-kdenlive-adapter writes "
                 "neither); media are absolute paths, as Kdenlive stores them",
}

BAR_MARKER, BEAT_MARKER, CUT_MARKER = "bar", "beat", "cut"


@dataclass(frozen=True)
class TimelineSource:
    """What a timeline shows: the video and its cuts, the track, its beats and bars, and the cut of the music."""

    video: Path
    video_duration_s: float
    fps: float
    track: Path
    track_duration_s: float
    segments: tuple[tuple[float, float, float], ...]  # (source start s, source end s, crossfade before s)
    beat_times_s: tuple[float, ...] = ()
    bar_times_s: tuple[float, ...] = ()
    cut_times_s: tuple[float, ...] = ()


def source_for(video: str | os.PathLike[str], track: str | os.PathLike[str], *, offset_s: float,
               plan: FitPlan | None = None, beat_times_s=(), bar_times_s=(), cut_times_s=()) -> TimelineSource:
    """The :class:`TimelineSource` of an export: ``plan``'s segments, or the track trimmed from ``offset_s``."""
    v, t = media.probe(video), media.probe(track)
    if not v.has_video:
        raise BgmatchError(f"{video}: no video track")
    if plan is not None:
        if plan.stretch_rate != 1.0:
            raise BgmatchError("a time-stretched fit cannot go into a timeline (the formats disagree on speed "
                               "changes); fit without stretching for a timeline")
        segments = tuple((s.source_start_s, s.source_end_s, s.crossfade_s) for s in plan.segments)
        beat_times_s, bar_times_s = plan.beat_times_s, plan.bar_times_s
    else:
        end = min(t.duration_s, offset_s + v.duration_s)
        segments = ((offset_s, end, 0.0),)
    return TimelineSource(Path(video).resolve(), v.duration_s, v.fps or 25.0, Path(track).resolve(), t.duration_s,
                          segments, tuple(map(float, beat_times_s)), tuple(map(float, bar_times_s)),
                          tuple(map(float, cut_times_s)))


def _t(seconds: float, rate: float) -> otio.opentime.RationalTime:
    """``seconds`` on the timeline's frame grid."""
    return otio.opentime.RationalTime(round(seconds * rate), rate)


def _range(start_s: float, duration_s: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_t(start_s, rate), _t(start_s + duration_s, rate) - _t(start_s, rate))


def _reference(path: Path, duration_s: float, rate: float) -> otio.schema.ExternalReference:
    return otio.schema.ExternalReference(target_url=path.as_uri(), available_range=_range(0.0, duration_s, rate))


def _marker(name: str, time_s: float, rate: float, color: str) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, marked_range=otio.opentime.TimeRange(_t(time_s, rate),
                                                                             otio.opentime.RationalTime(0, rate)),
                              color=color)


def timeline_rate(fps: float) -> float:
    """The video's frame rate when it is a SMPTE timecode rate (within 0.5 %), else 25.

    EDL and FCP XML count in timecode, which exists only at those rates.
    """
    nearest = otio.opentime.RationalTime.nearest_smpte_timecode_rate(fps) if fps > 0 else 25.0
    return float(nearest) if fps > 0 and abs(nearest / fps - 1) < 0.005 else 25.0


def build_timeline(src: TimelineSource, *, name: str | None = None) -> otio.schema.Timeline:
    """The OpenTimelineIO timeline of ``src`` (times rounded to frames of :func:`timeline_rate`)."""
    rate = timeline_rate(src.fps)
    timeline = otio.schema.Timeline(name=name or f"{src.video.stem} + {src.track.stem}",
                                    global_start_time=otio.opentime.RationalTime(0, rate))
    video_track = otio.schema.Track(name="Video", kind=otio.schema.TrackKind.Video)
    clip = otio.schema.Clip(name=src.video.name, media_reference=_reference(src.video, src.video_duration_s, rate),
                            source_range=_range(0.0, src.video_duration_s, rate))
    for c in src.cut_times_s:
        clip.markers.append(_marker(CUT_MARKER, c, rate, otio.schema.MarkerColor.RED))
    video_track.append(clip)
    music = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    bars = np.asarray(src.bar_times_s)
    for k, (s0, s1, xfade) in enumerate(src.segments):
        if k and xfade > 0:
            half = otio.opentime.RationalTime(max(1, round(xfade * rate / 2)), rate)
            music.append(otio.schema.Transition(name="crossfade", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                                                in_offset=half, out_offset=half))
        seg = otio.schema.Clip(name=f"{src.track.name} {k + 1}",
                               media_reference=_reference(src.track, src.track_duration_s, rate),
                               source_range=_range(s0, s1 - s0, rate))
        for b in src.beat_times_s:
            if s0 <= b < s1:
                on_bar = len(bars) and np.abs(bars - b).min() < 1e-6
                seg.markers.append(_marker(BAR_MARKER if on_bar else BEAT_MARKER, b, rate,
                                           otio.schema.MarkerColor.GREEN if on_bar else otio.schema.MarkerColor.BLUE))
        music.append(seg)
    timeline.tracks.append(video_track)
    timeline.tracks.append(music)
    return timeline


@dataclass(frozen=True)
class TimelineResult:
    """What :func:`export_timeline` wrote, the fit plan it used (or None), and what the format drops."""

    path: Path
    plan: FitPlan | None
    dropped: str


def video_cuts(video: str | os.PathLike[str], *, fps: float = 12.5) -> np.ndarray:
    """Shot-cut times (s) of ``video``: frame histogram jumps (:func:`motion.detect_cuts`), no optical flow."""
    from ..analysis.motion import detect_cuts

    frames = media.decode_frames(video, fps=fps, width_px=160)
    return detect_cuts(frames.frames, frames.times_s)


def export_timeline(video: str | os.PathLike[str], track: str | os.PathLike[str], *, offset_s: float,
                    out_path: str | os.PathLike[str], fit: FitConfig | FitPlan | None = None,
                    cut_times_s: np.ndarray | None = None) -> TimelineResult:
    """Write the timeline of ``video`` with ``track`` from ``offset_s`` (fitted when ``fit`` is given).

    The format comes from ``out_path``'s extension (:data:`FORMATS`). Without ``fit``, a track
    that runs out before the video ends is refused, as in :func:`export.soundtrack`. Beats come
    from the fit plan (or a fresh analysis of the track); cuts from :func:`video_cuts` unless given.
    """
    from ..analysis.rhythm import analyze_music

    out_path = Path(out_path)
    timeline_format(out_path)
    if not out_path.parent.is_dir():
        raise BgmatchError(f"{out_path.parent}: no such folder")
    v, t = media.probe(video), media.probe(track)
    if not t.has_audio:
        raise MediaError(track, "no audio track")
    if not 0 <= offset_s < t.duration_s:
        raise MediaError(track, f"offset {offset_s:.2f} s is outside the track (0–{t.duration_s:.2f} s)")
    plan: FitPlan | None = None
    beats: tuple = ()
    bars: tuple = ()
    if fit is not None:
        plan = fit if isinstance(fit, FitPlan) else fit_track(track, offset_s=offset_s, duration_s=v.duration_s,
                                                              config=fit)
    else:
        left_s = t.duration_s - offset_s
        if left_s < v.duration_s - 1 / 25:
            raise MediaError(track, f"runs out {v.duration_s - left_s:.2f} s before the video ends: {left_s:.2f} s "
                                    f"of music from offset {offset_s:.2f} s for a {v.duration_s:.2f} s video; use "
                                    f"--fit, or an offset of at most {max(0.0, t.duration_s - v.duration_s):.2f} s")
        analysis = analyze_music(media.decode_audio(track, sr_hz=22050), sr_hz=22050)
        beats = tuple(analysis.beat_times_s)
        bars = tuple(getattr(analysis, "downbeat_times_s", None) if getattr(analysis, "downbeat_times_s", None)
                     is not None else analysis.beat_times_s[::4])
    cuts = video_cuts(video) if cut_times_s is None else np.asarray(cut_times_s, np.float64)
    src = source_for(video, track, offset_s=offset_s, plan=plan, beat_times_s=beats, bar_times_s=bars,
                     cut_times_s=cuts)
    path = write_timeline(build_timeline(src), out_path)
    return TimelineResult(path, plan, FORMAT_NOTES[out_path.suffix.lower()])


def timeline_format(out_path: str | os.PathLike[str]) -> str:
    """The adapter name for ``out_path``'s extension; a :class:`BgmatchError` for an unknown one."""
    suffix = Path(out_path).suffix.lower()
    if suffix not in FORMATS:
        raise BgmatchError(f"{out_path}: unknown timeline format {suffix or '(no extension)'!r}; "
                           f"use one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def write_timeline(timeline: otio.schema.Timeline, out_path: str | os.PathLike[str]) -> Path:
    """Write ``timeline`` in the format of ``out_path``'s extension, atomically."""
    out_path = Path(out_path)
    adapter = timeline_format(out_path)
    folder = out_path.parent
    if not folder.is_dir():
        raise BgmatchError(f"{folder}: no such folder")
    if not os.access(folder, os.W_OK):
        raise BgmatchError(f"{folder}: folder is not writable")
    if adapter == "cmx_3600":
        timeline = _music_first(timeline)
    with contextlib.redirect_stdout(io.StringIO()):  # the Kdenlive adapter prints a banner on stdout
        text = otio.adapters.write_to_string(timeline, adapter_name=adapter)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, out_path)
    except OSError as exc:
        raise BgmatchError(f"{out_path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return out_path


def _music_first(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """A copy with the music track first: an EDL holds one track, the adapter writes the first.

    The music is the cut an editor needs to conform; the video is one untouched clip. The
    adapter still wants exactly one video track among the tracks, so it stays, second.
    """
    copy = timeline.deepcopy()
    tracks = list(copy.tracks)
    copy.tracks[:] = [t for t in tracks if t.kind == otio.schema.TrackKind.Audio] + \
        [t for t in tracks if t.kind != otio.schema.TrackKind.Audio]
    return copy


def read_timeline(path: str | os.PathLike[str], *, edl_rate: float = 25.0) -> otio.schema.Timeline:
    """Read a timeline written by :func:`write_timeline` back with OpenTimelineIO.

    An EDL does not record its frame rate: ``edl_rate`` is the one it was written at
    (:func:`timeline_rate` of the video).
    """
    adapter = timeline_format(path)
    extra = {"rate": edl_rate} if adapter == "cmx_3600" else {}
    with contextlib.redirect_stdout(io.StringIO()):
        return otio.adapters.read_from_file(str(path), adapter_name=adapter, **extra)
