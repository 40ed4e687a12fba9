"""Per-clip periodicity features on real media: the demo video was cut on its track's beats."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bgmatch.engine.analysis import media
from bgmatch.engine.learned.inputs import FeatureConfig, video_inputs
from bgmatch.engine.learned.models import MatchingConfig, MatchingModel
from bgmatch.engine.analysis.motion import VideoAnalysis
from bgmatch.engine.analysis.periodicity import (DEFAULT_PERIODICITY, LEVELS, PERIODICITY_DIM, music_periodicity,
                                        video_periodicity)
from bgmatch.engine.analysis.rhythm import MusicAnalysis, analyze_music

REPO = Path(__file__).resolve().parents[2]
LAGS = DEFAULT_PERIODICITY.lags_s


@pytest.fixture(scope="module")
def demo() -> dict:
    return json.loads((REPO / "assets" / "demo" / "video.json").read_text())


@pytest.fixture(scope="module")
def nebula(demo) -> MusicAnalysis:
    return analyze_music(media.decode_audio(REPO / "assets" / "demo" / demo["track"], sr_hz=22050), sr_hz=22050)


def _off_grid(lag_s: float, period_s: float) -> float:
    """Distance (s) of ``lag_s`` from the nearest whole multiple of ``period_s``."""
    k = max(1, round(lag_s / period_s))
    return abs(lag_s - k * period_s)


def test_music_periodicity_peaks_at_the_beat_period_whatever_the_phase(demo, nebula):
    period = 60.0 / nebula.tempo_bpm
    starts = demo["offset_s"] + 4.0 * np.arange(6)
    features = music_periodicity(nebula, starts, clip_s=4.0)
    assert features.shape == (6, PERIODICITY_DIM) and features.dtype == np.float32
    autocorrelation = features[:, LEVELS:].mean(axis=0)
    for lag in LAGS[np.argsort(autocorrelation)[::-1][:3]]:  # the three strongest lags lie on the beat grid
        assert _off_grid(lag, period) <= DEFAULT_PERIODICITY.lag_step_s, (lag, period)
    shifted = music_periodicity(nebula, starts + 0.23, clip_s=4.0)  # a window that starts between beats
    cosine = np.sum(features[:, LEVELS:] * shifted[:, LEVELS:], axis=1) / (
        np.linalg.norm(features[:, LEVELS:], axis=1) * np.linalg.norm(shifted[:, LEVELS:], axis=1))
    assert cosine.min() > 0.95
    # beats per second of a clip: the tempo
    assert np.median(features[:, 2]) == pytest.approx(1.0 / period, abs=0.3)


def test_video_periodicity_of_an_edit_cut_on_beats_lies_on_the_music_beat_grid(demo, nebula):
    inputs = video_inputs(REPO / "assets" / "demo" / "video.mp4", config=FeatureConfig())
    assert inputs.periodicity.shape == (len(inputs.frames), PERIODICITY_DIM)
    autocorrelation = inputs.periodicity[:, LEVELS:].mean(axis=0)
    best = LAGS[int(np.argmax(autocorrelation))]
    assert _off_grid(best, 60.0 / nebula.tempo_bpm) <= 2 * DEFAULT_PERIODICITY.lag_step_s, best
    cuts_per_s = inputs.periodicity[:, 1]
    assert cuts_per_s.sum() * 4.0 == pytest.approx(len(inputs.motion.cut_times_s), abs=1)


def test_a_regular_cut_train_peaks_at_its_interval():
    times = np.arange(0, 20, 0.08)
    analysis = VideoAnalysis(20.0, times, np.ones(len(times), np.float32), np.arange(0.5, 20, 0.72), 160)
    features = video_periodicity(analysis, 5, clip_s=4.0)
    assert LAGS[int(np.argmax(features[2, LEVELS:]))] == pytest.approx(0.72, abs=0.04)
    assert features[2, 0] == pytest.approx(1.0) and features[2, 1] == pytest.approx(5 / 4.0, abs=0.26)


def test_silence_and_clips_past_the_end_give_zeros_not_nan():
    frames = 200
    silent = MusicAnalysis(frames / 43.0, 43.0, np.zeros(frames, np.float32), np.zeros(frames, np.float32),
                           np.zeros(0), 120.0)
    features = music_periodicity(silent, np.array([0.0, 100.0]), clip_s=4.0)
    assert np.isfinite(features).all() and not features.any()
    still = VideoAnalysis(4.0, np.arange(0, 4, 0.1), np.zeros(40, np.float32), np.zeros(0), 160)
    assert not video_periodicity(still, 3, clip_s=4.0).any()


def test_matching_model_embeds_periodicity_only_where_configured():
    config = MatchingConfig(music_dim=16, video_dim=16, dim=8, n_heads=2, text_dim=4, periodicity_dim=PERIODICITY_DIM)
    model = MatchingModel(config).eval()
    clips = torch.randn(2, 3, 16)
    periodicity = torch.randn(2, 3, PERIODICITY_DIM)
    with pytest.raises(ValueError, match="music periodicity"):
        model.encode_music(clips)
    with torch.no_grad():
        a = model.encode_music(clips, periodicity=periodicity)
        b = model.encode_music(clips, periodicity=torch.zeros_like(periodicity))
    assert not torch.allclose(a, b)  # it changes the embedding
    no_rhythm = MatchingModel(MatchingConfig(music_dim=16, video_dim=16, dim=8, n_heads=2, text_dim=4,
                                             periodicity_dim=PERIODICITY_DIM, use_rhythm_tokens=False))
    assert no_rhythm.music_periodicity is None and no_rhythm.video_periodicity is not None
    no_rhythm.encode_music(clips)  # no rhythm information on the music side: none is needed
