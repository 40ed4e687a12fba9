"""Beat-grid corrections, snapping and nudging against grids with known beats."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis.beatgrid import (
    META_KEY,
    BeatGridCorrection,
    beat_period_s,
    corrected_beats,
    corrected_tempo_bpm,
    nearest_beat_s,
    snap_offset_s,
    step_beats_s,
)
from bgmatch.engine.errors import ConfigError

BEATS_120 = np.arange(0.25, 10.0, 0.5)  # 120 BPM, first beat at 0.25 s


def test_identity_leaves_beats_alone():
    out = corrected_beats(BEATS_120, BeatGridCorrection(), duration_s=10.0)
    np.testing.assert_allclose(out, BEATS_120)
    assert BeatGridCorrection().is_identity


def test_doubling_inserts_midpoints_and_doubles_tempo():
    c = BeatGridCorrection().doubled()
    out = corrected_beats(BEATS_120, c, duration_s=10.0)
    np.testing.assert_allclose(np.diff(out), 0.25)
    assert out[0] == pytest.approx(0.25) and out[-1] <= 10.0
    assert len(out) == 2 * len(BEATS_120)  # the extra beat after the last one fits before 10 s
    assert corrected_tempo_bpm(120.0, c) == 240.0


def test_halving_keeps_every_other_beat_and_shift_selects_the_other_half():
    c = BeatGridCorrection().halved()
    out = corrected_beats(BEATS_120, c, duration_s=10.0)
    np.testing.assert_allclose(out, BEATS_120[::2])
    other = corrected_beats(BEATS_120, c.shifted(beat_period_s(BEATS_120)), duration_s=10.0)
    np.testing.assert_allclose(other, BEATS_120[1::2])
    assert corrected_tempo_bpm(120.0, c) == 60.0


def test_halve_then_double_round_trips_and_factors_are_bounded():
    c = BeatGridCorrection()
    assert c.halved().doubled() == c
    assert c.halved().halved().halved().tempo_factor == 0.25
    assert c.doubled().doubled().doubled().tempo_factor == 4.0


def test_shift_moves_beats_and_drops_those_outside_the_track():
    out = corrected_beats(BEATS_120, BeatGridCorrection(shift_s=-0.3), duration_s=10.0)
    np.testing.assert_allclose(out, BEATS_120[1:] - 0.3)
    assert BeatGridCorrection().shifted(0.01).shifted(0.01).shift_s == 0.02


def test_meta_round_trip_and_bad_values():
    c = BeatGridCorrection(2.0, 0.04)
    assert BeatGridCorrection.from_meta({META_KEY: c.to_meta()}) == c
    assert BeatGridCorrection.from_meta({"title": "x"}) == BeatGridCorrection()
    with pytest.raises(ConfigError):
        BeatGridCorrection(3.0)
    with pytest.raises(ConfigError):
        BeatGridCorrection.from_meta({META_KEY: {"tempo_factor": "fast"}})
    with pytest.raises(ConfigError):
        BeatGridCorrection.from_meta({META_KEY: [1, 2]})


def test_snap_and_nearest():
    assert nearest_beat_s(3.1, BEATS_120) == pytest.approx(3.25)
    assert snap_offset_s(0.05, BEATS_120) == pytest.approx(0.25)
    assert nearest_beat_s(1.0, np.array([])) == 1.0


@pytest.mark.parametrize(
    ("time_s", "steps", "expected"),
    [
        (3.25, 1, 3.75),   # on a beat: one beat later
        (3.25, -2, 2.25),
        (3.4, 1, 3.75),    # between beats: to the next beat first
        (3.4, -1, 3.25),
        (9.75, 2, 10.75),  # past the last beat: the grid is extended
        (0.25, -1, 0.0),   # never negative
        (0.0, 1, 0.25),
    ],
)
def test_step_beats(time_s, steps, expected):
    assert step_beats_s(time_s, BEATS_120, steps) == pytest.approx(expected)


def test_step_without_beats_uses_120_bpm():
    assert step_beats_s(1.0, np.array([]), 2) == pytest.approx(2.0)
