"""The timeline's waveform: min/max peaks of real decoded tracks, reduced to a view's columns."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.waveform import (BLOCK_SAMPLES, WAVEFORM_SR_HZ, load_waveform, waveform_of)
from bgmatch.engine.errors import MediaError
from bgmatch.engine.library import Library


@pytest.fixture(scope="module")
def track(demo_music):
    """A real track and its samples at the waveform's rate."""
    path = demo_music[0]
    return path, media.decode_audio(path, sr_hz=WAVEFORM_SR_HZ)


def test_columns_hold_the_min_and_max_of_their_samples(track):
    _path, y = track
    wave = waveform_of(y, sr_hz=WAVEFORM_SR_HZ)
    assert wave.duration_s == pytest.approx(len(y) / WAVEFORM_SR_HZ)
    # 10 s in 125 columns of 80 ms: each column is whole peaks, so it is exact
    times, lo, hi = wave.envelope(start_s=2.0, end_s=12.0, bins=125)
    assert len(times) == 125 and times[0] == pytest.approx(2.04)
    edges = np.round(np.linspace(2.0, 12.0, 126) * WAVEFORM_SR_HZ).astype(int)
    want_lo = np.array([y[a:b].min() for a, b in zip(edges[:-1], edges[1:])])
    want_hi = np.array([y[a:b].max() for a, b in zip(edges[:-1], edges[1:])])
    np.testing.assert_array_equal(lo, want_lo)
    np.testing.assert_array_equal(hi, want_hi)
    assert (hi - lo).max() > 0.1  # real music, not silence
    assert wave.peak == pytest.approx(np.abs(y).max())


def test_a_view_past_the_track_or_finer_than_a_peak(track):
    _path, y = track
    wave = waveform_of(y, sr_hz=WAVEFORM_SR_HZ)
    duration = wave.duration_s
    times, lo, hi = wave.envelope(start_s=-10.0, end_s=duration + 10.0, bins=400)
    assert 0 < times[0] and times[-1] < duration + 0.2  # columns outside the track are left out
    assert len(times) < 400 and np.all(lo <= hi)
    # zoomed in to 1 ms columns (4 ms peaks): each column shows the peak it lies in
    times, lo, hi = wave.envelope(start_s=5.0, end_s=5.1, bins=100)
    assert len(times) == 100
    block = (times * wave.peak_rate_hz).astype(int)
    np.testing.assert_array_equal(lo, wave.lo[block])
    np.testing.assert_array_equal(hi, wave.hi[block])
    assert wave.envelope(start_s=3.0, end_s=3.0, bins=10)[0].size == 0


def test_waveforms_are_cached_per_file_and_read_again_when_it_changes(track, tmp_path):
    path, y = track
    copy = tmp_path / f"copy{path.suffix}"
    shutil.copy(path, copy)
    first = load_waveform(copy)
    assert load_waveform(copy) is first  # no second decode
    assert len(first.lo) == int(np.ceil(len(y) / BLOCK_SAMPLES))
    with Library.open(tmp_path / "lib") as library:  # the app's one door to it
        assert library.waveform(copy) is first
    other = [p for p in sorted(path.parent.glob(f"*{path.suffix}")) if p != path][0]
    shutil.copy(other, copy)
    os.utime(copy, ns=(1, 1))  # a different file under the same name
    assert load_waveform(copy) is not first


def test_a_file_that_is_not_audio_is_one_clear_error(tmp_path):
    bad = tmp_path / "notes.ogg"
    bad.write_text("not audio")
    with pytest.raises(MediaError, match="notes.ogg"):
        load_waveform(bad)
    with pytest.raises(MediaError, match="missing.ogg"):
        load_waveform(tmp_path / "missing.ogg")
