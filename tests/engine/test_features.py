"""Model inputs: log-mel against librosa, clip cutting, frame clips from real footage."""
from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.features import MelConfig, frame_clips, log_mel, mel_clips


def test_log_mel_matches_librosa(music_files):
    y = media.decode_audio(music_files[0], sr_hz=16000, offset_s=30.0, max_duration_s=5.0)
    cfg = MelConfig()
    ours = log_mel(y, config=cfg).numpy()
    ref = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                         win_length=400, window="hann", center=True, pad_mode="constant",
                                         power=2.0, n_mels=80)
    ref = np.log(np.maximum(ref, 1e-6)).T
    assert ours.shape == ref.shape == (501, 80)
    np.testing.assert_allclose(ours[2:-2], ref[2:-2], atol=1e-3)


def test_mel_clips_shape_and_padding(music_files):
    y = media.decode_audio(music_files[1], sr_hz=16000, max_duration_s=10.0)
    clips = mel_clips(y)
    assert clips.shape == (3, 400, 80)  # 10 s → 4 + 4 + 2 (padded)
    assert torch.all(clips[2, 210:] == clips.min())
    long = mel_clips(np.zeros(16000 * 60, np.float32))
    assert long.shape[0] == 7  # the paper's 7-clip cap


def test_frame_clips_from_real_footage(footage_dir):
    fr = media.decode_frames(footage_dir / "vtest.avi", fps=5, width_px=160, max_duration_s=10.0)
    clips = frame_clips(fr.frames, fr.times_s, size_px=64)
    assert clips.shape == (3, 4, 64, 64) and clips.dtype == torch.float32
    assert 0.0 <= float(clips.min()) and float(clips.max()) <= 1.0 and float(clips.std()) > 0.05
    # Frames within a clip are distinct moments of the video.
    assert float((clips[0, 0] - clips[0, 3]).abs().mean()) > 0.001
