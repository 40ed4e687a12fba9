"""Loudness normalisation: ITU-R BS.1770 integrated loudness (pyloudnorm) with a true-peak ceiling.

The gain that brings the music to the target loudness can push peaks past the ceiling; a
short look-ahead limiter then holds the 4× oversampled (true) peak under it, and the gain is
measured and corrected again, so the result meets both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from ..errors import BgmatchError

#: Integrated loudness for online video (YouTube, Vimeo and most platforms play at about −14 LUFS).
DEFAULT_TARGET_LUFS = -14.0
#: True-peak ceiling (dBTP), the usual headroom for lossy encoding.
DEFAULT_CEILING_DBTP = -1.0
#: Oversampling of the true-peak measurement (BS.1770-4 annex 2 uses 4× at 48 kHz).
OVERSAMPLE = 4


@dataclass(frozen=True)
class LoudnessReport:
    """Loudness before and after normalisation (LUFS, dBTP, dB)."""

    target_lufs: float
    input_lufs: float
    output_lufs: float
    true_peak_dbtp: float
    gain_db: float


def integrated_lufs(audio: np.ndarray, *, sr_hz: int) -> float:
    """Integrated loudness (LUFS, BS.1770) of ``audio`` ``[channels, n]`` or ``[n]``; −inf for silence."""
    audio = np.atleast_2d(audio)
    if audio.shape[1] < int(0.4 * sr_hz):
        raise BgmatchError(f"{audio.shape[1] / sr_hz:.2f} s of audio is too short to measure loudness (0.4 s at least)")
    return float(pyloudnorm.Meter(sr_hz).integrated_loudness(audio.T.astype(np.float64)))


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak (dBTP): the largest sample magnitude of ``audio`` oversampled :data:`OVERSAMPLE` times."""
    up = resample_poly(np.atleast_2d(audio).astype(np.float64), OVERSAMPLE, 1, axis=-1)
    peak = float(np.abs(up).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _limit(audio: np.ndarray, *, sr_hz: int, ceiling: float, smooth_s: float = 0.01) -> np.ndarray:
    """Hold the true peak of ``audio`` ``[channels, n]`` under the linear ``ceiling``, smoothly.

    No maintained, permissively licensed Python limiter exists (pedalboard's is GPL-3), so this
    is a plain look-ahead limiter: the gain each sample's oversampled peak needs, held (a
    minimum filter over ±2·``smooth_s``), then averaged over ±``smooth_s``. Every value in the
    average is at most the gain needed at its centre, so the ceiling holds and the gain curve
    has no steps.
    """
    n = audio.shape[1]
    up = np.abs(resample_poly(audio.astype(np.float64), OVERSAMPLE, 1, axis=-1)).max(axis=0)
    up = np.pad(up, (0, max(0, OVERSAMPLE * n - len(up))))[: OVERSAMPLE * n]
    need = np.minimum(1.0, ceiling / np.maximum(up.reshape(n, OVERSAMPLE).max(axis=1), 1e-12))
    h = max(1, int(smooth_s * sr_hz))
    held = minimum_filter1d(need, size=4 * h + 1, mode="nearest")
    gain = uniform_filter1d(held, size=2 * h + 1, mode="nearest")
    return (audio * gain[None, :]).astype(np.float32)


def normalize(audio: np.ndarray, *, sr_hz: int, target_lufs: float = DEFAULT_TARGET_LUFS,
              ceiling_dbtp: float = DEFAULT_CEILING_DBTP) -> tuple[np.ndarray, LoudnessReport]:
    """``audio`` ``[channels, n]`` at ``target_lufs`` integrated, true peak at most ``ceiling_dbtp``.

    Returns the new audio and what was measured. Silence is returned as it is (its loudness is
    −inf and no gain can change that).
    """
    if not (-70.0 <= target_lufs <= 0.0):
        raise BgmatchError(f"target loudness {target_lufs} LUFS is outside −70…0 LUFS")
    audio = np.atleast_2d(audio).astype(np.float32)
    before = integrated_lufs(audio, sr_hz=sr_hz)
    if not math.isfinite(before):
        return audio, LoudnessReport(target_lufs, before, before, true_peak_dbtp(audio), 0.0)
    ceiling = 10 ** (ceiling_dbtp / 20)
    gain_db, out = target_lufs - before, audio
    for _ in range(4):  # limiting lowers the loudness a little: measure and correct again
        out = _limit(audio * np.float32(10 ** (gain_db / 20)), sr_hz=sr_hz, ceiling=ceiling * 0.98)
        now = integrated_lufs(out, sr_hz=sr_hz)
        if abs(now - target_lufs) < 0.1:
            break
        gain_db += target_lufs - now
    return out, LoudnessReport(target_lufs, before, now, true_peak_dbtp(out), gain_db)
