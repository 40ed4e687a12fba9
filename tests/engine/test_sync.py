"""The analysis-only synchrony score recovers the offset a video was cut at."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.motion import VideoAnalysis
from bgmatch.engine.analysis.rhythm import analyze_music
from bgmatch.engine.analysis.sync import GRID_HZ, best_offset, score_offsets, track_curves, video_curves


@pytest.fixture(scope="module")
def music(music_files):
    y = media.decode_audio(music_files[3], sr_hz=22050, max_duration_s=90.0)
    return analyze_music(y, sr_hz=22050)


def _video_cut_on_beats(music, offset_s: float, duration_s: float, every: int, rng) -> VideoAnalysis:
    beats = music.beat_times_s[(music.beat_times_s > offset_s) & (music.beat_times_s < offset_s + duration_s)]
    cuts = beats[::every] - offset_s + rng.normal(0, 0.03, len(beats[::every]))
    times = np.arange(0, duration_s, 0.04)
    motion = np.interp(times, np.arange(len(music.rms)) / music.frame_rate_hz - offset_s, music.rms) * 100
    return VideoAnalysis(duration_s, times, motion.astype(np.float32), np.clip(cuts, 0, duration_s - 0.05), 160)


def test_best_offset_is_the_cut_offset(music):
    rng = np.random.default_rng(0)
    video = _video_cut_on_beats(music, 37.0, 20.0, 2, rng)
    scores = score_offsets(track_curves(music), video_curves(video))
    assert len(scores["total"]) == int(np.ceil(music.duration_s * GRID_HZ)) - int(np.ceil(20.0 * GRID_HZ)) + 1
    offset, total, parts = best_offset(scores)
    # Music repeats, so judge the offset by how the cuts land on beats there, not by equality.
    shifted = video.cut_times_s + offset
    dist = np.abs(shifted[:, None] - music.beat_times_s[None, :]).min(axis=1)
    assert np.median(dist) < 0.06
    assert parts["beat"] > 0.2 and parts["energy"] > 0.5
    true_i = int(round(37.0 * GRID_HZ))
    assert total >= scores["total"][true_i] - 1e-6
    # Chance level is much lower.
    assert np.median(scores["total"]) < total - 0.3


def test_track_shorter_than_video_scores_one_offset(music):
    video = _video_cut_on_beats(music, 0.0, 20.0, 1, np.random.default_rng(1))
    short = type(music)(10.0, music.frame_rate_hz, music.onset_envelope[:430], music.rms[:430],
                        music.beat_times_s[music.beat_times_s < 10], music.tempo_bpm)
    scores = score_offsets(track_curves(short), video_curves(video))
    assert len(scores["total"]) == 1 and np.isfinite(scores["total"]).all()
