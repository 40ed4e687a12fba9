"""Section boundaries of a track: novelty on a beat-synchronous self-similarity matrix.

Chroma (harmony) and MFCCs (timbre) are averaged per beat (``spectra.sync_mean``, as ``librosa.util.sync``), each
coefficient standardised over the track, and compared beat against beat by cosine similarity.
Foote's checkerboard kernel (J. Foote, "Automatic audio segmentation using a measure of audio
novelty", ICME 2000), tapered by a Gaussian, slid along the diagonal gives a novelty curve whose
peaks are where the music before differs from the music after: section starts. The kernel is
written here because librosa.segment has recurrence matrices and agglomerative clustering but no
novelty curve, and the correlation is a dozen lines. Pure functions over numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spectra import sync_mean


@dataclass(frozen=True)
class SectionConfig:
    """Widths of the section search, in beats."""

    kernel_beats: int = 32  # checkerboard width: 16 beats (4 bars of 4) on each side of a boundary
    min_section_beats: int = 32  # no two section starts closer than this (8 bars of 4)
    prominence: float = 0.1  # of a novelty peak, on the curve scaled to a maximum of 1
    n_mfcc: int = 13


def beat_sync_features(chroma: np.ndarray, mfcc: np.ndarray, beat_frames: np.ndarray) -> np.ndarray:
    """Standardised chroma + MFCC per beat interval, ``[B + 1, 12 + M]`` for ``B`` beats.

    ``chroma`` ``[12, F]`` and ``mfcc`` ``[M, F]`` are on the same frame grid; row ``k`` covers
    the frames from beat ``k - 1`` to beat ``k`` (row 0: before the first beat).
    """
    n = min(chroma.shape[1], mfcc.shape[1])
    feats = np.vstack([chroma[:, :n], mfcc[1:, :n]]).astype(np.float64)  # MFCC 0 is loudness only
    frames = np.clip(np.asarray(beat_frames, int), 0, max(n - 1, 0))
    synced = sync_mean(feats, frames)
    synced = (synced - synced.mean(axis=1, keepdims=True)) / (synced.std(axis=1, keepdims=True) + 1e-8)
    return synced.T


def checkerboard_kernel(width: int) -> np.ndarray:
    """Gaussian-tapered checkerboard ``[width, width]`` (``width`` even): +1 within the past
    and within the future, -1 across."""
    half = width // 2
    axis = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (axis / (0.5 * half)) ** 2)
    sign = np.sign(axis)
    return np.outer(sign * taper, sign * taper)


def novelty(features: np.ndarray, *, kernel_beats: int = SectionConfig.kernel_beats) -> np.ndarray:
    """Novelty ``[N]`` of rows ``features`` ``[N, d]``: the checkerboard kernel correlated along
    the cosine self-similarity matrix's diagonal (value ``i`` is the boundary before row ``i``)."""
    x = np.asarray(features, np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)
    ssm = x @ x.T
    kernel = checkerboard_kernel(kernel_beats)
    half = kernel_beats // 2
    padded = np.zeros((n + 2 * half, n + 2 * half))
    padded[half:half + n, half:half + n] = ssm
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel_beats, kernel_beats))
    idx = np.arange(n)
    return np.einsum("nij,ij->n", windows[idx, idx][:n], kernel)


def section_starts(features: np.ndarray, beat_times_s: np.ndarray, downbeat_times_s: np.ndarray, *,
                   config: SectionConfig = SectionConfig()) -> np.ndarray:
    """Section starts ``[S]`` (s) from beat-synchronous ``features`` ``[B + 1, d]``
    (:func:`beat_sync_features`): the first downbeat (else the first beat), then the novelty
    peaks at least ``min_section_beats`` apart and away from the ends, each moved to the nearest
    downbeat when one is within half a bar."""
    from scipy.signal import find_peaks

    beats = np.asarray(beat_times_s, np.float64)
    downs = np.asarray(downbeat_times_s, np.float64)
    if len(beats) == 0:
        return np.zeros(0)
    first = downs[0] if len(downs) else beats[0]
    rows = np.asarray(features)[1:len(beats) + 1]  # row k of these starts at beat k
    curve = novelty(rows, kernel_beats=config.kernel_beats)
    starts = [float(first)]
    if len(curve) and curve.max() > 0:
        curve = curve / curve.max()
        peaks, _ = find_peaks(curve, distance=config.min_section_beats, prominence=config.prominence)
        edge = config.kernel_beats // 4
        peaks = peaks[(peaks >= edge) & (peaks < len(beats) - edge)]
        bar_s = float(np.median(np.diff(downs))) if len(downs) >= 2 else np.inf
        for p in peaks:
            t = beats[p]
            if len(downs):
                near = downs[int(np.argmin(np.abs(downs - t)))]
                t = near if abs(near - t) <= bar_s / 2 else t
            if t - starts[-1] > 1e-6:
                starts.append(float(t))
    return np.asarray(sorted(set(starts)), np.float64)
