"""engine.embed: bundles, learned embeddings of real media, and the learned score at an offset."""
from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from bgmatch.engine.analysis import media
from bgmatch.engine.learned.inputs import FeatureConfig, music_clip_inputs, music_inputs_from_wave, rhythm_tokens_at
from bgmatch.engine.learned.bundle import ModelBundle, ScoreConfig
from bgmatch.engine.errors import ConfigError, ModelError
from bgmatch.engine.analysis.features import mel_clips
from bgmatch.engine.analysis.rhythm import rhythm_tokens

FEATURES = FeatureConfig(frame_px=64)


@pytest.fixture(scope="module")
def bundle_dir(tiny_bundle_dir):
    return tiny_bundle_dir


@pytest.fixture(scope="module")
def bundle(bundle_dir):
    return ModelBundle.load(bundle_dir, device="cpu")


@pytest.fixture(scope="module")
def track(music_files):
    return next(m for m in music_files if media.probe(m).duration_s > 40)


def test_bundle_round_trip(bundle, bundle_dir):
    assert bundle.features == FEATURES and bundle.extra == {"note": "test"}
    assert bundle.device == torch.device("cpu") and len(bundle.version) == 16
    assert not bundle.music.training and not bundle.matching.training
    assert ModelBundle.load(bundle_dir).device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert ModelBundle.load(bundle_dir, device="cpu").version == bundle.version


def test_bundle_errors_name_the_folder(tmp_path):
    with pytest.raises(ModelError, match="not a model bundle"):
        ModelBundle.load(tmp_path)
    (tmp_path / "bundle.json").write_text('{"format": "other"}')
    with pytest.raises(ModelError, match="not a bgmatch bundle manifest"):
        ModelBundle.load(tmp_path)


def test_music_inputs_match_the_feature_functions(track):
    y = media.decode_audio(track, sr_hz=22050, max_duration_s=13.0)
    inputs = music_inputs_from_wave(y, sr_hz=22050, config=FEATURES)
    clips, tokens = music_clip_inputs(inputs, np.array([0.0, 4.0, 8.0, 12.0]), config=FEATURES)
    expected = mel_clips(librosa.resample(y, orig_sr=22050, target_sr=16000), config=FEATURES.mel()).numpy()
    np.testing.assert_allclose(clips, expected, atol=1e-5)  # the last clip is padded alike
    np.testing.assert_array_equal(tokens, rhythm_tokens(inputs.analysis, clip_s=4.0, n_clips=4))
    shifted = rhythm_tokens_at(inputs.analysis, np.array([1.0, 5.0, 2.0]), clip_s=4.0)
    assert shifted.shape == (3, 3) and (shifted[:, 0] <= 17).all()
    beats = inputs.analysis.beat_times_s
    assert shifted[0, 0] == min(int(((beats >= 1.0) & (beats < 5.0)).sum()), 17)


def test_embed_music_and_video_then_score_offsets(bundle, track, footage_dir):
    music = bundle.embed_music(track, hop_s=1.0, max_duration_s=30.0)
    assert music.clip_features.shape == (30, 32) and music.rhythm_tokens.shape == (30, 3)
    np.testing.assert_allclose(music.starts_s, np.arange(30.0))
    video = bundle.embed_video(footage_dir / "cup.mp4")  # 8.1 s → 3 clips
    assert video.clip_features.shape == (3, 32) and video.flow_tokens.shape == (3,)
    offsets, scores = bundle.score_offsets(video, music)
    assert offsets.shape == scores.shape == (23,) and np.isfinite(scores).all()  # 8.1 s fit from 0..22 s (± hop/2)
    assert bundle.similarity(video, music, 7.0) == pytest.approx(float(scores[7]), abs=1e-5)
    best_offset, best_score = bundle.best_offset(video, music)
    assert best_score == pytest.approx(float(scores.max())) and best_offset == offsets[np.argmax(scores)]
    assert scores.std() > 0  # windows at different offsets differ
    windows_at, windows = bundle.music_window_embeddings(music, n_clips=3, offsets_s=offsets)
    query = bundle.video_query_embedding(video)
    np.testing.assert_allclose(np.linalg.norm(windows, axis=1), 1.0, atol=1e-5)
    pooled_only = ModelBundle(bundle.music, bundle.video, bundle.matching, features=FEATURES, device="cpu",
                              score=ScoreConfig(pooled_weight=1.0, text_weight=0.0))
    np.testing.assert_allclose(pooled_only.score_offsets(video, music)[1], windows @ query, atol=1e-5)
    restored = type(music).from_arrays(music.arrays())
    assert restored.clip_features.dtype == np.float32 and restored.duration_s == music.duration_s
    with pytest.raises(ConfigError, match="must divide clip_s"):
        bundle.embed_music(track, hop_s=3.0, max_duration_s=10.0)
