"""Spectral features of a music signal, computed as librosa computes them but without importing
the librosa modules that compile numba code.

Why this module exists: ``librosa.core`` (``stft``, ``resample``, ``power_to_db``),
``librosa.feature`` and ``librosa.util.sync`` compile numba functions when they are first
imported (``core.audio``'s zero-crossing and ``core.pitch``'s parabolic-interpolation gufuncs,
``util.utils``' local maxima), about 35 s on a fresh installation before any track is analysed.
So does ``librosa.filters``, through ``librosa.util.utils``. Everything the default analysis
needs from them is a few lines of numpy (librosa's formulas, filter banks included), torch's
STFT and soxr's resampler (the one librosa calls). ``tests/engine/test_spectra.py`` holds each
function to librosa's own result on real music.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
import soxr

N_FFT = 2048
"""librosa's default FFT size, used by the rhythm analysis."""


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """``y`` (``[n]``) at ``target_sr``, as ``librosa.resample`` (soxr's HQ filter, the length
    ``ceil(n * target / orig)``)."""
    y = np.asarray(y, np.float32)
    if orig_sr == target_sr:
        return y
    n_out = int(np.ceil(len(y) * float(target_sr) / orig_sr))
    out = soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)
    if len(out) >= n_out:
        return out[:n_out]
    return np.pad(out, (0, n_out - len(out)))


def power_spectrogram(y: np.ndarray, *, n_fft: int = N_FFT, hop_length: int = 512) -> np.ndarray:
    """``|STFT|²`` of mono ``y``, ``[1 + n_fft // 2, frames]`` float32, as ``librosa.stft``
    (periodic Hann window, centred frames, zero padding)."""
    import torch  # here, so that importing the analysis stays light for the CLI's start

    wave = torch.from_numpy(np.ascontiguousarray(y, np.float32))
    if len(wave) == 0:
        return np.zeros((1 + n_fft // 2, 1), np.float32)
    spec = torch.stft(wave, n_fft=n_fft, hop_length=hop_length, window=torch.hann_window(n_fft),
                      center=True, pad_mode="constant", return_complex=True)
    return (spec.real.square() + spec.imag.square()).numpy()


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, ``htk=False``): linear below 1 kHz, log above."""
    hz = np.asanyarray(hz, np.float64)
    mel = hz / (200.0 / 3)
    above = hz >= 1000.0
    return np.where(above, 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asanyarray(mel, np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def mel_centre_hz(n_mels: int, sr_hz: int) -> np.ndarray:
    """Centre frequency (Hz) of each band of :func:`mel_filters` ``[n_mels]``."""
    return _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr_hz / 2.0), n_mels + 2))[1:-1]


@lru_cache(maxsize=8)
def mel_filters(sr_hz: int, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """librosa's Slaney-normalised mel filter bank over 0 … ``sr_hz / 2``, ``[n_mels, 1 + n_fft // 2]``
    float32, as ``librosa.filters.mel`` (which is not imported: it loads ``librosa.util.utils``,
    whose gufuncs compile for about 25 s on a fresh installation)."""
    fft_hz = np.fft.rfftfreq(n_fft, d=1.0 / sr_hz)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr_hz / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_hz)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)).astype(np.float32)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None].astype(np.float32)
    return weights


@lru_cache(maxsize=8)
def chroma_filters(sr_hz: int, n_fft: int) -> np.ndarray:
    """librosa's 12-bin chroma filter bank at tuning 0 (Gaussian bumps per semitone, weighted
    around octave 5, starting at C), ``[12, 1 + n_fft // 2]`` float32, as
    ``librosa.filters.chroma`` (not imported, for the reason given in :func:`mel_filters`)."""
    n_chroma = 12
    freqs = np.linspace(0, sr_hz, n_fft, endpoint=False)[1:]
    bins = n_chroma * np.log2(freqs / (440.0 / 16))
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))
    widths = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1]))
    half = np.round(n_chroma / 2)
    d = np.remainder(np.subtract.outer(bins, np.arange(n_chroma, dtype=np.float64)).T + half + 10 * n_chroma,
                     n_chroma) - half
    wts = np.exp(-0.5 * (2 * d / widths[None, :]) ** 2)
    wts /= np.sqrt((wts ** 2).sum(axis=0, keepdims=True))
    wts *= np.exp(-0.5 * ((bins / n_chroma - 5.0) / 2.0) ** 2)[None, :]
    wts = np.roll(wts, -3, axis=0)
    return np.ascontiguousarray(wts[:, : 1 + n_fft // 2], dtype=np.float32)


def n_fft_of(power: np.ndarray) -> int:
    """The FFT size a spectrogram ``[bins, frames]`` was made with."""
    return 2 * (power.shape[0] - 1)


def mel_power(power: np.ndarray, *, sr_hz: int, n_mels: int = 128) -> np.ndarray:
    """Mel power spectrogram ``[n_mels, frames]`` of a power spectrogram, as
    ``librosa.feature.melspectrogram(S=power)``."""
    return mel_filters(sr_hz, n_fft_of(power), n_mels) @ power


def power_to_db(power: np.ndarray, *, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """Decibels re 1.0, floored ``top_db`` below the peak, as ``librosa.power_to_db``."""
    db = 10.0 * np.log10(np.maximum(amin, power))
    if top_db is not None and db.size:
        db = np.maximum(db, db.max() - top_db)
    return db


def onset_strength(mel_db: np.ndarray, *, n_fft: int = N_FFT, hop_length: int = 512) -> np.ndarray:
    """Spectral flux onset envelope ``[frames]`` of a dB mel spectrogram, as
    ``librosa.onset.onset_strength(S=mel_db)``: the mean positive difference to the previous
    frame, delayed by one frame plus half a window so it lines up with centred frames."""
    frames = mel_db.shape[1]
    flux = np.maximum(0.0, mel_db[:, 1:] - mel_db[:, :-1]).mean(axis=0)
    pad = 1 + n_fft // (2 * hop_length)
    return np.concatenate([np.zeros(pad, flux.dtype), flux])[:frames]


def rms(y: np.ndarray, *, frame_length: int = N_FFT, hop_length: int = 512) -> np.ndarray:
    """RMS energy per frame ``[frames]`` float32, as ``librosa.feature.rms(y=y)`` (centred,
    zero-padded frames); from a running sum, so no ``[frames, frame_length]`` copy is made."""
    padded = np.pad(np.asarray(y, np.float64), frame_length // 2)
    n = 1 + (len(padded) - frame_length) // hop_length if len(padded) >= frame_length else 0
    total = np.concatenate([[0.0], np.cumsum(padded * padded)])
    starts = np.arange(n) * hop_length
    power = np.maximum(total[starts + frame_length] - total[starts], 0.0) / frame_length
    return np.sqrt(power).astype(np.float32)


def chroma(power: np.ndarray, *, sr_hz: int) -> np.ndarray:
    """Chroma ``[12, frames]`` of a power spectrogram, each frame scaled to a maximum of 1, as
    ``librosa.feature.chroma_stft(S=power, tuning=0)``."""
    raw = chroma_filters(sr_hz, n_fft_of(power)) @ power
    peak = np.abs(raw).max(axis=0, keepdims=True)
    peak[peak < np.finfo(raw.dtype).tiny] = 1.0
    return raw / peak


def mfcc(mel_db: np.ndarray, *, n_mfcc: int) -> np.ndarray:
    """MFCCs ``[n_mfcc, frames]`` of a dB mel spectrogram, as ``librosa.feature.mfcc(S=mel_db)``
    (orthonormal DCT-II)."""
    return scipy.fft.dct(mel_db, axis=0, type=2, norm="ortho")[:n_mfcc]


def time_to_frames(times_s: np.ndarray, *, sr_hz: int, hop_length: int) -> np.ndarray:
    """Frame index of each time, as ``librosa.time_to_frames`` (a frame's own start time maps
    back to it: librosa's truncation can land one sample short after the float round trip)."""
    samples = (np.asarray(times_s, np.float64) * sr_hz + 1e-6).astype(int)
    return np.floor(samples // hop_length).astype(int)


def sync_mean(data: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Mean of ``data`` ``[D, F]`` over the frame spans between the boundaries ``frames`` (and
    0 and ``F``; none without boundaries), ``[D, spans]``, as ``librosa.util.sync(data, frames, aggregate=np.mean, pad=True)``."""
    n = data.shape[1]
    if len(frames) == 0:  # as librosa: no boundaries, no spans
        return data[:, :0]
    bounds = np.unique(np.clip(np.concatenate([[0], np.asarray(frames, int), [n]]), 0, n))
    starts, ends = bounds[:-1], bounds[1:]
    sums = np.add.reduceat(data, starts, axis=1) if len(starts) else np.zeros((data.shape[0], 0), data.dtype)
    return (sums / (ends - starts)).astype(data.dtype, copy=False)
