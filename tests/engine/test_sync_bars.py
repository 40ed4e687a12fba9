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
    assert scores["phrase"].shape == scores["total"].shape


def test_default_weights_keep_the_score_as_it_was(music):
    video = _video(np.array([1.0, 2.5, 4.0]), 5.0)
    default = score_offsets(track_curves(music), video_curves(video))
    assert set(default) == {"beat", "onset", "energy", "total"}
    weighted = SyncConfig(bar_weight=0.5, phrase_weight=0.5)
    scores = score_offsets(track_curves(music, config=weighted), video_curves(video, config=weighted), config=weighted)
    assert np.allclose(scores["total"], default["total"] + 0.5 * scores["bar"] + 0.5 * scores["phrase"], atol=1e-5)
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
