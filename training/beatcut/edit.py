"""The BeatCut editor: cut real footage to a music track the way video editors do.

Cuts fall mostly on the track's beats, every 1–8 beats (fewer where the music is louder), with a
few frames of jitter and a share of cuts off the beat (:func:`plan_cuts`). Each shot is a
segment of a real clip, sped up where the music is louder, or a virtual camera pan/zoom over a
real photograph at a speed set by the music energy (:func:`render_video`). The video is H.264
without audio; a JSON manifest beside it says how it was made.

Where the cuts come from is a parameter of :func:`edit_to_music` (a :class:`CutSource`): by
default the engine's own analysis of the track (:class:`TrackerCuts`, today's BeatCut); the
ground-truth edition (:mod:`.gt`) passes reference beats it reads from MIDI maps or an
independent tracker, so its editor never hears the track through bgmatch's code.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import av
import cv2
import librosa
import numpy as np

from bgmatch.engine.config import config_from_dict, config_to_dict, read_config_file
from bgmatch.engine.errors import ConfigError, MediaError
from bgmatch.engine.analysis.media import decode_audio
from bgmatch.engine.analysis.motion import cut_scores
from bgmatch.engine.analysis.rhythm import analyze_music

from .sources import ClipSource, PhotoSource, Source, open_source

MANIFEST_VERSION = 1
#: Loudness (dBFS of the RMS) mapped to energy 0 and 1 for the absolute half of the energy level.
_QUIET_DB, _LOUD_DB = -40.0, -10.0
#: Spread (in log beats) of the beats-per-cut choice around the energy's preferred value.
_BEATS_SPREAD = 0.45
#: Histogram distance between the last frame of a shot and the first of the next that is enough
#: for a visible cut; below it another source is tried.
_MIN_CUT_DISTANCE = 0.3
_SHOT_TRIES = 5


@dataclass(frozen=True)
class EditConfig:
    """How BeatCut edits: cut rhythm, jitter, motion and the output format."""

    seed: int = 0
    beats_per_cut_choices: tuple[int, ...] = (1, 2, 4, 8)
    jitter_frames: int = 2  # each on-beat cut moves by up to this many frames either way
    off_beat_share: float = 0.15  # share of cuts placed between beats
    min_shot_s: float = 0.4
    fps: int = 25
    size: tuple[int, int] = (640, 360)  # width, height (even)
    motion_follows_energy: bool = True  # else each shot's motion level is drawn at random
    photo_share: float = 0.4  # share of shots from photographs (when clips fit the shot)
    clip_speed_range: tuple[float, float] = (1.0, 3.0)  # playback speed at energy 0 and 1
    pan_speed_range: tuple[float, float] = (0.03, 0.35)  # camera speed, frame widths/s, at energy 0 and 1
    crf: int = 23
    preset: str = "medium"

    def __post_init__(self) -> None:
        for name in ("beats_per_cut_choices", "size", "clip_speed_range", "pan_speed_range"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        choices = self.beats_per_cut_choices
        if not choices or any(not isinstance(c, int) or not 1 <= c <= 8 for c in choices):
            raise ConfigError(f"beats_per_cut_choices must be integers in 1..8, got {choices}")
        if not 0.0 <= self.off_beat_share < 1.0:
            raise ConfigError(f"off_beat_share must be in [0, 1), got {self.off_beat_share}")
        if self.jitter_frames < 0 or self.fps <= 0 or self.min_shot_s <= 0:
            raise ConfigError("jitter_frames must be >= 0, fps and min_shot_s > 0")
        w, h = self.size
        if w < 16 or h < 16 or w % 2 or h % 2:
            raise ConfigError(f"size must be even and at least 16x16, got {w}x{h}")
        if not 0.0 <= self.photo_share <= 1.0:
            raise ConfigError(f"photo_share must be in [0, 1], got {self.photo_share}")
        if min(self.clip_speed_range) <= 0 or min(self.pan_speed_range) < 0:
            raise ConfigError("clip_speed_range must be > 0 and pan_speed_range >= 0")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (tuples as lists), as stored in manifests and ``build.json``."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EditConfig":
        """The config stored by :meth:`to_dict`; ``ConfigError`` names a wrong key or value."""
        return config_from_dict(cls, d)


@dataclass(frozen=True)
class EditManifest:
    """How one BeatCut video was made (written as JSON beside the video)."""

    track: str
    offset_s: float  # where in the track the video starts
    duration_s: float
    n_frames: int
    cut_times_s: list[float]  # in video time, on the frame grid
    shots: list[dict[str, Any]]  # start_s, end_s, source, kind, energy and the move of each shot
    seed: int
    config: dict[str, Any]
    version: int = MANIFEST_VERSION
    style: str = "tracker"  # the CutSource's style ("tracker": the engine's beats, today's BeatCut)
    scene_cuts_s: list[float] = field(default_factory=list)  # the cuts that change the scene (video time)
    ramp: float = 0.0  # speed ramp within shots (see render_video)

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    def write(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> "EditManifest":
        """A manifest written by :meth:`write`; ``ConfigError("<file>: …")`` when it is not one."""
        d = read_config_file(path)
        if d.get("version") != MANIFEST_VERSION:
            raise ConfigError(f"{path}: manifest version {d.get('version')} is not {MANIFEST_VERSION}")
        try:
            return config_from_dict(cls, d)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None


class Rhythm(Protocol):
    """What the editor needs of a track: beat times (s), a tempo, and the RMS per frame.

    :class:`~bgmatch.engine.analysis.rhythm.MusicAnalysis` is one; :class:`ReferenceRhythm`
    (reference beats and librosa's RMS, no beat tracking) another.
    """

    @property
    def beat_times_s(self) -> np.ndarray: ...

    @property
    def tempo_bpm(self) -> float: ...

    @property
    def rms(self) -> np.ndarray: ...

    @property
    def frame_rate_hz(self) -> float: ...


@dataclass(frozen=True)
class ReferenceRhythm:
    """Beats given from outside (ground truth or a reference tracker) and the loudness of the audio."""

    beat_times_s: np.ndarray  # [B] float64, in the time of the audio the RMS was taken from
    tempo_bpm: float
    rms: np.ndarray  # [F] float32
    frame_rate_hz: float

    @classmethod
    def from_audio(cls, y: np.ndarray, *, sr_hz: int, beat_times_s: np.ndarray,
                   hop: int = 512) -> "ReferenceRhythm":
        """``beat_times_s`` (s into ``y``) with ``y``'s RMS (librosa, frames of ``hop`` samples)."""
        beats = np.asarray(beat_times_s, np.float64)
        rms = librosa.feature.rms(y=np.asarray(y, np.float32), hop_length=hop)[0].astype(np.float32)
        period = float(np.median(np.diff(beats))) if len(beats) >= 2 else 0.5
        return cls(beats, 60.0 / max(period, 1e-3), rms, sr_hz / hop)


def energy_levels(analysis: Rhythm, *, times_s: np.ndarray) -> np.ndarray:
    """Music energy in [0, 1] at track times ``times_s`` (``[N]`` → ``[N]`` float64).

    Half relative (the 1-s smoothed RMS in dB between the analysed span's 5th and 95th
    percentiles) and half absolute (-40 dBFS → 0, -10 dBFS → 1), so loud passages of a track cut
    faster than its quiet ones, and a loud track faster than a quiet one.
    """
    rms_db = 20.0 * np.log10(np.maximum(analysis.rms.astype(np.float64), 1e-5))
    if len(rms_db) == 0:
        return np.full(len(times_s), 0.5)
    win = max(1, int(round(analysis.frame_rate_hz)))
    padded = np.pad(rms_db, (win // 2, win - 1 - win // 2), mode="edge")
    smooth = np.convolve(padded, np.ones(win) / win, mode="valid")
    lo, hi = np.percentile(smooth, [5, 95])
    relative = np.clip((smooth - lo) / (hi - lo), 0, 1) if hi - lo > 1.0 else np.full_like(smooth, 0.5)
    absolute = np.clip((smooth - _QUIET_DB) / (_LOUD_DB - _QUIET_DB), 0, 1)
    level = 0.5 * relative + 0.5 * absolute
    idx = np.clip(np.round(np.asarray(times_s) * analysis.frame_rate_hz).astype(int), 0, len(level) - 1)
    return level[idx]


def energy_curve(analysis: Rhythm, *, offset_s: float, duration_s: float, fps: float) -> np.ndarray:
    """:func:`energy_levels` at each video frame of a video starting at ``offset_s``, ``[n_frames]``."""
    n_frames = int(round(duration_s * fps))
    return energy_levels(analysis, times_s=offset_s + np.arange(n_frames) / fps)


def _beat_grid(analysis: Rhythm, *, offset_s: float, duration_s: float) -> np.ndarray:
    """Beats in video time covering ``[0, duration_s]``; extended at the median interval where
    the tracker found none (or built from the tempo when it found fewer than two)."""
    beats = np.asarray(analysis.beat_times_s, np.float64) - offset_s
    if len(beats) >= 2:
        period = float(np.median(np.diff(beats)))
    else:
        period = 60.0 / (analysis.tempo_bpm if analysis.tempo_bpm > 0 else 120.0)
    period = max(period, 0.1)
    inside = beats[(beats >= -period) & (beats <= duration_s + period)]
    if len(inside) < 2:
        anchor = float(beats[np.argmin(np.abs(beats))]) if len(beats) else 0.0
        k = np.arange(math.floor(-anchor / period) - 1, math.ceil((duration_s - anchor) / period) + 2)
        return anchor + period * k
    head = inside[0] - period * np.arange(max(0, math.ceil(inside[0] / period)), 0, -1)
    tail = inside[-1] + period * np.arange(1, max(0, math.ceil((duration_s - inside[-1]) / period)) + 1)
    return np.concatenate([head, inside, tail])


def _beats_per_cut(choices: np.ndarray, energy: float, rng: np.random.Generator) -> int:
    """Draw a shot length in beats: near the longest choice at energy 0, the shortest at 1."""
    log_c = np.log(choices)
    target = log_c.max() + (log_c.min() - log_c.max()) * energy
    w = np.exp(-0.5 * ((log_c - target) / _BEATS_SPREAD) ** 2)
    return int(rng.choice(choices, p=w / w.sum()))


def plan_cuts(
    analysis: Rhythm,
    *,
    offset_s: float,
    duration_s: float,
    config: EditConfig = EditConfig(),
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Cut times (s, video time, on the ``config.fps`` frame grid) for a video of ``duration_s``
    that starts at ``offset_s`` in the analysed track. Returns ``[C]`` float64, increasing.

    Each shot lasts a number of beats drawn from ``config.beats_per_cut_choices``, shorter where
    :func:`energy_levels` is higher. A cut is placed on its beat ± ``jitter_frames``, or, with
    probability ``off_beat_share``, 25–75 % of the way to the next beat. Shots are at least
    ``min_shot_s`` long. ``rng`` defaults to one seeded with ``config.seed``.
    """
    if duration_s <= 0:
        raise ConfigError(f"duration_s must be > 0, got {duration_s}")
    rng = np.random.default_rng(config.seed) if rng is None else rng
    fps = config.fps
    beats = _beat_grid(analysis, offset_s=offset_s, duration_s=duration_s)
    energy = energy_levels(analysis, times_s=offset_s + beats)
    choices = np.asarray(sorted(config.beats_per_cut_choices))
    k = int(np.searchsorted(beats, 0.0))
    last = 0.0
    cuts: list[float] = []
    while k < len(beats):
        k += _beats_per_cut(choices, float(energy[k]), rng)
        while k < len(beats) and beats[k] - last < config.min_shot_s:
            k += 1
        if k >= len(beats) or beats[k] > duration_s - config.min_shot_s:
            break
        if rng.random() < config.off_beat_share:
            step = beats[k + 1] - beats[k] if k + 1 < len(beats) else beats[k] - beats[k - 1]
            t = beats[k] + rng.uniform(0.25, 0.75) * step
        else:
            t = beats[k] + int(rng.integers(-config.jitter_frames, config.jitter_frames + 1)) / fps
        t = round(t * fps) / fps
        if t - last >= config.min_shot_s and t <= duration_s - config.min_shot_s:
            cuts.append(t)
            last = t
    return np.asarray(cuts, np.float64)


def _gray_small(img: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (96, 54), interpolation=cv2.INTER_AREA)


class _Shooter:
    """Chooses and renders shots so that neighbouring shots come from different, far-apart footage."""

    def __init__(self, sources: Sequence[Source], config: EditConfig, rng: np.random.Generator, *,
                 ramp: float = 0.0) -> None:
        self.sources = list(sources)
        self.config = config
        self.rng = rng
        self.ramp = ramp
        self.uses: Counter[str] = Counter()
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.previous: str | None = None
        self.previous_gray: np.ndarray | None = None
        self.scene: set[str] | None = None  # the sources of the current scene (None: all)

    def start_scene(self, size: int = 2) -> None:
        """A new scene: ``size`` sources, rarely used ones first, none of the last scene's."""
        old = self.scene or set()
        pool = [s for s in self.sources if s.name not in old] or list(self.sources)
        w = np.array([1.0 / (1 + self.uses[s.name]) for s in pool])
        picked = self.rng.choice(len(pool), size=min(size, len(pool)), replace=False, p=w / w.sum())
        self.scene = {pool[int(i)].name for i in picked}
        self.previous = None  # a scene change may reuse nothing of the last shot, so any source fits

    def _speed_profile(self, n_frames: int) -> tuple[np.ndarray, float]:
        """Relative speed per frame ``[n]`` (mean 1) and the signed ramp: a smooth (smoothstep)
        change from ``1 ∓ ramp`` to ``1 ± ramp`` over the shot; all ones without a ramp."""
        if self.ramp <= 0 or n_frames < 2:
            return np.ones(n_frames), 0.0
        sign = 1.0 if self.rng.random() < 0.5 else -1.0
        f = np.arange(n_frames) / (n_frames - 1)
        smooth = f * f * (3 - 2 * f)
        return 1.0 + sign * self.ramp * (2 * smooth - 1), sign * self.ramp

    def _clip_speed(self, energy: float) -> float:
        lo, hi = self.config.clip_speed_range
        return lo + (hi - lo) * energy

    def _pick(self, n_frames: int, energy: float, tried: set[str]) -> Source | None:
        """A source for the next shot: not the previous one, rarely used ones first; within a
        scene one of the scene's sources, or any when none of them fits the shot."""
        free = [s for s in self.sources if s.name != self.previous and s.name not in tried]
        if self.scene is not None and any(s.name in self.scene for s in free):
            src = self._pick_from([s for s in free if s.name in self.scene], n_frames, energy)
            return src if src is not None else self._pick_from(free, n_frames, energy)
        return self._pick_from(free, n_frames, energy)

    def _pick_from(self, free: list[Source], n_frames: int, energy: float) -> Source | None:
        need_s = n_frames / self.config.fps * self._clip_speed(energy) * (1 + self.ramp)
        # A clip's own cuts are found only when it is first drawn; the file length bounds it before.
        clips = [s for s in free if isinstance(s, ClipSource) and s.duration_s >= need_s]
        photos = [s for s in free if isinstance(s, PhotoSource)]
        while clips or photos:
            use_photo = bool(photos) and (not clips or self.rng.random() < self.config.photo_share)
            pool = photos if use_photo else clips
            w = np.array([1.0 / (1 + self.uses[s.name]) for s in pool])
            src = pool[int(self.rng.choice(len(pool), p=w / w.sum()))]
            if isinstance(src, PhotoSource) or src.longest_segment_s() >= need_s:
                return src
            clips.remove(src)
        return None

    def _clip_shot(self, src: ClipSource, n_frames: int, energy: float) -> tuple[np.ndarray, dict[str, Any]]:
        fps = self.config.fps
        speed = self._clip_speed(energy)
        profile, ramp = self._speed_profile(n_frames)
        steps = speed * profile / fps  # source seconds per output frame
        need_s = float(steps.sum())
        segments = [(a, b) for a, b in src.segments_s if b - a >= need_s]
        room = np.array([b - a - need_s for a, b in segments]) + 1e-3
        candidates = []
        for _ in range(4):  # keep the start farthest from this clip's earlier shots
            a, b = segments[int(self.rng.choice(len(segments), p=room / room.sum()))]
            candidates.append(a + self.rng.uniform() * (b - a - need_s))
        used = self.starts[src.name]
        start = max(candidates, key=lambda s: min((abs(s - u) for u in used), default=0.0))
        times_s = start + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
        frames = src.frames(start_s=start, n_frames=n_frames, speed=speed, fps=fps, size=self.config.size,
                            times_s=times_s)
        record = {"source_start_s": round(float(start), 4), "speed": round(float(speed), 4)}
        return frames, ({**record, "ramp": round(ramp, 4)} if ramp else record)

    def _photo_shot(self, src: PhotoSource, n_frames: int, energy: float) -> tuple[np.ndarray, dict[str, Any]]:
        lo, hi = self.config.pan_speed_range
        out_w = self.config.size[0]
        move, actual = src.plan_move(
            speed_px_s=(lo + (hi - lo) * energy) * out_w,
            duration_s=n_frames / self.config.fps,
            size=self.config.size,
            rng=self.rng,
        )
        record = {
            "pan_speed": round(float(actual) / out_w, 4),  # frame widths per second
            "center_px": [round(v, 2) for v in (*move.center0, *move.center1)],
            "zoom": [round(move.zoom0, 4), round(move.zoom1, 4)],
        }
        profile, ramp = self._speed_profile(n_frames)
        progress = np.concatenate([[0.0], np.cumsum(profile)[:-1]])
        progress = progress / progress[-1] if n_frames > 1 and progress[-1] > 0 else None
        if ramp:
            record["ramp"] = round(ramp, 4)
        return src.frames(move, n_frames=n_frames, size=self.config.size, progress=progress), record

    def shoot(self, n_frames: int, energy: float) -> tuple[np.ndarray, dict[str, Any]]:
        """The frames ``[n, H, W, 3]`` of the next shot and its manifest record."""
        best: tuple[float, np.ndarray, dict[str, Any], Source] | None = None
        tried: set[str] = set()
        for _ in range(_SHOT_TRIES):
            src = self._pick(n_frames, energy, tried)
            if src is None:
                break
            tried.add(src.name)
            if isinstance(src, ClipSource):
                frames, record = self._clip_shot(src, n_frames, energy)
            else:
                frames, record = self._photo_shot(src, n_frames, energy)
            first = _gray_small(frames[0])
            dist = 1.0 if self.previous_gray is None else float(cut_scores(np.stack([self.previous_gray, first]))[1])
            if best is None or dist > best[0]:
                best = (dist, frames, record, src)
            if dist >= _MIN_CUT_DISTANCE:
                break
        if best is None:
            raise ConfigError("no footage source fits the shot (need photos or longer clips)")
        dist, frames, record, src = best
        self.uses[src.name] += 1
        if "source_start_s" in record:
            self.starts[src.name].append(record["source_start_s"])
        self.previous, self.previous_gray = src.name, _gray_small(frames[-1])
        return frames, {"source": src.name, "kind": src.kind, "energy": round(energy, 4), **record}


def render_video(
    plan: np.ndarray,
    footage_sources: Sequence[str | os.PathLike[str] | Source],
    *,
    out_path: str | os.PathLike[str],
    duration_s: float,
    config: EditConfig = EditConfig(),
    rng: np.random.Generator | None = None,
    energy_curve: np.ndarray | None = None,
    track: str = "",
    offset_s: float = 0.0,
    scene_cuts_s: Sequence[float] = (),
    ramp: float = 0.0,
    style: str = "tracker",
) -> EditManifest:
    """Edit footage into an H.264 mp4 (yuv420p, no audio) with hard cuts at ``plan`` (s).

    ``scene_cuts_s``: cuts (a subset of ``plan``) that start a new scene: shots between two of
    them come from the same two sources (with ``scene_cuts_s`` empty, every shot draws from all
    of them). ``ramp``: speed ramps within shots, the footage's speed changing smoothly from
    ``1 - ramp`` to ``1 + ramp`` times its shot speed (or back), 0 for constant speed.
    ``style`` is recorded in the manifest.

    ``footage_sources``: clip and photo files (at least two), or sources already opened with
    :func:`open_source` (kept open, so a clip's cuts are scanned once over many videos). ``energy_curve``: music energy in
    [0, 1] per video frame (``[n_frames]``, see :func:`energy_curve`); it sets each shot's motion
    when ``config.motion_follows_energy``. ``track`` and ``offset_s`` are recorded in the manifest,
    which is returned and written to ``out_path`` with the suffix ``.json``. ``rng`` defaults to
    one seeded with ``config.seed``.
    """
    fps = config.fps
    n_frames = int(round(duration_s * fps))
    if n_frames < 1:
        raise ConfigError(f"duration_s {duration_s} is shorter than one frame")
    if len(footage_sources) < 2:
        raise ConfigError("render_video needs at least two footage sources so that shots differ")
    rng = np.random.default_rng([config.seed, 1]) if rng is None else rng
    energy = np.full(n_frames, 0.5) if energy_curve is None else np.asarray(energy_curve, np.float64)
    if len(energy) != n_frames:
        energy = np.interp(np.linspace(0, 1, n_frames), np.linspace(0, 1, max(len(energy), 1)), energy)
    cut_frames = sorted({int(round(t * fps)) for t in np.asarray(plan)} & set(range(1, n_frames)))
    bounds = [0, *cut_frames, n_frames]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = out_path.with_name(out_path.name + ".part")
    shots: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: part.unlink(missing_ok=True))  # a no-op once the video is in place
        sources = []
        for item in footage_sources:
            if isinstance(item, (ClipSource, PhotoSource)):
                sources.append(item)  # opened by the caller, who closes it (and can reuse it)
            else:
                sources.append(open_source(item))
                stack.callback(sources[-1].close)
        shooter = _Shooter(sources, config, rng, ramp=ramp)
        scene_frames = {int(round(t * fps)) for t in scene_cuts_s}
        try:
            container = stack.enter_context(av.open(str(part), "w", format="mp4"))
        except av.error.FFmpegError as exc:
            raise MediaError(out_path, f"cannot write: {exc}") from None
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = config.size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(config.crf), "preset": config.preset}
        index = 0
        for a, b in zip(bounds[:-1], bounds[1:]):
            e = float(energy[a:b].mean()) if config.motion_follows_energy else float(rng.uniform())
            if scene_frames and (a == 0 or a in scene_frames):
                shooter.start_scene()
            frames, record = shooter.shoot(b - a, e)
            shots.append({"start_s": round(a / fps, 4), "end_s": round(b / fps, 4), **record})
            for img in frames:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                vf.pts = index
                index += 1
                container.mux(stream.encode(vf))
        container.mux(stream.encode(None))
        container.close()
        os.replace(part, out_path)
    manifest = EditManifest(
        track=track,
        offset_s=round(float(offset_s), 4),
        duration_s=n_frames / fps,
        n_frames=n_frames,
        cut_times_s=[round(f / fps, 4) for f in cut_frames],
        shots=shots,
        seed=config.seed,
        config=config.to_dict(),
        style=style,
        scene_cuts_s=sorted(round(f / fps, 4) for f in scene_frames & set(cut_frames)),
        ramp=float(ramp),
    )
    manifest.write(out_path.with_suffix(".json"))
    return manifest


@dataclass(frozen=True)
class CutPlan:
    """Where a video's cuts go and how its shots move (times in video seconds)."""

    cut_times_s: np.ndarray  # [C] float64, increasing
    energy: np.ndarray  # [n_frames] music energy in [0, 1] (sets each shot's motion)
    scene_cuts_s: tuple[float, ...] = ()  # cuts that change the scene
    ramp: float = 0.0  # speed ramp within shots (render_video)
    style: str = "tracker"


class CutSource(Protocol):
    """Plans a video's cuts from the decoded track (``y`` starts at track time ``start_s``)."""

    def plan(self, y: np.ndarray, *, sr_hz: int, start_s: float, offset_s: float, duration_s: float,
             config: EditConfig, rng: np.random.Generator) -> CutPlan:
        """The cuts of a video that starts ``offset_s`` into ``y`` and lasts ``duration_s``."""
        ...


class TrackerCuts:
    """Today's BeatCut editor: cuts on the beats bgmatch's own analysis hears (:func:`plan_cuts`)."""

    def plan(self, y: np.ndarray, *, sr_hz: int, start_s: float, offset_s: float, duration_s: float,
             config: EditConfig, rng: np.random.Generator) -> CutPlan:
        analysis = analyze_music(y, sr_hz=sr_hz)
        cuts = plan_cuts(analysis, offset_s=offset_s, duration_s=duration_s, config=config, rng=rng)
        return CutPlan(cuts, energy_curve(analysis, offset_s=offset_s, duration_s=duration_s, fps=config.fps))


def edit_to_music(
    track_path: str | os.PathLike[str],
    footage_sources: Sequence[str | os.PathLike[str] | Source],
    *,
    out_path: str | os.PathLike[str],
    offset_s: float,
    duration_s: float,
    config: EditConfig = EditConfig(),
    track_name: str | None = None,
    context_s: float = 10.0,
    sr_hz: int = 22050,
    cut_source: CutSource | None = None,
) -> EditManifest:
    """Decode ``track_path`` around ``[offset_s, offset_s + duration_s]`` (with ``context_s``
    either side for the beat tracker), plan cuts with ``cut_source`` (default
    :class:`TrackerCuts`, the engine's beats) and render; see :func:`render_video`."""
    start_s = max(0.0, offset_s - context_s)
    span_s = offset_s - start_s + duration_s + context_s
    y = decode_audio(track_path, sr_hz=sr_hz, offset_s=start_s, max_duration_s=span_s)
    if len(y) / sr_hz < offset_s - start_s + duration_s - 0.05:
        raise MediaError(track_path, f"track ends before {offset_s + duration_s:.1f} s")
    plan_rng, render_rng = np.random.default_rng(config.seed).spawn(2)
    local = offset_s - start_s
    source = TrackerCuts() if cut_source is None else cut_source
    plan = source.plan(y, sr_hz=sr_hz, start_s=start_s, offset_s=local, duration_s=duration_s, config=config,
                       rng=plan_rng)
    return render_video(
        plan.cut_times_s,
        footage_sources,
        out_path=out_path,
        duration_s=duration_s,
        config=config,
        rng=render_rng,
        energy_curve=plan.energy,
        track=track_name if track_name is not None else Path(track_path).name,
        offset_s=offset_s,
        scene_cuts_s=plan.scene_cuts_s,
        ramp=plan.ramp,
        style=plan.style,
    )
