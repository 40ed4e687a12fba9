"""BeatNet's beat/downbeat CRNN in torch: log-filtered spectrogram in, activations at 50 fps out.

The network and its trained weights are BeatNet's (M. Heydari, F. Cwitkowitz, Z. Duan, "BeatNet:
CRNN and particle filtering for online joint beat downbeat and meter tracking", ISMIR 2021;
https://github.com/mjhydri/BeatNet, weights CC BY 4.0, see assets/LICENSES.md). BeatNet's own
package pins dependencies that do not install on Python 3.11, so the model is rebuilt here with
the same parameter names and the converted state dict is loaded into it. The weights file
(written by ``training/tools/convert_beatnet.py``) is one ``torch.save`` dict::

    {"format": "bgmatch-beatnet", "format_version": 1, "config": {BeatNetConfig field: int},
     "state_dict": {name: Tensor}, "extra": {"source", "source_sha256", "license", "attribution": str}}

Input features are what BeatNet computes with madmom (``LOG_SPECT``: 64 ms Hann frames every
20 ms at 22.05 kHz, magnitude STFT, 24-bands-per-octave logarithmic filterbank 30 Hz–17 kHz,
``log10(1 + x)``, stacked with its positive first difference: 272 values per frame). The
filterbank comes from madmom-infer (a BSD-2 reimplementation of madmom's DSP); framing, FFT, log
and difference are vectorised numpy below because madmom-infer's frame-by-frame Python STFT
loop costs more than the whole network, and the 100x-real-time budget has no room for it.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import scipy.fft
import torch
from madmom_infer.audio.filters import LogarithmicFilterbank
from madmom_infer.audio.spectrogram import _diff_frames
from madmom_infer.audio.stft import fft_frequencies
from torch import nn

from bgmatch.assets import asset_path

from ..errors import ModelError
from ..weights import load_payload

SR_HZ = 22050
"""Sample rate BeatNet's features are defined at."""
HOP = int(0.020 * SR_HZ)  # 441 samples: 20 ms, as BeatNet computes it
FRAME = int(0.064 * SR_HZ)  # 1411 samples: 64 ms
FPS_HZ = SR_HZ / HOP  # 50 frames per second
BANDS_PER_OCTAVE = 24
FMIN_HZ = 30.0
FMAX_HZ = 17000.0

FORMAT = "bgmatch-beatnet"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BeatNetConfig:
    """Shape of BeatNet's ``BDA`` network (``BDA(272, 150, 2)`` in BeatNet)."""

    dim_in: int = 272
    num_cells: int = 150
    num_layers: int = 2
    conv_out: int = 150
    kernel_size: int = 10


class BeatNetCRNN(nn.Module):
    """BeatNet's ``BDA``: per-frame conv + max-pool + linear, a 2-layer LSTM, 3 logits per frame.

    Parameter names match BeatNet's state dict (``conv1``, ``linear0``, ``lstm``, ``linear``).
    Logit order is BeatNet's: beat (not downbeat), downbeat, no beat.
    """

    def __init__(self, config: BeatNetConfig = BeatNetConfig()) -> None:
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv1d(1, 2, config.kernel_size)
        pooled = (config.dim_in - config.kernel_size + 1) // 2
        self.linear0 = nn.Linear(2 * pooled, config.conv_out)
        self.lstm = nn.LSTM(config.conv_out, config.num_cells, config.num_layers, batch_first=True)
        self.linear = nn.Linear(config.num_cells, 3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, T, 3]`` of features ``[B, T, dim_in]`` (LSTM state starts at zero)."""
        b, t, d = features.shape
        x = features.reshape(b * t, 1, d)
        x = nn.functional.max_pool1d(nn.functional.relu(self.conv1(x)), 2)
        x = self.linear0(x.flatten(1)).reshape(b, t, -1)
        x, _ = self.lstm(x)
        return self.linear(x)


@functools.lru_cache(maxsize=1)
def _filterbank() -> np.ndarray:
    """madmom's LogarithmicFilterbank as BeatNet configures it, ``[FRAME // 2, 136]`` float32."""
    bins_hz = fft_frequencies(FRAME >> 1, SR_HZ)
    bank = LogarithmicFilterbank(
        bins_hz, num_bands=BANDS_PER_OCTAVE, fmin=FMIN_HZ, fmax=FMAX_HZ, norm_filters=True, unique_filters=True
    )
    return np.asarray(bank, dtype=np.float32)


def beatnet_features(y: np.ndarray, *, sr_hz: int) -> np.ndarray:
    """BeatNet's input features of mono ``y`` (``[n]``, any rate): ``[T, 272]`` float32 at 50 fps.

    Frame ``i`` is centred on sample ``i * 441`` at 22.05 kHz (zero padded at both ends), so
    ``T = ceil(n_22k / 441)``; columns are 136 log-filtered magnitudes then their positive
    difference to the previous frame (zero for frame 0), as madmom computes them.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"beatnet_features needs mono audio of shape [n], got {y.shape}")
    if sr_hz != SR_HZ:
        from .spectra import resample

        y = resample(y, orig_sr=sr_hz, target_sr=SR_HZ)
    n_frames = int(np.ceil(len(y) / HOP))
    bank = _filterbank()
    if n_frames == 0:
        return np.zeros((0, 2 * bank.shape[1]), np.float32)
    half = FRAME // 2
    padded = np.zeros(half + n_frames * HOP + FRAME, np.float32)
    padded[half : half + len(y)] = y
    frames = np.lib.stride_tricks.sliding_window_view(padded, FRAME)[: n_frames * HOP : HOP]
    window = np.hanning(FRAME).astype(np.float32)
    # scipy's FFT keeps float32 (numpy's computes in float64): 6.8x faster here, 1.8e-7 relative difference
    spectrum = np.abs(scipy.fft.rfft(frames * window, axis=1)[:, : FRAME >> 1]).astype(np.float32)
    spec = np.log10(spectrum @ bank + 1.0, dtype=np.float32)
    lag = _diff_frames(0.5, hop_size=HOP, frame_size=FRAME, window=np.hanning(FRAME))
    diff = np.zeros_like(spec)
    diff[lag:] = np.maximum(spec[lag:] - spec[:-lag], 0.0)
    return np.hstack([spec, diff])


def default_weights_path() -> Path:
    """Where the shipped converted weights live (``assets/beats/beatnet.pt``)."""
    return asset_path("beats", "beatnet.pt")


def load_beatnet(path: str | os.PathLike[str] | None = None) -> BeatNetCRNN:
    """The converted BeatNet model at ``path`` (default: the shipped one), in eval mode, on CPU.

    Loads with ``torch.load(weights_only=True)``; a missing, foreign, tampered, newer-format
    or ill-fitting file raises ``ModelError("<path>: <reason>")``.
    """
    source = Path(path) if path is not None else default_weights_path()
    if not source.is_file():
        raise ModelError(f"{source}: no such BeatNet weights file")
    stat = source.stat()
    return _load_cached(str(source.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _load_cached(source: str, _mtime_ns: int, _size: int) -> BeatNetCRNN:
    payload = load_payload(source, what="weights")
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if not isinstance(payload, dict) or found != FORMAT:
        raise ModelError(f"{source}: not a bgmatch BeatNet weights file (format {found!r})")
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise ModelError(f"{source}: format_version {version!r} is not one this bgmatch reads ({FORMAT_VERSION})")
    config_dict = payload.get("config")
    names = {f.name for f in fields(BeatNetConfig)}
    if not isinstance(config_dict, dict) or set(config_dict) != names:
        raise ModelError(f"{source}: config must have exactly the keys {sorted(names)}")
    model = BeatNetCRNN(BeatNetConfig(**config_dict))
    try:
        model.load_state_dict(payload.get("state_dict"), strict=True)
    except (RuntimeError, TypeError, AttributeError) as error:
        raise ModelError(f"{source}: weights do not fit the BeatNet network: {str(error)[:300]}") from error
    model.eval()
    return model


def beat_activations(features: np.ndarray, model: BeatNetCRNN) -> np.ndarray:
    """Beat and downbeat probabilities ``[T, 2]`` float32 of features ``[T, 272]``.

    Softmax over BeatNet's three classes, keeping columns (beat, downbeat) as madmom's
    downbeat DBN expects them.
    """
    if len(features) == 0:
        return np.zeros((0, 2), np.float32)
    with torch.inference_mode():
        logits = model(torch.from_numpy(np.ascontiguousarray(features, np.float32))[None])[0]
        probs = torch.softmax(logits, dim=-1)[:, :2]
    return probs.numpy().astype(np.float32)
