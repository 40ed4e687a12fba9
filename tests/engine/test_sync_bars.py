"""The synchrony score's bar, phrase and hit rewards on a real track's analysis."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.motion import VideoAnalysis
from bgmatch.engine.analysis.rhythm import RhythmConfig, analyze_music
from bgmatch.engine.analysis.sync import GRID_HZ, SyncConfig, hit_times, score_offsets, track_curves, video_curves

SR = 22050


@pytest.fixture(scope="module")
def music(demo_music):
    return analyze_music(media.decode_audio(demo_music[2], sr_hz=SR, max_duration_s=40.0), sr_hz=SR)


def _video(cut_times_s: np.ndarray, duration_s: float) -> VideoAnalysis:
    times = np.arange(0.0, duration_s, 1 / 25)
    return VideoAnalysis(duration_s, times, np.zeros(len(times), np.float32), np.asarray(cut_times_s), 224)


def test_bar_reward_prefers_cuts_on_downbeats(music):
    downs, beats = music.downbeat_times_s, music.beat_times_s
    assert len(downs) > 6
    start = downs[2]
    cuts = downs[3:6] - start  # an edit cut on three bar lines
    video = _video(cuts, float(cuts[-1] + 1.0))
    config = SyncConfig(bar_weight=1.0, phrase_weight=0.0)
    scores = score_offsets(track_curves(music, config=config), video_curves(video, config=config), config=config)
    on_bar = int(round(start * GRID_HZ))
    i = int(np.searchsorted(beats, start))
    off_bar = int(round(beats[i + 1] * GRID_HZ))  # the same cut pattern one beat later: on beats, off bars
    assert scores["bar"][on_bar] > scores["bar"][off_bar] + 0.5
    assert abs(scores["beat"][on_bar] - scores["beat"][off_bar]) < 1.0  # the beat part cannot tell them apart
    assert "phrase" not in scores  # a part that weighs 0 is not computed


def test_bar_and_phrase_parts_add_to_the_total_by_their_weights(music):
    video = _video(np.array([1.0, 2.5, 4.0]), 5.0)
    plain = SyncConfig(bar_weight=0.0, phrase_weight=0.0)
    base = score_offsets(track_curves(music, config=plain), video_curves(video, config=plain), config=plain)
    assert set(base) == {"beat", "onset", "energy", "total"}
    assert set(score_offsets(track_curves(music), video_curves(video))) == {"beat", "onset", "energy", "bar", "total"}
    weighted = SyncConfig(bar_weight=0.5, phrase_weight=0.5)
    scores = score_offsets(track_curves(music, config=weighted), video_curves(video, config=weighted), config=weighted)
    assert np.allclose(scores["total"], base["total"] + 0.5 * scores["bar"] + 0.5 * scores["phrase"], atol=1e-5)
    assert (scores["bar"] > -1e-4).all() and (scores["phrase"] > -1e-4).all()  # FFT round-off only


def test_hit_reward_finds_an_edit_cut_on_audible_hits_off_the_beat_grid(music, demo_music):
    config = SyncConfig(hit_weight=1.0)
    hits = hit_times(music, config=config)
    assert 10 < len(hits) < music.duration_s * 8  # prominent peaks, not every frame
    env = music.onset_envelope
    at_hits = env[np.round(hits * music.frame_rate_hz).astype(int)]
    assert np.median(at_hits) > np.percentile(env, 90)  # the loudest onsets
    # librosa's beat grid: the neural one of this track sits on nearly all of its hits
    beats = analyze_music(media.decode_audio(demo_music[2], sr_hz=SR, max_duration_s=40.0), sr_hz=SR,
                          config=RhythmConfig(beats="librosa")).beat_times_s
    off_grid = np.array([h for h in hits if np.abs(beats - h).min() > 0.1])  # hits the beat grid misses
    assert len(off_grid) >= 4, "the real track should have hits between its beats"
    chosen = off_grid[1:5]
    start = chosen[0] - 0.7
    video = _video(chosen - start, float(chosen[-1] - start + 1.0))
    scores = score_offsets(track_curves(music, config=config), video_curves(video, config=config), config=config)
    true = int(round(start * GRID_HZ))
    assert scores["hit"][true] >= scores["hit"].max() - 1e-3  # the hits' offset is the hit part's best
    assert scores["hit"][true] > scores["hit"][true + 3] + 0.5  # 150 ms later it is much worse
    default = score_offsets(track_curves(music), video_curves(video))
    assert "hit" not in default and np.allclose(default["total"], scores["total"] - scores["hit"], atol=1e-5)


def test_onset_part_judges_a_track_against_its_own_onsets(music):
    """The onset part reads percentiles: a track whose onsets are a few loud spikes (the same
    envelope raised to the 4th power) scores exactly as the original, and events at random times
    score 0 on average, so the best of many offsets does not favour spiky tracks."""
    import dataclasses

    spiky = dataclasses.replace(music, onset_envelope=music.onset_envelope.astype(np.float64) ** 4)
    rng = np.random.default_rng(0)
    video = _video(np.sort(rng.uniform(0.5, 14.5, 12)), 15.0)
    plain = score_offsets(track_curves(music), video_curves(video))["onset"]
    assert np.allclose(score_offsets(track_curves(spiky), video_curves(video))["onset"], plain, atol=1e-6)
    assert abs(float(plain.mean())) < 0.05 and -0.5 <= plain.min() and plain.max() <= 0.5
    # The video's cuts on the track's own strongest onsets: far above what random cuts get.
    env = music.onset_envelope
    top = np.sort(np.argsort(env[: int(14 * music.frame_rate_hz)])[-12:]) / music.frame_rate_hz
    on_onsets = score_offsets(track_curves(music), video_curves(_video(top, 15.0)))["onset"]
    assert on_onsets[0] > plain.max() and on_onsets[0] > 0.3


def test_the_score_grid_curves_match_their_reference_formulas(music):
    """Max-pooling onto the grid is the per-cell maximum (as ``np.maximum.at`` gives it), and the
    onset percentiles are scipy's mean ranks of it."""
    from scipy.stats import rankdata

    from bgmatch.engine.analysis.sync import _percentile, _resample

    env = music.onset_envelope
    n = int(np.ceil(music.duration_s * GRID_HZ))
    idx = np.minimum((np.arange(len(env)) / music.frame_rate_hz * GRID_HZ).astype(int), n - 1)
    expected = np.full(n, -np.inf)
    np.maximum.at(expected, idx, env)
    pooled = _resample(env, music.frame_rate_hz, n, reduce="max")
    assert np.array_equal(pooled[np.isfinite(expected)], expected[np.isfinite(expected)].astype(np.float32))
    assert np.allclose(_percentile(pooled), rankdata(pooled) / n - 0.5, atol=1e-6)
    assert np.allclose(track_curves(music).onset_rank, rankdata(pooled) / n - 0.5, atol=1e-6)
