"""Audio augmentation for training the beat tracker: gain, EQ, noise and a synthetic room.

Drawn afresh for every training excerpt; none of it moves a beat, so the ground truth is kept.
scipy does the filtering and convolution; the room is exponentially decaying noise (a common
stand-in for a measured impulse response, of which none that may be shipped is at hand).
"""
from __future__ import annotations

import numpy as np
from scipy import signal


def augment_audio(y: np.ndarray, *, sr_hz: int, rng: np.random.Generator) -> np.ndarray:
    """A randomly coloured copy of mono ``y`` (``[n]`` float32), peak-normalised to 0.1–1.0.

    Each step is applied with probability about 0.5: a low- or high-shelf-like tilt (Butterworth
    low/high pass mixed back in, ±9 dB), a room (decay 0.2–1.2 s, 10–40 % wet), white or pink
    noise at 15–40 dB SNR; then a gain.
    """
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        return y.astype(np.float32)
    if rng.random() < 0.5:
        kind = "lowpass" if rng.random() < 0.5 else "highpass"
        cutoff = float(rng.uniform(300, 3000) if kind == "lowpass" else rng.uniform(200, 2000))
        sos = signal.butter(2, cutoff, btype=kind, fs=sr_hz, output="sos")
        part = signal.sosfilt(sos, y)
        boost = 10 ** (rng.uniform(-9, 9) / 20) - 1.0
        y = y + boost * part
    if rng.random() < 0.5:
        decay_s = float(rng.uniform(0.2, 1.2))
        n = int(decay_s * sr_hz)
        t = np.arange(n) / sr_hz
        ir = rng.standard_normal(n) * np.exp(-6.9 * t / decay_s)  # -60 dB at decay_s
        ir /= np.sqrt(np.sum(ir**2)) + 1e-12
        wet = signal.fftconvolve(y, ir)[: len(y)]
        mix = float(rng.uniform(0.1, 0.4))
        y = (1 - mix) * y + mix * wet
    if rng.random() < 0.5:
        noise = rng.standard_normal(len(y))
        if rng.random() < 0.5:  # pink: 1/f power, by filtering white noise's spectrum
            spec = np.fft.rfft(noise)
            spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1))
            noise = np.fft.irfft(spec, n=len(y))
        snr_db = float(rng.uniform(15, 40))
        power = float(np.mean(y**2)) + 1e-12
        noise *= np.sqrt(power / (np.mean(noise**2) + 1e-12) / 10 ** (snr_db / 10))
        y = y + noise
    peak = float(np.abs(y).max()) + 1e-12
    return (y * (rng.uniform(0.1, 1.0) / peak)).astype(np.float32)
