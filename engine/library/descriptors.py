"""Analysis descriptors: small vectors for the candidate-recall stage before trained weights.

A track window and a video are described in one space: tempo as an octave-folded angle (a
video cut every 1, 2, 4 or 8 beats has the tempo's angle) and the shape of the loudness
(track) or motion (video) over the window. Inner product ranks candidates; the clip-level
synchrony score (``sync``) decides the final order.
"""
from __future__ import annotations

import numpy as np

from ..analysis.motion import VideoAnalysis
from ..analysis.rhythm import MusicAnalysis

WINDOW_S = 16.0
HOP_S = 4.0
PROFILE_POINTS = 8
DIM = 2 + PROFILE_POINTS


def _tempo_angle(bpm: float) -> np.ndarray:
    if not np.isfinite(bpm) or bpm <= 0:
        return np.zeros(2, np.float32)
    a = 2 * np.pi * np.log2(bpm / 60.0)
    return np.array([np.cos(a), np.sin(a)], np.float32)


def _profile(values: np.ndarray, times_s: np.ndarray, start_s: float) -> np.ndarray:
    edges = start_s + np.linspace(0, WINDOW_S, PROFILE_POINTS + 1)
    idx = np.searchsorted(times_s, edges)
    prof = np.array([values[a:b].mean() if b > a else 0.0 for a, b in zip(idx[:-1], idx[1:])], np.float32)
    std = prof.std()
    return ((prof - prof.mean()) / std / np.sqrt(PROFILE_POINTS)).astype(np.float32) if std > 1e-8 else np.zeros_like(prof)


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(n, 1e-8)).astype(np.float32)


def music_window_vectors(music: MusicAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """Descriptor of each window of a track: (vectors ``[W, DIM]``, window starts (s) ``[W]``)."""
    times = np.arange(len(music.rms)) / music.frame_rate_hz
    last = max(0.0, music.duration_s - WINDOW_S)
    starts = np.arange(0.0, last + 1e-6, HOP_S, dtype=np.float32)
    tempo = _tempo_angle(music.tempo_bpm)
    vecs = np.stack([np.concatenate([tempo, _profile(music.rms, times, s)]) for s in starts])
    return _normalise(vecs), starts


def video_query_vector(video: VideoAnalysis) -> np.ndarray:
    """Descriptor of a video (its first window), ``[DIM]``."""
    cuts = video.cut_times_s
    tempo = _tempo_angle(60.0 / float(np.median(np.diff(cuts)))) if len(cuts) >= 3 else np.zeros(2, np.float32)
    return _normalise(np.concatenate([tempo, _profile(video.motion, video.times_s, 0.0)]))
