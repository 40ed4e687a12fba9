"""Optical flow, cut detection and flow tokens on real footage and real photographs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.motion import (FLOW_TOKEN_CLASSES, MotionConfig, VideoAnalysis, analyze_frames, detect_cuts,
                                   flow_magnitudes, flow_tokens)


def _pan(photo: np.ndarray, shift_px: int, n: int, size=(96, 160)) -> np.ndarray:
    """Frames of a camera panning right over a real photo by ``shift_px`` per frame."""
    h, w = size
    return np.stack([photo[50:50 + h, 20 + i * shift_px: 20 + i * shift_px + w] for i in range(n)])


@pytest.fixture(scope="module")
def photo(media_root) -> np.ndarray:
    img = cv2.imread(str(media_root / "photos" / "astronaut.png"), cv2.IMREAD_GRAYSCALE)
    assert img is not None
    return img


@pytest.mark.parametrize("shift", [2, 5])
def test_flow_measures_a_known_pan(photo, shift):
    mags = flow_magnitudes(_pan(photo, shift, 6))
    assert mags[0] == 0
    assert np.median(mags[1:]) == pytest.approx(shift, rel=0.25)


def test_cuts_between_real_clips_are_found(footage_dir):
    a = media.decode_frames(footage_dir / "vtest.avi", fps=10, width_px=160, max_duration_s=3.0).frames
    b = media.decode_frames(footage_dir / "bigbuckbunny.mp4", fps=10, width_px=160, max_duration_s=3.0).frames
    b = np.stack([cv2.resize(f, (a.shape[2], a.shape[1])) for f in b])
    frames = np.concatenate([a, b, a[::-1]])
    times = np.arange(len(frames)) / 10.0
    cuts = detect_cuts(frames, times)
    expected = np.array([len(a), len(a) + len(b)]) / 10.0
    assert len(cuts) == 2 and np.allclose(cuts, expected, atol=0.11)


def test_still_and_moving_video_motion_and_tokens(photo):
    still = np.repeat(_pan(photo, 0, 1), 40, axis=0)
    moving = _pan(photo, 4, 40)
    times = np.arange(40) / 10.0
    a_still = analyze_frames(still, times, duration_s=4.0)
    a_move = analyze_frames(moving, times, duration_s=4.0)
    assert a_still.motion.max() < 0.5 and len(a_still.cut_times_s) == 0
    # 4 px per frame at 160 px, 10 fps → 4 * 224/160 * 10 = 56 px/s at the paper's 224-px width.
    assert np.median(a_move.motion[1:]) == pytest.approx(56.0, rel=0.25)
    tok = flow_tokens(a_move, clip_s=4.0)
    assert tok.shape == (1,) and tok[0] == pytest.approx(int(56 / 320 * 64), abs=2)
    fast = VideoAnalysis(4.0, times, np.full(40, 1000.0, np.float32), np.zeros(0), 160)
    assert flow_tokens(fast)[0] == FLOW_TOKEN_CLASSES - 1


def _first_per_slot(times_s: np.ndarray, fps: float) -> np.ndarray:
    """Indices of the frames ``media.decode_frames`` keeps at ``fps``: the first in each slot."""
    slots = np.floor(times_s * fps + 1e-3)
    return np.flatnonzero(np.diff(slots, prepend=-1) > 0)


@pytest.mark.parametrize("shot_frames", [10, 11, 12])
def test_default_rate_finds_cuts_four_tenths_of_a_second_apart(media_root, shot_frames):
    # Shots of three real photos, each panning, 0.40–0.48 s long in a 25 fps video (one cut on
    # every beat at 125–150 BPM). At 10 fps the cut detector's ±4-frame neighbourhood spans
    # two cuts and drops most of them; the default rate keeps them all.
    names = ("astronaut.png", "grass.png", "hubble_deep_field.jpg")
    photos = [cv2.imread(str(media_root / "photos" / n), cv2.IMREAD_GRAYSCALE) for n in names]
    frames = np.stack([photos[k % 3][40:130, 20 + 2 * i: 180 + 2 * i] for k in range(12) for i in range(shot_frames)])
    times = np.arange(len(frames)) / 25.0
    true_cuts = np.arange(1, 12) * shot_frames / 25.0
    config = MotionConfig()
    keep = _first_per_slot(times, config.fps)
    cuts = analyze_frames(frames[keep], times[keep], duration_s=len(frames) / 25.0, config=config).cut_times_s
    assert len(cuts) == len(true_cuts)
    assert np.abs(cuts - true_cuts).max() <= 1 / config.fps + 1e-6

