"""Plain measures of how a suggested track fits a video, for editors: a 0–100 fit, how many cuts
land on a beat, the energy match in words, and other offsets that fit the cuts as well.

The ranking itself stays in ``engine.sync`` / ``engine.fusion``; these functions only explain
it. Pure functions over numpy arrays and analyses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .motion import VideoAnalysis
from .rhythm import MusicAnalysis
from .sync import GRID_HZ, SyncConfig, score_offsets, track_curves, video_curves

#: One frame at 25 fps: a cut this close to a beat is on it.
ON_BEAT_TOLERANCE_S = 0.040
#: Slope and midpoint of :func:`fit_percent`, fitted with ``bgmatch eval sync-tune BENCH --split S
#: --calibrate`` on the ground-truth BeatCut (2026-12-04, default weights): slope 3.54 and 4.19,
#: midpoint 0.93 and 0.88 on its valid and train splits; their means.
FIT_SLOPE = 3.9
FIT_MIDPOINT = 0.9
#: Another offset fits the cuts "as well" when its beat part is within this share of the suggested
#: offset's margin over the track's median offset.
RIVAL_WITHIN = 0.05
#: Offsets closer than this to the best one are the same passage, not a rival.
RIVAL_MIN_GAP_S = 1.0

EnergyMatch = Literal["good", "fair", "poor"]


def fit_percent(score: float) -> int:
    """The fused score as a plain 0–100 fit: ``round(100 · σ(FIT_SLOPE · (score − FIT_MIDPOINT)))``.

    Calibrated on edited videos whose music is known: among as many right tracks as wrong ones,
    each at its best offset, a track scoring like this one is the right one with probability
    ``fit`` %. 50 means as likely a wrong track as the right one; 90 and above, that few wrong
    tracks score so well. Absolute, so the same number means the same fit for any video, library
    size or ``--top`` (the model's learned part, when it weighs more than 0, adds to the score).
    """
    from scipy.special import expit  # the logistic, without overflow for any score

    return int(round(100.0 * float(expit(FIT_SLOPE * (float(score) - FIT_MIDPOINT)))))


def cuts_on_beat(cut_times_s: np.ndarray, beat_times_s: np.ndarray, *, offset_s: float,
                 tolerance_s: float = ON_BEAT_TOLERANCE_S) -> tuple[int, int]:
    """(cuts within ±``tolerance_s`` of a beat, all cuts) when the video starts ``offset_s`` into
    the track. ``cut_times_s`` [C] are video times, ``beat_times_s`` [B] track times (seconds)."""
    cuts = np.asarray(cut_times_s, np.float64)
    beats = np.sort(np.asarray(beat_times_s, np.float64)) - float(offset_s)
    if len(cuts) == 0 or len(beats) == 0:
        return 0, len(cuts)
    pos = np.clip(np.searchsorted(beats, cuts), 1, max(1, len(beats) - 1))
    nearest = np.minimum(np.abs(cuts - beats[pos - 1]), np.abs(cuts - beats[np.minimum(pos, len(beats) - 1)]))
    return int((nearest <= tolerance_s + 1e-9).sum()), len(cuts)


def energy_match(energy_r: float) -> EnergyMatch:
    """The ``energy`` part (Pearson r of the video's motion with the track's loudness) in words,
    by Cohen's conventions for a correlation: good from 0.5 (large), fair from 0.3 (medium), else poor."""
    if energy_r >= 0.5:
        return "good"
    if energy_r >= 0.3:
        return "fair"
    return "poor"


def rival_offsets(total: np.ndarray, *, best_index: int, grid_hz: float = GRID_HZ,
                  min_gap_s: float = RIVAL_MIN_GAP_S, within: float = RIVAL_WITHIN) -> list[float]:
    """Offsets (s, best first) at least ``min_gap_s`` from ``best_index`` whose score ``total``
    [O, one per grid step] is at least ``total[best_index] − within · margin``, where margin is
    how far that score stands above the median offset's; offsets chosen are ``min_gap_s`` apart."""
    total = np.asarray(total, np.float64)
    best = float(total[best_index])
    margin = best - float(np.median(total))
    if len(total) < 2 or margin <= 0:
        return []
    gap = max(1, int(round(min_gap_s * grid_hz)))
    order = np.argsort(-total, kind="stable")
    chosen: list[int] = [best_index]
    for i in order:
        if total[i] < best - within * margin:
            break
        if all(abs(int(i) - c) >= gap for c in chosen):
            chosen.append(int(i))
    return [c / grid_hz for c in chosen[1:]]


@dataclass(frozen=True)
class FitMeasure:
    """How a track fits a video at one offset, in an editor's terms."""

    fit: int  # 0–100, :func:`fit_percent` of the fused score
    cuts_on_beat: int
    cuts_total: int
    energy: EnergyMatch
    rival_offsets_s: tuple[float, ...]  # other offsets that fit the cuts about as well


def measure_fit(music: MusicAnalysis, video: VideoAnalysis, *, offset_s: float, score: float,
                energy_r: float, config: SyncConfig = SyncConfig()) -> FitMeasure:
    """The :class:`FitMeasure` of ``music`` (its corrected beats: ``Library.scoring_analysis``)
    for ``video`` starting ``offset_s`` into the track, whose fused score is ``score`` and
    energy part ``energy_r``. Rivals are offsets whose ``beat`` part (how well the cuts sit on
    the beats, before accents and loudness) comes within :data:`RIVAL_WITHIN` of this one's: in
    music with a steady tempo, the same cuts often fit whole bars earlier or later."""
    on, total = cuts_on_beat(video.cut_times_s, music.beat_times_s, offset_s=offset_s)
    curve = score_offsets(track_curves(music, config=config), video_curves(video, config=config), config=config)["beat"]
    best_index = int(np.clip(round(offset_s * GRID_HZ), 0, len(curve) - 1))
    rivals = rival_offsets(curve, best_index=best_index)
    return FitMeasure(fit_percent(score), on, total, energy_match(energy_r), tuple(rivals))
