"""Fit a track to a target length: a re-cut at bar lines that ends on the track's own ending.

A plan is a list of segments of the source track joined at bar lines (downbeats when the
analysis has them, else every 4th beat from the first beat). The joins are chosen where the
music on both sides is most alike: beat-synchronous chroma (harmony) and MFCC (timbre) over
``context_beats`` beats before and after the join are compared with the same positions around
the bar line jumped to. A longer target repeats a section (a backward jump, taken as often as
needed); a shorter one drops whole bars, preferably whole phrases (a forward jump). The first
segment starts at the offset, so the sync the ranking found stays; the last one ends at the
end of the file, so the music ends on its own ending. Segments meet in short equal-power
crossfades centred on the bar line.

This module plans; ``output.fit_render`` renders a plan and writes it.

Bars quantise what a re-cut can reach: the planned length is off the target by up to half a
bar. :attr:`FitConfig.stretch` closes that gap with a time-stretch of at most ±3 % (Rubber
Band through ``pyrubberband``), so the ending lands on the target's last sample. Without it the
output still has exactly the target's length: the music ends a little early (silence after
the ending) or, when no plan ends early enough, its last moments are faded out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ..analysis import spectra
from ..errors import BgmatchError, ConfigError

#: How the bar lines were found.
GridKind = Literal["downbeats", "every-4-beats", "none"]


class FitError(BgmatchError):
    """A track cannot be fitted to the asked length."""


@dataclass(frozen=True)
class FitConfig:
    """Parameters of fit planning and rendering."""

    crossfade_s: float = 0.05  # equal-power crossfade at each join, centred on the bar line
    stretch: bool = False  # time-stretch (≤ max_stretch) so the ending lands exactly on the target's end
    max_stretch: float = 0.03
    beats_per_bar: int = 4  # used when no downbeats are given
    phrase_bars: int = 4  # a dropped or repeated span of a multiple of this many bars is preferred
    context_beats: int = 2  # beats compared on each side of a join
    min_loop_bars: int = 4  # a repeated section is at least this long
    residual_weight: float = 4.0  # plan cost per bar of length left for the ending to absorb
    phrase_penalty: float = 0.25  # plan cost of a jump that is not a whole number of phrases
    off_bar_penalty: float = 0.3  # plan cost of a join between beats that are not bar lines
    metre_penalty: float = 1.0  # plan cost of a jump that moves the position in the bar
    fallback_fade_s: float = 2.0  # fade-out of a cut without beats, or of an ending cut short
    analysis_sr_hz: int = 22050
    hop_length: int = 512

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_stretch <= 0.03:
            raise ConfigError(f"max_stretch {self.max_stretch} is outside 0–0.03 (±3 %)")
        if not 0.0 <= self.crossfade_s <= 1.0:
            raise ConfigError(f"crossfade {self.crossfade_s} s is outside 0–1 s")


@dataclass(frozen=True)
class Segment:
    """One piece of the source track, played at ``target_start_s`` of the output.

    Times are seconds; ``crossfade_s`` is the crossfade with the previous segment, centred on
    the join (0 for the first segment). The output length of a segment is its source length
    divided by the plan's ``stretch_rate``.
    """

    source_start_s: float
    source_end_s: float
    target_start_s: float
    crossfade_s: float = 0.0

    @property
    def source_duration_s(self) -> float:
        """Length of the piece in the source track (s)."""
        return self.source_end_s - self.source_start_s


@dataclass(frozen=True)
class FitPlan:
    """A re-cut of a track to ``target_duration_s``.

    ``stretch_rate`` is source seconds per output second (1.0: no stretch). ``ending_target_s``
    is where the track's ending (the end of its last segment) lands in the output;
    ``fade_out_s`` is a fade at the output's end (0 when the real ending plays whole).
    ``join_costs`` holds the chroma+MFCC distance of each join (see :func:`join_distance`).
    """

    track_duration_s: float
    offset_s: float
    target_duration_s: float
    segments: tuple[Segment, ...]
    grid: GridKind
    bar_times_s: tuple[float, ...]
    beat_times_s: tuple[float, ...]
    join_costs: tuple[float, ...] = ()
    stretch_rate: float = 1.0
    ending_target_s: float = 0.0
    fade_out_s: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def joins_target_s(self) -> tuple[float, ...]:
        """Output times of the joins (s)."""
        return tuple(s.target_start_s for s in self.segments[1:])

    @property
    def planned_duration_s(self) -> float:
        """Output length of the segments played back to back (s)."""
        return sum(s.source_duration_s for s in self.segments) / self.stretch_rate


# ----- features ------------------------------------------------------------------------------

def beat_features(y: np.ndarray, *, sr_hz: int, beat_times_s: np.ndarray, hop_length: int = 512) -> np.ndarray:
    """Chroma and timbre per beat interval, shape ``[B + 1, 25]`` for ``B`` beats.

    Row ``k`` describes the interval ending at beat ``k`` (row 0: before the first beat; row
    ``B``: after the last). Columns: 12 chroma values scaled to unit length, then MFCC 1–13
    standardised over the track and divided by √13, so that both halves weigh about alike.
    ``y`` is mono ``[n]``.
    """
    power = spectra.power_spectrogram(y, hop_length=hop_length)
    chroma = spectra.chroma(power, sr_hz=sr_hz)
    mfcc = spectra.mfcc(spectra.power_to_db(spectra.mel_power(power, sr_hz=sr_hz)), n_mfcc=14)[1:]
    n = min(chroma.shape[1], mfcc.shape[1])
    frames = spectra.time_to_frames(np.asarray(beat_times_s, np.float64), sr_hz=sr_hz, hop_length=hop_length)
    frames = np.unique(np.clip(frames, 0, n))
    chroma_b = spectra.sync_mean(chroma[:, :n], frames)
    mfcc_b = spectra.sync_mean(mfcc[:, :n], frames)
    mfcc_b = (mfcc_b - mfcc[:, :n].mean(axis=1, keepdims=True)) / (mfcc[:, :n].std(axis=1, keepdims=True) + 1e-6)
    chroma_b = chroma_b / (np.linalg.norm(chroma_b, axis=0, keepdims=True) + 1e-9)
    feats = np.concatenate([chroma_b, mfcc_b / math.sqrt(mfcc_b.shape[0])], axis=0).T
    want = len(beat_times_s) + 1
    if len(feats) < want:  # beats that fell on the same frame share a row
        feats = np.concatenate([feats, np.repeat(feats[-1:], want - len(feats), axis=0)])
    return feats[:want].astype(np.float32)


def join_distance(feats: np.ndarray, a: np.ndarray, b: np.ndarray, *, context_beats: int) -> np.ndarray:
    """Mean feature distance around bar lines at beat indices ``a`` and ``b`` (broadcast).

    A jump from beat ``a`` to beat ``b`` plays what preceded ``a`` then what follows ``b``; it
    is seamless when the ``context_beats`` intervals before ``a`` match those before ``b`` and
    the ones after match too. Returns the mean Euclidean distance over those ``2 ·
    context_beats`` interval pairs (0 for identical music; about 1.4 for unrelated beats).
    """
    last = len(feats) - 1
    total = np.zeros(np.broadcast(a, b).shape, np.float64)
    offsets = list(range(-context_beats + 1, context_beats + 1))  # row k = interval ending at beat k
    for o in offsets:
        fa = feats[np.clip(a + o, 0, last)]
        fb = feats[np.clip(b + o, 0, last)]
        total += np.linalg.norm(fa - fb, axis=-1)
    return total / len(offsets)


# ----- planning ------------------------------------------------------------------------------

def bar_grid(beat_times_s: np.ndarray, downbeat_times_s: np.ndarray | None, *,
             beats_per_bar: int) -> tuple[np.ndarray, GridKind]:
    """Beat indices of the bar lines, and how they were found.

    Downbeats are snapped to their nearest beat; without them, every ``beats_per_bar``-th beat
    from the first beat is taken as a bar line.
    """
    beats = np.asarray(beat_times_s, np.float64)
    if downbeat_times_s is not None and len(downbeat_times_s) >= 2 and len(beats):
        idx = np.abs(beats[None, :] - np.asarray(downbeat_times_s, np.float64)[:, None]).argmin(axis=1)
        return np.unique(idx), "downbeats"
    return np.arange(0, len(beats), beats_per_bar), "every-4-beats"


@dataclass(frozen=True)
class _Choice:
    exit_beat: int  # index into the beats: where the earlier segment ends
    entry_beat: int  # where the later one starts
    repeats: int  # how often the jump is taken (backward jumps repeat a section)
    length_s: float
    cost: float
    score: float


def plan_fit(y: np.ndarray, *, sr_hz: int, beat_times_s: np.ndarray, offset_s: float, duration_s: float,
             downbeat_times_s: np.ndarray | None = None, features: np.ndarray | None = None,
             config: FitConfig = FitConfig()) -> FitPlan:
    """Plan a re-cut of mono ``y`` (``[n]`` at ``sr_hz``) from ``offset_s`` lasting ``duration_s``.

    ``beat_times_s`` (and optional ``downbeat_times_s``) are the track's analysis;
    ``features`` are its :func:`beat_features` (computed when None; pass them to plan the
    same track again without recomputing). Raises
    :class:`FitError` when the target is shorter than one bar. A track without usable beats
    gets a phrase-free cut with a fade, and a warning in the plan.
    """
    track_s = len(y) / sr_hz
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise FitError(f"target length {duration_s} s is not a positive number")
    if not 0 <= offset_s < track_s:
        raise FitError(f"offset {offset_s:.2f} s is outside the track (0–{track_s:.2f} s)")
    beats = np.asarray(beat_times_s, np.float64)
    keep = (beats >= 0) & (beats < track_s)
    if features is not None and not keep.all():
        raise FitError("beat times outside the track do not match the features given")
    beats = beats[keep]
    bar_idx, grid = bar_grid(beats, downbeat_times_s, beats_per_bar=config.beats_per_bar)
    if len(bar_idx) < 3:
        return _plan_without_beats(track_s, offset_s, duration_s, beats, config)
    bars = beats[bar_idx]
    bar_s = float(np.median(np.diff(bars)))
    if duration_s < bar_s:
        raise FitError(f"target length {duration_s:.2f} s is shorter than one bar of the track ({bar_s:.2f} s)")
    base = dict(track_duration_s=track_s, offset_s=offset_s, target_duration_s=duration_s, grid=grid,
                bar_times_s=tuple(float(b) for b in bars), beat_times_s=tuple(float(b) for b in beats))
    notes: list[str] = []
    if grid == "every-4-beats":
        notes.append("no downbeats in the analysis: bars taken as every 4 beats from the first beat")
    frame_s = 1.0 / 25
    straight_s = track_s - offset_s
    exact = abs(straight_s - duration_s) <= frame_s
    if features is None and not exact:
        features = beat_features(y, sr_hz=sr_hz, beat_times_s=beats, hop_length=config.hop_length)
    choice = None if exact else _best_choice(features, beats, bar_idx, bar_s, offset_s, track_s, duration_s, config)
    if choice is None:
        segments, costs, length_s = [Segment(offset_s, track_s, 0.0)], [], straight_s
        if not exact:
            notes.append("no join fits this length: the track plays straight from the offset")
    else:
        segments, costs, length_s = _segments(choice, beats, offset_s, track_s, config)
    return _finish(FitPlan(segments=tuple(segments), join_costs=tuple(costs), **base), length_s, config, notes)


def _best_choice(feats, beats, bar_idx, bar_s, offset_s, track_s, duration_s, config) -> _Choice | None:
    """The best single jump (taken ``repeats`` times), over every pair of beats.

    Jumps between bar lines come first (``cost`` only); a jump between two other beats of the
    same position in the bar keeps the metre and costs ``off_bar_penalty`` more; one that
    changes the position in the bar (needed only when whole bars cannot reach the length)
    costs ``metre_penalty`` more.
    """
    nb = len(beats)
    on_bar = np.zeros(nb, bool)
    on_bar[bar_idx] = True
    phase = np.searchsorted(bar_idx, np.arange(nb), side="right") - 1  # bar each beat lies in
    phase = np.arange(nb) - bar_idx[np.maximum(phase, 0)]
    exit_i, entry_j = np.meshgrid(np.arange(nb), np.arange(nb), indexing="ij")
    cost = join_distance(feats, exit_i, entry_j, context_beats=config.context_beats)
    span = beats[exit_i] - beats[entry_j]  # > 0: backward jump (adds length); < 0: forward (drops)
    straight_s = track_s - offset_s
    need = duration_s - straight_s
    valid = (beats[exit_i] > offset_s + 0.5 * bar_s) & (exit_i != entry_j)
    valid &= track_s - beats[entry_j] >= min(bar_s, track_s - beats[bar_idx[-1]]) - 1e-6
    if need > 0:
        valid &= span >= config.min_loop_bars * bar_s - 1e-6
        repeats = np.where(valid, np.maximum(1, np.round(need / np.where(span > 0, span, 1.0))), 1)
    else:
        valid &= span < 0
        repeats = np.ones_like(span)
    length = straight_s + repeats * span
    residual_bars = (duration_s - length) / bar_s
    # Ending early (silence after the ending) is better than cutting the ending short.
    penalty = np.where(residual_bars >= 0, residual_bars, 2.0 * -residual_bars)
    if config.stretch:  # inside the stretch range the residual is (almost) free
        inside = np.abs(length / duration_s - 1) <= config.max_stretch
        penalty = np.where(inside, 1e-3 * np.abs(residual_bars), penalty)
    bars_jumped = np.round(np.abs(span) / bar_s).astype(int)
    score = (cost + config.residual_weight * penalty
             + config.phrase_penalty * (bars_jumped % config.phrase_bars != 0)
             + config.off_bar_penalty * ~(on_bar[exit_i] & on_bar[entry_j])
             + config.metre_penalty * (phase[exit_i] != phase[entry_j]))
    score = np.where(valid, score, np.inf)
    flat = int(np.argmin(score))
    if not np.isfinite(score.flat[flat]):
        return None
    i, j = np.unravel_index(flat, score.shape)
    return _Choice(int(i), int(j), int(repeats[i, j]), float(length[i, j]), float(cost[i, j]), float(score[i, j]))


def _segments(choice: _Choice, beats: np.ndarray, offset_s: float, track_s: float,
              config: FitConfig) -> tuple[list[Segment], list[float], float]:
    a, b = float(beats[choice.exit_beat]), float(beats[choice.entry_beat])
    pieces = [(offset_s, a)] + [(b, a)] * (choice.repeats - 1) + [(b, track_s)]
    # A crossfade reaches half its length past both bar lines: keep it inside the file.
    xfade = min(config.crossfade_s, 2 * (track_s - a), 2 * b)
    segments, t = [], 0.0
    for k, (s0, s1) in enumerate(pieces):
        segments.append(Segment(s0, s1, t, 0.0 if k == 0 else xfade))
        t += s1 - s0
    return segments, [choice.cost] * choice.repeats, t


def _finish(plan: FitPlan, length_s: float, config: FitConfig, notes: list[str]) -> FitPlan:
    """Stretch the plan onto the target, or say where its ending lands instead."""
    target = plan.target_duration_s
    residual = target - length_s
    frame_s = 1.0 / 25
    if abs(residual) <= 1e-6:
        return replace(plan, ending_target_s=target, warnings=tuple(notes))
    if config.stretch and abs(length_s / target - 1) <= config.max_stretch:
        rate = length_s / target
        segments = _scaled(plan.segments, rate)
        return replace(plan, segments=segments, stretch_rate=rate, ending_target_s=target, warnings=tuple(notes))
    if config.stretch:
        notes.append(f"the nearest plan is {length_s:.2f} s long, more than ±{config.max_stretch:.0%} off "
                     f"{target:.2f} s: not stretched")
    if -frame_s <= residual < 0:  # a few samples too long: trimmed, with a click-free fade
        return replace(plan, ending_target_s=length_s, fade_out_s=0.02, warnings=tuple(notes))
    if residual > 0:
        if residual > frame_s:
            notes.append(f"the music ends {residual:.2f} s before the target's end (its own ending, then silence); "
                         "stretching lands it exactly")
        return replace(plan, ending_target_s=length_s, warnings=tuple(notes))
    fade = min(config.fallback_fade_s, target / 4)
    notes.append(f"the plan is {-residual:.2f} s too long: the ending is cut and faded out over {fade:.2f} s")
    return replace(plan, ending_target_s=length_s, fade_out_s=fade, warnings=tuple(notes))


def _scaled(segments: tuple[Segment, ...], rate: float) -> tuple[Segment, ...]:
    out, t = [], 0.0
    for s in segments:
        out.append(replace(s, target_start_s=t))
        t += s.source_duration_s / rate
    return tuple(out)


def _plan_without_beats(track_s: float, offset_s: float, duration_s: float, beats: np.ndarray,
                        config: FitConfig) -> FitPlan:
    """A phrase-free cut: the track from the offset, repeated from its start if too short, faded out."""
    warning = f"only {len(beats)} beats detected: cut without bars or phrases, faded out at the end"
    segments, t, start = [], 0.0, offset_s
    xfade = config.fallback_fade_s if track_s > 4 * config.fallback_fade_s else 0.0
    while t < duration_s - 1e-9:
        length = min(track_s - start, duration_s - t)
        segments.append(Segment(start, start + length, t, xfade if segments else 0.0))
        t += length
        start = 0.0
    return FitPlan(track_duration_s=track_s, offset_s=offset_s, target_duration_s=duration_s,
                   segments=tuple(segments), grid="none", bar_times_s=(), beat_times_s=tuple(float(b) for b in beats),
                   ending_target_s=duration_s, fade_out_s=min(config.fallback_fade_s, duration_s / 4),
                   warnings=(warning,))


# ----- rendering -----------------------------------------------------------------------------
