"""The timeline overlay: curves on the video's time axis at an offset, and cut/beat alignment."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis.motion import VideoAnalysis
from bgmatch.engine.preview.overlay import cut_alignment, on_beat, overlay
from bgmatch.engine.analysis.rhythm import MusicAnalysis

RATE_HZ = 50.0


@pytest.fixture()
def video() -> VideoAnalysis:
    times = np.arange(0, 10, 0.04)
    motion = np.abs(np.sin(times)) * 40
    motion[100] = 10_000  # a flow spike must not flatten the curve
    return VideoAnalysis(10.0, times, motion.astype(np.float32), np.array([2.0, 4.02, 6.5]), 160)


@pytest.fixture()
def music() -> MusicAnalysis:
    n = int(60 * RATE_HZ)
    env = np.zeros(n, np.float32)
    env[int(20 * RATE_HZ)] = 5.0  # one onset at 20 s in the track
    beats = np.arange(0.0, 60.0, 0.5)
    return MusicAnalysis(60.0, RATE_HZ, env + 0.1, np.full(n, 0.1, np.float32), beats, 120.0)


def test_video_only(video):
    o = overlay(video)
    assert len(o.onset) == 0 and len(o.beat_times_s) == 0
    assert o.motion.max() == 1.0 and o.motion.min() >= 0.0
    assert np.median(o.motion) > 0.3  # the spike is clipped, the rest keeps its shape
    np.testing.assert_allclose(o.cut_times_s, video.cut_times_s)


def test_track_is_shifted_by_the_offset(video, music):
    o = overlay(video, music, offset_s=15.0)
    assert o.onset_times_s[0] == pytest.approx(0.0) and o.onset_times_s[-1] == pytest.approx(10.0, abs=0.05)
    peak = o.onset_times_s[int(np.argmax(o.onset))]
    assert peak == pytest.approx(5.0, abs=1 / RATE_HZ)  # the onset at 20 s in the track is 5 s into the video
    assert o.beat_times_s[0] == pytest.approx(0.0) and o.beat_times_s[-1] == pytest.approx(10.0)
    assert np.all((o.beat_times_s >= 0) & (o.beat_times_s <= 10))


def test_corrected_beats_replace_the_analysed_ones(video, music):
    o = overlay(video, music, offset_s=1.0, beat_times_s=np.array([1.25, 3.0, 100.0]))
    np.testing.assert_allclose(o.beat_times_s, [0.25, 2.0])


def test_cut_alignment():
    beats = np.arange(0, 10, 0.5)
    assert cut_alignment(np.array([2.0, 4.03, 6.25]), beats) == (2, 3)
    assert cut_alignment(np.array([2.0]), np.array([])) == (0, 1)
    assert cut_alignment(np.array([]), beats) == (0, 0)
    assert cut_alignment(np.array([0.1, 5.0]), np.array([0.12])) == (1, 2)


def test_on_beat_mask():
    beats = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(on_beat(np.array([0.0, 0.97, 2.5, 3.03, 9.0]), beats), [False, True, False, True, False])
