"""Model inputs: log-mel clips for music, grayscale frame clips for video.

Log-mel uses ``torch.stft`` with librosa's mel filter bank (runs on CUDA too); torchaudio is
not used because its PyPI wheels do not import beside the CPU torch build (DESIGN §3).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .spectra import mel_filters


@dataclass(frozen=True)
class MelConfig:
    """Log-mel parameters (paper: 16 kHz, 80 bins, 25 ms window, 10 ms hop, 4 s clips)."""

    sr_hz: int = 16000
    n_mels: int = 80
    win_s: float = 0.025
    hop_s: float = 0.010
    clip_s: float = 4.0
    max_clips: int = 7

    @property
    def hop_length(self) -> int:
        return int(round(self.hop_s * self.sr_hz))

    @property
    def n_fft(self) -> int:
        return int(2 ** np.ceil(np.log2(self.win_s * self.sr_hz)))

    @property
    def frames_per_clip(self) -> int:
        return int(round(self.clip_s / self.hop_s))


@lru_cache(maxsize=8)
def _mel_basis(sr_hz: int, n_fft: int, n_mels: int) -> torch.Tensor:
    return torch.from_numpy(mel_filters(sr_hz, n_fft, n_mels)).float()


def log_mel(y: np.ndarray | torch.Tensor, *, config: MelConfig = MelConfig(), device: str | torch.device = "cpu") -> torch.Tensor:
    """Log-mel spectrogram of mono audio ``[n]`` → ``[frames, n_mels]`` (natural log, floor 1e-6)."""
    wave = torch.as_tensor(y, dtype=torch.float32, device=device)
    win = int(round(config.win_s * config.sr_hz))
    spec = torch.stft(wave, n_fft=config.n_fft, hop_length=config.hop_length, win_length=win,
                      window=torch.hann_window(win, device=wave.device), center=True, return_complex=True)
    power = spec.abs() ** 2  # [freq, frames]
    mel = _mel_basis(config.sr_hz, config.n_fft, config.n_mels).to(wave.device) @ power
    return torch.log(mel.clamp_min(1e-6)).T.contiguous()


def mel_clips(y: np.ndarray, *, config: MelConfig = MelConfig(), device: str | torch.device = "cpu") -> torch.Tensor:
    """Log-mel of ``y`` cut into consecutive clips ``[n_clips, frames_per_clip, n_mels]``.

    At most ``config.max_clips`` clips; the last partial clip is padded with the floor value.
    """
    mel = log_mel(y, config=config, device=device)
    f = config.frames_per_clip
    n = max(1, min(config.max_clips, int(np.ceil(mel.shape[0] / f))))
    out = torch.full((n * f, config.n_mels), float(np.log(1e-6)), device=mel.device)
    take = min(mel.shape[0], n * f)
    out[:take] = mel[:take]
    return out.view(n, f, config.n_mels)


def frame_clips(frames: np.ndarray, times_s: np.ndarray, *, clip_s: float = 4.0, frames_per_clip: int = 4,
                size_px: int = 128, max_clips: int = 7) -> torch.Tensor:
    """Video frames sampled evenly within each clip: ``[n_clips, frames_per_clip, size_px, size_px]`` in [0, 1].

    ``frames``: ``[T, H, W]`` uint8 grayscale with presentation ``times_s``. The paper takes
    1 fps × 4 s = 4 frames per clip at 224 px; frames are resized (not cropped) to a square.
    """
    import cv2

    duration = float(times_s[-1]) + 1e-3 if len(times_s) else 0.0
    n = max(1, min(max_clips, int(np.ceil(duration / clip_s))))
    want = (np.arange(n)[:, None] * clip_s + (np.arange(frames_per_clip)[None, :] + 0.5) * clip_s / frames_per_clip)
    idx = np.clip(np.searchsorted(times_s, want.ravel()), 0, len(frames) - 1)
    picked = np.stack([cv2.resize(frames[i], (size_px, size_px), interpolation=cv2.INTER_AREA) for i in idx])
    return torch.from_numpy(picked.astype(np.float32) / 255.0).view(n, frames_per_clip, size_px, size_px)
