"""The preview's drift policy, fed with simulated player positions."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.preview.playsync import DriftConfig, DriftTracker, drift_report, drift_s


def _play(tracker: DriftTracker, *, rate_error: float, seconds: float, offset_s: float = 5.0, frame_s: float = 0.04):
    """Simulate a track clock running ``rate_error`` fast; apply the tracker's seeks.

    Returns the true drift (track against the real playback time, not the frame on screen).
    """
    track_start = offset_s
    t0 = 0.0
    drifts = []
    period_s = 0.093  # a sampling timer is not phase-locked to the frames
    for i in range(int(seconds / period_s)):
        now = i * period_s
        video = np.floor(now / frame_s) * frame_s  # the video reports the last shown frame
        track = track_start + (now - t0) * (1 + rate_error)
        seek = tracker.add(video_s=video, track_s=track, offset_s=offset_s, now_s=now)
        if seek is not None:
            track_start, t0 = seek, now
        drifts.append(drift_s(now, track, offset_s))
    return np.array(drifts)


def test_steady_drift_is_corrected_below_one_frame():
    tracker = DriftTracker()
    drifts = _play(tracker, rate_error=0.002, seconds=60)  # 2 ms/s: 120 ms over a minute uncorrected
    assert tracker.resyncs >= 2
    assert np.abs(drifts).max() < 0.04


@pytest.mark.parametrize("frame_s", [0.04, 0.1])
def test_frame_lag_alone_never_triggers_a_resync(frame_s):
    tracker = DriftTracker(frame_s=frame_s)
    _play(tracker, rate_error=0.0, seconds=30, frame_s=frame_s)
    assert tracker.resyncs == 0


def test_no_resync_when_in_step():
    tracker = DriftTracker()
    _play(tracker, rate_error=0.0, seconds=60)
    assert tracker.resyncs == 0


def test_large_jump_resyncs_at_once_but_not_twice_in_a_row():
    tracker = DriftTracker(DriftConfig(min_interval_s=1.0))
    assert tracker.add(video_s=10.0, track_s=15.0 + 0.5, offset_s=5.0, now_s=3.0) == pytest.approx(15.02)  # + half a frame
    assert tracker.add(video_s=10.1, track_s=15.1 + 0.5, offset_s=5.0, now_s=3.1) is None  # settling
    assert tracker.add(video_s=11.0, track_s=16.0 + 0.5, offset_s=5.0, now_s=4.5) == pytest.approx(16.02)


def test_drift_report_smooths_frame_quantisation():
    t = np.arange(0, 60, 0.05)
    video = np.floor(t / 0.04) * 0.04
    report = drift_report(video, t + 2.0, 2.0)
    assert report["max_abs_s"] < 0.04 and report["max_smoothed_abs_s"] <= report["max_abs_s"]
    assert report["samples"] == len(t)


def test_seek_latency_is_learned_so_realignments_converge():
    """A playing track resumes 60 ms after each seek: without the learned lead every
    re-alignment would land 60 ms behind and be repeated every second."""
    latency_s, offset_s, frame_s, period_s = 0.060, 5.0, 0.04, 0.1
    tracker = DriftTracker(frame_s=frame_s)
    track_start, t0 = offset_s + 0.15, 0.0  # the track starts 150 ms ahead
    drifts = []
    for i in range(int(20 / period_s)):
        now = i * period_s + 0.013
        track = track_start + max(0.0, now - t0 - latency_s)
        seek = tracker.add(video_s=np.floor(now / frame_s) * frame_s, track_s=track, offset_s=offset_s, now_s=now)
        if seek is not None:
            track_start, t0 = seek, now
        drifts.append(drift_s(now, track, offset_s))
    assert tracker.lead_s == pytest.approx(latency_s, abs=0.02)
    assert tracker.resyncs <= 3  # the slip, then at most two to learn the latency
    assert np.abs(drifts[-100:]).max() < frame_s / 2  # the last 10 s in step


def test_lead_is_bounded_and_forgotten_by_nothing_but_a_new_measure():
    tracker = DriftTracker(DriftConfig(max_lead_s=0.1))
    assert tracker.add(video_s=10.0, track_s=20.0, offset_s=5.0, now_s=0.0) is not None  # 5 s off: hard
    for k in range(10):  # the seek "landed" 3 s behind (measured once the players have settled)
        tracker.add(video_s=10.0 + k / 10, track_s=12.0 + k / 10, offset_s=5.0, now_s=0.35 + 0.06 * k)
    assert tracker.lead_s == pytest.approx(0.1)
    tracker.reset(5.0)  # a user seek: its landing is not judged
    for k in range(10):
        tracker.add(video_s=20.0 + k / 10, track_s=25.5 + k / 10, offset_s=5.0, now_s=5.4 + 0.1 * k)
    assert tracker.lead_s == pytest.approx(0.1)


def test_resume_latency_is_learned_so_later_resumes_start_in_step():
    """Each resume from a pause: the video moves at once, the track 50 ms (±10 ms) later. The
    first resume lags until it is measured; later ones start ahead by the learned lead."""
    latency_s, offset_s, frame_s, period_s = 0.060, 5.0, 0.04, 0.1
    rng = np.random.default_rng(0)
    tracker = DriftTracker(frame_s=frame_s)
    video_at, first_second = 3.0, []
    for resume in range(6):
        lag = latency_s + rng.uniform(-0.01, 0.01)
        track_start = tracker.start_target(video_at, offset_s)  # the paused track is set, then both play
        tracker.started(0.0, resume=True)
        t0, drifts = 0.0, []
        for i in range(int(3 / period_s)):
            now = i * period_s + 0.013
            track = track_start + max(0.0, now - t0 - lag)
            seek = tracker.add(video_s=video_at + np.floor(now / frame_s) * frame_s, track_s=track,
                               offset_s=offset_s, now_s=now)
            if seek is not None:
                track_start, t0, lag = seek, now, 0.0  # seeks land at once here
            drifts.append(drift_s(video_at + now, track, offset_s))
        first_second.append(np.median(np.abs(drifts[2:10])))
        video_at += 5.0
    assert first_second[0] == pytest.approx(latency_s, abs=0.015)  # not yet known
    assert tracker.start_lead_s == pytest.approx(latency_s, abs=0.025)
    assert max(first_second[1:]) < frame_s  # every later resume starts within a frame


def test_samples_while_the_players_settle_are_not_used():
    tracker = DriftTracker()
    tracker.started(0.0, resume=True)
    # a track still at 0 right after the start (its seek not applied yet): no resync, no lead
    assert tracker.add(video_s=0.05, track_s=0.0, offset_s=5.0, now_s=0.1) is None
    assert tracker.drift_s == 0.0 and tracker.resyncs == 0


def test_a_start_that_is_not_a_resume_is_not_judged():
    tracker = DriftTracker()
    tracker.started(0.0, resume=False)
    for k in range(12):
        tracker.add(video_s=k / 10, track_s=5.0 + k / 10 - 0.1, offset_s=5.0, now_s=0.05 + k / 10)
    assert tracker.start_lead_s == 0.0
