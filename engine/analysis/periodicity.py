"""Per-clip periodicity features that both modalities share: rhythm level and autocorrelation.

The paper's tokens give each clip one number per field (beat count, onset strength, beat
interval; mean flow). What links an edit to its music is finer: cuts fall on beats, so the gaps
between cuts are multiples of the beat period, and busy passages get more motion. Each clip gets

* three *level* values: music — energy and onset strength relative to the track's mean, beats
  per second; video — motion relative to the video's mean, cuts per second, absolute motion;
* the *autocorrelation* of a rhythm curve at lags ``lag_min_s … lag_max_s`` — music: the onset
  envelope; video: the cut train — over the clip and ``context_s`` either side.

Autocorrelation does not depend on phase, so a track window that starts between two beats
gets the same periodicity as one that starts on a beat. The matching model embeds these vectors
next to the tokens (``MatchingConfig.periodicity_dim``). Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only for annotations: model configs import this module without librosa or OpenCV
    from .motion import VideoAnalysis
    from .rhythm import MusicAnalysis

LEVELS = 3


@dataclass(frozen=True)
class PeriodicityConfig:
    """Lag grid and context of the periodicity part; the curves are sampled at ``rate_hz``."""

    lag_min_s: float = 0.24
    lag_max_s: float = 4.0
    lag_step_s: float = 0.04
    context_s: float = 4.0
    rate_hz: float = 25.0

    @property
    def lags_s(self) -> np.ndarray:
        return np.round(np.arange(self.lag_min_s, self.lag_max_s + 1e-6, self.lag_step_s), 6)

    @property
    def dim(self) -> int:
        """Length of one clip's features."""
        return LEVELS + len(self.lags_s)


DEFAULT_PERIODICITY = PeriodicityConfig()
PERIODICITY_DIM = DEFAULT_PERIODICITY.dim


def _autocorrelation(curve: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of ``curve`` [n] at integer ``lags`` [L] (0 where it is flat,
    and at lags outside ``1 … n-1``)."""
    x = curve - curve.mean()
    full = np.correlate(x, x, mode="full")[len(x) - 1:]  # full[k] = x[:-k] · x[k:]
    out = np.zeros(len(lags), np.float32)
    if full[0] <= 1e-12:
        return out
    valid = (lags > 0) & (lags < len(x))
    out[valid] = full[lags[valid]] / full[0]
    return out


def _windows(starts_s: np.ndarray, clip_s: float, config: PeriodicityConfig) -> np.ndarray:
    """Sample times [k, n] of each clip's context window on the ``rate_hz`` grid."""
    n = int(round((clip_s + 2 * config.context_s) * config.rate_hz))
    return np.asarray(starts_s, np.float64)[:, None] - config.context_s + np.arange(n)[None, :] / config.rate_hz


def _lag_steps(config: PeriodicityConfig) -> np.ndarray:
    return np.round(config.lags_s * config.rate_hz).astype(np.int64)


def music_periodicity(analysis: MusicAnalysis, starts_s: np.ndarray, *, clip_s: float,
                      config: PeriodicityConfig = DEFAULT_PERIODICITY) -> np.ndarray:
    """Periodicity features [k, dim] (float32) of the ``clip_s`` clips of a track starting at ``starts_s`` [k]."""
    starts = np.asarray(starts_s, np.float64)
    frame_t = np.arange(len(analysis.onset_envelope)) / analysis.frame_rate_hz
    onset = np.asarray(analysis.onset_envelope, np.float64)
    rms = np.asarray(analysis.rms, np.float64)
    mean_onset, mean_rms = float(onset.mean()) if len(onset) else 0.0, float(rms.mean()) if len(rms) else 0.0
    beats = np.asarray(analysis.beat_times_s, np.float64)
    lags = _lag_steps(config)
    out = np.zeros((len(starts), config.dim), np.float32)
    for i, (start, times) in enumerate(zip(starts, _windows(starts, clip_s, config))):
        inside = (frame_t >= start) & (frame_t < start + clip_s)  # onset and rms share the frame grid
        if inside.any():
            out[i, 0] = rms[inside].mean() / max(mean_rms, 1e-9)
            out[i, 1] = onset[inside].mean() / max(mean_onset, 1e-9)
        out[i, 2] = np.count_nonzero((beats >= start) & (beats < start + clip_s)) / clip_s
        # Outside the track the curve is 0 (silence): np.interp would repeat the edge value.
        curve = np.interp(times, frame_t, onset, left=0.0, right=0.0) if len(onset) else np.zeros(len(times))
        out[i, LEVELS:] = _autocorrelation(curve, lags)
    return out


def video_periodicity(analysis: VideoAnalysis, n_clips: int, *, clip_s: float,
                      config: PeriodicityConfig = DEFAULT_PERIODICITY) -> np.ndarray:
    """Periodicity features [n_clips, dim] (float32) of a video's consecutive ``clip_s`` clips."""
    starts = np.arange(n_clips) * clip_s
    motion = np.asarray(analysis.motion, np.float64)
    times_s = np.asarray(analysis.times_s, np.float64)
    mean_motion = float(motion.mean()) if len(motion) else 0.0
    cuts = np.asarray(analysis.cut_times_s, np.float64)
    lags = _lag_steps(config)
    out = np.zeros((n_clips, config.dim), np.float32)
    for i, (start, times) in enumerate(zip(starts, _windows(starts, clip_s, config))):
        inside = (times_s >= start) & (times_s < start + clip_s)
        level = float(motion[inside].mean()) if inside.any() else 0.0
        out[i, 0] = level / max(mean_motion, 1e-9)
        out[i, 1] = np.count_nonzero((cuts >= start) & (cuts < start + clip_s)) / clip_s
        out[i, 2] = np.log1p(level / 100.0)
        train = np.zeros(len(times))
        slots = np.round((cuts - times[0]) * config.rate_hz).astype(np.int64)
        slots = slots[(slots >= 0) & (slots < len(train))]
        train[slots] = 1.0
        # Spread each cut over its neighbours (cut detection is exact to one analysis frame only).
        out[i, LEVELS:] = _autocorrelation(np.convolve(train, [0.25, 0.5, 0.25], mode="same"), lags)
    return out
