"""Beat tracking and rhythm tokens, against a click track of known tempo and on real music."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.analysis.rhythm import (BEAT_COUNT_CLASSES, BEAT_INTERVAL_CLASSES, ONSET_STRENGTH_CLASSES,
                                   MusicAnalysis, analyze_music, rhythm_tokens)

SR = 22050


def click_track(bpm: float, duration_s: float, music: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Clicks at ``bpm`` (optionally over real music at low level); returns (signal, beat times)."""
    n = int(duration_s * SR)
    y = np.zeros(n, np.float32) if music is None else 0.3 * music[:n].copy()
    beats = np.arange(0.5, duration_s - 0.1, 60.0 / bpm)
    click = np.sin(2 * np.pi * 1500 * np.arange(400) / SR) * np.exp(-np.arange(400) / 60)
    for t in beats:
        i = int(t * SR)
        y[i:i + 400] += click[: n - i].astype(np.float32)
    return y, beats


@pytest.mark.parametrize("bpm", [90.0, 128.0])
def test_click_track_tempo_and_beats(bpm, music_files):
    music = media.decode_audio(music_files[2], sr_hz=SR, max_duration_s=20.0)
    y, truth = click_track(bpm, 20.0, music)
    a = analyze_music(y, sr_hz=SR)
    assert a.tempo_bpm == pytest.approx(bpm, rel=0.04)
    # Every detected beat (after the first second) lies within 50 ms of a true click.
    found = a.beat_times_s[a.beat_times_s > 1.0]
    dist = np.abs(found[:, None] - truth[None, :]).min(axis=1)
    assert np.median(dist) < 0.03 and len(found) > 0.8 * len(truth[truth > 1.0])


def test_real_music_analysis_shapes(music_files):
    y = media.decode_audio(music_files[5], sr_hz=SR, max_duration_s=30.0)
    a = analyze_music(y, sr_hz=SR)
    assert a.duration_s == pytest.approx(30.0, abs=0.01)
    assert len(a.onset_envelope) == len(a.rms) == pytest.approx(30 * SR / 512, abs=2)
    assert 40 < a.tempo_bpm < 240 and len(a.beat_times_s) > 10
    assert MusicAnalysis.from_arrays(a.arrays()).tempo_bpm == a.tempo_bpm


def test_rhythm_tokens_follow_the_paper_vocabulary():
    y, _ = click_track(120.0, 16.0)
    a = analyze_music(y, sr_hz=SR)
    tok = rhythm_tokens(a, clip_s=4.0)
    assert tok.shape == (4, 3)
    assert (tok[:, 0] < BEAT_COUNT_CLASSES).all() and (tok[:, 1] < ONSET_STRENGTH_CLASSES).all()
    assert (tok[:, 2] < BEAT_INTERVAL_CLASSES).all()
    # 120 BPM: 8 beats per 4 s clip, 0.5 s apart → interval bin int(0.5 / 4 * 64) = 8. The
    # neural tracker may also place the next beat on the file's last frames (16 s, no click there).
    assert list(tok[1:3, 0]) == [8, 8] and tok[3, 0] in (8, 9)
    assert list(tok[1:, 2]) == [8, 8, 8]
    silent = MusicAnalysis(4.0, a.frame_rate_hz, a.onset_envelope[:100], a.rms[:100], np.array([1.0]), 0.0)
    assert rhythm_tokens(silent)[0, 2] == BEAT_INTERVAL_CLASSES - 1  # fewer than two beats


def test_warm_up_leaves_a_compiled_cache():
    from bgmatch.engine.analysis.rhythm import RhythmConfig, beat_tracker_is_cold, warm_up

    assert not beat_tracker_is_cold(RhythmConfig(beats="neural"))  # the neural tracker compiles nothing
    librosa_beats = RhythmConfig(beats="librosa")
    warm_up(librosa_beats)
    assert not beat_tracker_is_cold(librosa_beats)


def test_neural_beats_are_the_default_and_the_trackers_own(music_files):
    from bgmatch.engine.analysis.beats import track_beats
    from bgmatch.engine.analysis.rhythm import RhythmConfig

    y = media.decode_audio(music_files[5], sr_hz=SR, max_duration_s=30.0)
    neural = analyze_music(y, sr_hz=SR, config=RhythmConfig(beats="neural"))
    track = track_beats(y, sr_hz=SR)
    np.testing.assert_allclose(neural.beat_times_s, track.beat_times_s)
    np.testing.assert_allclose(neural.downbeat_times_s, track.downbeat_times_s)
    assert neural.meter == track.meter and neural.tempo_bpm == pytest.approx(track.tempo_bpm)
    assert RhythmConfig().beats == "neural"
    default = analyze_music(y, sr_hz=SR)
    np.testing.assert_allclose(default.beat_times_s, neural.beat_times_s)
    old = analyze_music(y, sr_hz=SR, config=RhythmConfig(beats="librosa"))
    np.testing.assert_allclose(old.onset_envelope, neural.onset_envelope)  # same onsets either way
    assert not np.array_equal(old.beat_times_s, neural.beat_times_s)
    assert set(np.round(old.downbeat_times_s, 6)) <= set(np.round(old.beat_times_s, 6))
    with pytest.raises(ConfigError, match="rhythm.beats must be one of neural, librosa"):
        RhythmConfig(beats="madmom")
