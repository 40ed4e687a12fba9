""""More like this track": rank tracks by how alike their rhythm and energy are.

Each track is summarised by a small profile of its stored analysis — tempo (on a circle, so a
track at 120 BPM sits near one at 60 or 240, plus its octave), beat steadiness, onset rate,
loudness and dynamics. Profiles are standardised over the candidates and compared by weighted
Euclidean distance. Pure functions over :class:`~bgmatch.engine.analysis.rhythm.MusicAnalysis`.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.signal import find_peaks

from ..analysis.rhythm import MusicAnalysis

#: Names of the profile's entries, in order.
PROFILE_NAMES = ("tempo_cos", "tempo_sin", "tempo_octave", "beat_steadiness", "onset_rate_hz",
                 "loudness_db", "dynamics_db")
#: Weight of each entry in the distance (the tempo circle counts most).
PROFILE_WEIGHTS = np.array([1.5, 1.5, 0.5, 0.5, 1.0, 1.0, 1.0])


def track_profile(music: MusicAnalysis, *, tempo_bpm: float | None = None) -> np.ndarray:
    """The profile of one track, shape ``[len(PROFILE_NAMES)]`` (float64).

    ``tempo_bpm`` overrides the analysed tempo (e.g. after a user's beat-grid correction).
    """
    bpm = music.tempo_bpm if tempo_bpm is None else tempo_bpm
    octave = float(np.log2(bpm / 60.0)) if np.isfinite(bpm) and bpm > 0 else 0.0
    angle = 2 * np.pi * octave
    beats = np.asarray(music.beat_times_s, np.float64)
    intervals = np.diff(beats)
    steadiness = 1.0 - min(1.0, float(intervals.std() / intervals.mean())) if len(intervals) >= 2 else 0.0
    env = np.asarray(music.onset_envelope, np.float64)
    duration = max(music.duration_s, 1e-3)
    if len(env) > 2 and env.std() > 0:
        peaks, _ = find_peaks(env, height=env.mean() + env.std(), distance=max(1, int(0.1 * music.frame_rate_hz)))
        onset_rate = len(peaks) / duration
    else:
        onset_rate = 0.0
    rms_db = 20 * np.log10(np.maximum(np.asarray(music.rms, np.float64), 1e-5))
    loudness = float(np.percentile(rms_db, 50)) if len(rms_db) else -100.0
    dynamics = float(np.percentile(rms_db, 90) - np.percentile(rms_db, 10)) if len(rms_db) else 0.0
    return np.array([np.cos(angle), np.sin(angle), octave, steadiness, onset_rate, loudness, dynamics])


def similar_tracks(query_id: str, profiles: Mapping[str, np.ndarray], *,
                   top: int | None = None) -> list[tuple[str, float]]:
    """Tracks most like ``query_id``, best first, as ``(track_id, similarity)`` with similarity in (0, 1].

    ``profiles`` maps track ids (the query's included) to :func:`track_profile` vectors. The
    query itself is left out. Entries are standardised over all profiles, so the comparison
    adapts to the library (a folder of only fast tracks still tells them apart).
    """
    if query_id not in profiles:
        raise KeyError(query_id)
    ids = list(profiles)
    matrix = np.stack([np.asarray(profiles[i], np.float64) for i in ids])
    scale = matrix.std(axis=0)
    scale[scale < 1e-9] = 1.0
    # The tempo circle keeps its own unit scale so its two entries stay a circle.
    scale[:2] = 1.0
    z = (matrix - matrix.mean(axis=0)) / scale * PROFILE_WEIGHTS
    q = z[ids.index(query_id)]
    dist = np.sqrt(((z - q) ** 2).sum(axis=1)) / np.sqrt((PROFILE_WEIGHTS ** 2).sum())
    similarity = 1.0 / (1.0 + dist)
    order = [i for i in np.argsort(dist, kind="stable") if ids[i] != query_id]
    ranked = [(ids[i], float(similarity[i])) for i in order]
    return ranked if top is None else ranked[:top]
