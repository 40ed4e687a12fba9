"""Tempo and duration filters."""
from __future__ import annotations

import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.library.trackfilter import TrackFilter


def test_open_filter_accepts_everything():
    f = TrackFilter()
    assert f.is_open and f.accepts(tempo_bpm=float("nan"), duration_s=0.0)


@pytest.mark.parametrize(
    ("tempo", "duration", "ok"),
    [(100, 60, True), (90, 60, True), (130, 60, True), (89.9, 60, False), (131, 60, False),
     (100, 29, False), (100, 300, True), (100, 301, False), (float("nan"), 60, False)],
)
def test_bounds_are_inclusive(tempo, duration, ok):
    f = TrackFilter(min_bpm=90, max_bpm=130, min_duration_s=30, max_duration_s=300)
    assert not f.is_open
    assert f.accepts(tempo_bpm=tempo, duration_s=duration) is ok


def test_one_sided_bounds():
    assert TrackFilter(min_bpm=120).accepts(tempo_bpm=200, duration_s=1)
    assert not TrackFilter(max_duration_s=10).accepts(tempo_bpm=100, duration_s=11)


def test_empty_range_is_refused():
    with pytest.raises(ConfigError, match="tempo range is empty"):
        TrackFilter(min_bpm=140, max_bpm=100)
