"""The synchrony score's bar and phrase rewards on a real track's analysis."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.motion import VideoAnalysis
from bgmatch.engine.analysis.rhythm import analyze_music
from bgmatch.engine.analysis.sync import GRID_HZ, SyncConfig, score_offsets, track_curves, video_curves

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
