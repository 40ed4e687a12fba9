"""Ranking methods for ``bgmatch eval``: each is a small class with ``name`` and ``rank(video_path)``.

A method ranks the tracks of a :class:`~bgmatch.engine.library.Library` (the gallery) for a
silent query video and returns ``[(track_id, offset_s), …]``, best first, where ``offset_s`` is
where in the track the video should start. It sees the video file and the library, never the
ground truth. Adding a method (a learned model, say) is one class plus a factory taking a
:class:`MethodContext`; ``bgmatch eval --method package.module:factory`` loads it.
"""
from __future__ import annotations

import importlib
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.signal import correlate

from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned.fusion import fuse
from bgmatch.engine.library import Library
from bgmatch.engine.analysis.media import probe
from bgmatch.engine.analysis.media import Frames
from bgmatch.engine.analysis.motion import VideoAnalysis, analyze_frames

from .eval_metrics import distance_to_beats
from .fusion_tuning import FusionSample

Ranking = list[tuple[str, float]]


class Scorer(Protocol):
    """What the harness calls: ``rank`` returns gallery tracks best first, each with a start offset (s)."""

    name: str

    def rank(self, video_path: Path) -> Ranking: ...


class SharedVideoAnalysis:
    """``Library.analyze_video`` of the current query, computed once for all methods that use it.

    The harness charges its cost to every method that asked for it (see :meth:`begin`), so each
    method's queries-per-second is as if it had analysed the video alone.
    """

    def __init__(self, library: Library) -> None:
        self.library = library
        self._path: Path | None = None
        self._analysis: VideoAnalysis | None = None
        self._frames: Frames | None = None
        self.cost_s = 0.0  # analysis time of the current query
        self.asked = False  # whether the method now running asked for it
        self.computed_s = 0.0  # time spent computing inside the method now running

    def begin(self) -> None:
        """Called by the harness before each method's ``rank``."""
        self.asked, self.computed_s = False, 0.0

    def get(self, path: Path) -> VideoAnalysis:
        self._compute(path)
        assert self._analysis is not None
        return self._analysis

    def frames(self, path: Path) -> Frames:
        """The decoded analysis-rate frames of the query (for methods that embed it too)."""
        self._compute(path)
        assert self._frames is not None
        return self._frames

    def _compute(self, path: Path) -> None:
        self.asked = True
        if self._path != path:
            t0 = time.perf_counter()
            self._frames = self.library.decode_video(path)
            f = self._frames
            self._analysis = analyze_frames(f.frames, f.times_s, duration_s=f.duration_s,
                                            config=self.library.config.motion)
            self._path = path
            self.cost_s = self.computed_s = time.perf_counter() - t0


@dataclass
class MethodContext:
    """What a method factory gets: the gallery library and the shared video analysis."""

    library: Library
    analyses: SharedVideoAnalysis
    seed: int = 0
    _beats: dict[str, np.ndarray] = field(default_factory=dict)

    def beats(self, track_id: str) -> np.ndarray:
        """The stored beat times (s) of a gallery track (cached)."""
        if track_id not in self._beats:
            self._beats[track_id] = np.asarray(self.library.music_analysis(track_id).beat_times_s, np.float64)
        return self._beats[track_id]


def best_alignment(cut_times_s: np.ndarray, beat_times_s: np.ndarray, *, max_offset_s: float,
                   tolerance_s: float = 0.1, rate_hz: float = 100.0) -> tuple[float, float]:
    """The start offset (on a ``1/rate_hz`` grid in ``[0, max_offset_s]``) that puts the cuts
    closest to beats, and its score: the mean over cuts of ``max(0, 1 − distance/tolerance_s)``
    (1 = every cut exactly on a beat, 0 = none within ``tolerance_s``). Ties go to the earliest offset.
    """
    cuts = np.asarray(cut_times_s, np.float64)
    cuts = cuts[cuts >= 0]
    if len(cuts) == 0 or len(beat_times_s) == 0:
        return 0.0, 0.0
    idx = np.round(cuts * rate_hz).astype(int)
    impulses = np.bincount(idx).astype(np.float64)
    n_offsets = int(np.floor(max(0.0, max_offset_s) * rate_hz)) + 1
    t = np.arange(n_offsets + len(impulses) - 1) / rate_hz
    closeness = np.clip(1.0 - distance_to_beats(t, beat_times_s) / tolerance_s, 0.0, None)
    scores = correlate(closeness, impulses, mode="valid", method="fft" if len(t) > 4096 else "direct")
    best = int(np.argmax(np.round(scores, 9)))
    return best / rate_hz, float(scores[best] / len(cuts))


def folded_period(intervals_s: np.ndarray, *, kappa: float = 8.0, bins: int = 120) -> float | None:
    """The octave-folded period of a set of intervals: the mode of ``log2(interval) mod 1``.

    Cuts every 1, 2, 4 or 8 beats share one folded value. ``None`` for no intervals.
    """
    x = np.log2(np.asarray(intervals_s, np.float64)[np.asarray(intervals_s) > 0]) % 1.0
    if len(x) == 0:
        return None
    phases = np.arange(bins) / bins
    density = np.exp(kappa * np.cos(2 * np.pi * (x[None, :] - phases[:, None]))).sum(axis=1)
    return float(phases[int(np.argmax(density))])


def folded_distance(a: float, b: float) -> float:
    """Distance between two folded log2 periods on the circle [0, 1)."""
    d = abs(a - b) % 1.0
    return min(d, 1.0 - d)


class RandomScorer:
    """A random order of the gallery and a random offset (seeded by the query's file name)."""

    name = "random"

    def __init__(self, ctx: MethodContext) -> None:
        self.ctx = ctx
        self.tracks = [(t.track_id, t.duration_s) for t in ctx.library.tracks()]

    def rank(self, video_path: Path) -> Ranking:
        rng = np.random.default_rng([self.ctx.seed, zlib.crc32(Path(video_path).name.encode())])
        video_s = probe(video_path).duration_s
        order = rng.permutation(len(self.tracks))
        return [(self.tracks[i][0], float(rng.uniform(0, max(0.0, self.tracks[i][1] - video_s)))) for i in order]


class _AlignedScorer:
    """Base for methods that place the video by aligning its detected cuts with a track's beats."""

    def __init__(self, ctx: MethodContext) -> None:
        self.ctx = ctx
        self.tracks = [(t.track_id, t.duration_s, t.tempo_bpm) for t in ctx.library.tracks()]
        for t in self.tracks:
            ctx.beats(t[0])

    def _aligned(self, video_path: Path) -> tuple[VideoAnalysis, list[tuple[str, float, float]]]:
        """The video's analysis, and (track_id, best offset, its alignment score) per track."""
        video = self.ctx.analyses.get(video_path)
        out = []
        for track_id, duration_s, _ in self.tracks:
            offset, score = best_alignment(video.cut_times_s, self.ctx.beats(track_id),
                                           max_offset_s=max(0.0, duration_s - video.duration_s))
            out.append((track_id, offset, score))
        return video, out


class TempoScorer(_AlignedScorer):
    """Tempo only: the video's octave-folded cut period against each track's folded beat period.

    Ranks by that distance alone; the offset is the beat alignment with the most cuts on beats.
    """

    name = "tempo"

    def rank(self, video_path: Path) -> Ranking:
        video, aligned = self._aligned(video_path)
        period = folded_period(np.diff(video.cut_times_s))
        keyed = []
        for (track_id, _, bpm), (_, offset, _) in zip(self.tracks, aligned):
            track_period = float(np.log2(60.0 / bpm) % 1.0) if bpm > 0 else 0.0
            d = 0.0 if period is None else folded_distance(period, track_period)
            keyed.append((d, track_id, offset))
        keyed.sort()
        return [(track_id, offset) for _, track_id, offset in keyed]


class CutOnBeatScorer(_AlignedScorer):
    """Plain cut-to-beat matching: detected cuts close to (within 0.1 s of) a beat at the best offset."""

    name = "cut-on-beat"

    def rank(self, video_path: Path) -> Ranking:
        _, aligned = self._aligned(video_path)
        aligned.sort(key=lambda a: (-a[2], a[0]))
        return [(track_id, offset) for track_id, offset, _ in aligned]


class SyncScorer:
    """The engine's analysis-only score: ``Library.suggest`` over the whole gallery."""

    name = "sync"

    def __init__(self, ctx: MethodContext) -> None:
        self.ctx = ctx
        self.n_tracks = len(ctx.library)

    def rank(self, video_path: Path) -> Ranking:
        video = self.ctx.analyses.get(video_path)
        return [(s.track_id, s.offset_s) for s in self.ctx.library.suggest(video, top=self.n_tracks)]


class ModelScorer:
    """A trained model bundle over the gallery: its learned score alone (every track at its best
    window), or fused with the analysis-only score as the library ranks (``fused``). Fused
    rankings keep :class:`~.fusion_tuning.FusionSample` s for choosing the fusion weight."""

    def __init__(self, ctx: MethodContext, name: str, bundle: ModelBundle, *, fused: bool) -> None:
        self.ctx, self.bundle, self.fused = ctx, bundle, fused
        self.name = name if fused else f"{name} (learned only)"
        self.samples: list[FusionSample] = []

    def rank(self, video_path: Path) -> Ranking:
        library = self.ctx.library
        query = library.query(video_path, bundle=self.bundle, frames=self.ctx.analyses.frames(video_path),
                              analysis=self.ctx.analyses.get(video_path))
        if not self.fused:
            learned = library.learned_scores(query, library.store.track_ids(), bundle=self.bundle)
            return [(t, offset) for t, (_, offset) in sorted(learned.items(), key=lambda kv: -kv[1][0])]
        ranked = library.sync_ranking(query.analysis, want=len(library))
        sample = FusionSample(ranked, library.learned_at_sync(query, ranked, bundle=self.bundle))
        self.samples.append(sample)
        fused = fuse(ranked, sample.learned, weight=self.bundle.score_config.fusion_weight)
        return [(r.track_id, r.offset_s) for r in fused]


MethodFactory = Callable[[MethodContext], Scorer]

#: Built-in methods by name, in table order.
METHODS: dict[str, MethodFactory] = {
    "random": RandomScorer,
    "tempo": TempoScorer,
    "cut-on-beat": CutOnBeatScorer,
    "sync": SyncScorer,
}


def load_method(spec: str) -> MethodFactory:
    """A built-in method by name, or ``package.module:factory`` (a callable taking a :class:`MethodContext`)."""
    if spec in METHODS:
        return METHODS[spec]
    module_name, sep, attr = spec.partition(":")
    if not sep:
        raise ConfigError(f"unknown method {spec!r}: use one of {', '.join(METHODS)} or package.module:factory")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load method {spec!r}: {exc}") from None
    if not callable(factory):
        raise ConfigError(f"method {spec!r} is not callable")
    return factory
