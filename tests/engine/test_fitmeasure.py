"""Plain fit measures (engine.analysis.fitmeasure): the 0–100 fit, cuts on a beat, energy in words,
other offsets that fit as well; checked on arrays and on the real demo (its video was cut to
Nebula's beats from 12 s, with ±2 frames of jitter and some cuts off the beat)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.analysis.fitmeasure import (FIT_MIDPOINT, ON_BEAT_TOLERANCE_S, cuts_on_beat, energy_match, fit_percent,
                                                measure_fit, rival_offsets)
from bgmatch.engine.library import Library

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"


def test_fit_percent_is_a_logistic_of_the_score():
    assert fit_percent(FIT_MIDPOINT) == 50
    assert fit_percent(FIT_MIDPOINT + 0.5) == 88 and fit_percent(FIT_MIDPOINT - 0.5) == 12  # σ(±1.95)
    assert fit_percent(float("inf")) == 100 and fit_percent(-1e9) == 0
    scores = np.linspace(-1.5, 1.5, 31)
    fits = [fit_percent(s) for s in scores]
    assert fits == sorted(fits) and 0 <= min(fits) and max(fits) <= 100


def test_cuts_on_beat_counts_cuts_within_one_frame_at_the_offset():
    beats = np.arange(0.0, 30.0, 0.5)  # 120 BPM
    cuts = np.array([1.0, 2.03, 3.05, 4.25, 7.96])  # video times
    # With the video starting 10 s into the track, beats fall at video times 0, 0.5, 1.0, …
    assert cuts_on_beat(cuts, beats, offset_s=10.0) == (3, 5)  # 1.0, 2.03, 7.96 (3.05 is 50 ms off)
    assert cuts_on_beat(cuts, beats, offset_s=10.25) == (1, 5)  # beats at 0.25, 0.75, …: only 4.25
    assert cuts_on_beat(cuts, beats, offset_s=10.0, tolerance_s=0.06) == (4, 5)
    assert ON_BEAT_TOLERANCE_S == pytest.approx(0.040)
    assert cuts_on_beat(np.zeros(0), beats, offset_s=0.0) == (0, 0)
    assert cuts_on_beat(cuts, np.zeros(0), offset_s=0.0) == (0, 5)
    assert cuts_on_beat(np.array([29.0]), np.array([30.0]), offset_s=1.0) == (1, 1)  # a single beat


def test_energy_match_words():
    assert [energy_match(r) for r in (0.7, 0.5, 0.35, 0.3, 0.1, -0.4)] == ["good", "good", "fair", "fair", "poor",
                                                                           "poor"]


def test_rival_offsets_finds_a_second_peak_that_fits_as_well():
    grid_hz = 20.0
    t = np.arange(0, 40, 1 / grid_hz)
    curve = np.exp(-0.5 * ((t - 5.0) / 0.1) ** 2) + 0.98 * np.exp(-0.5 * ((t - 17.0) / 0.1) ** 2)
    best = int(np.argmax(curve))
    assert rival_offsets(curve, best_index=best, grid_hz=grid_hz) == [pytest.approx(17.0)]
    assert rival_offsets(curve, best_index=best, grid_hz=grid_hz, within=0.01) == []
    # The shoulder of the best peak is not a rival; a flat curve has none.
    single = np.exp(-0.5 * ((t - 5.0) / 2.0) ** 2)
    assert rival_offsets(single, best_index=int(np.argmax(single)), grid_hz=grid_hz) == []
    assert rival_offsets(np.zeros(100), best_index=3, grid_hz=grid_hz) == []


@pytest.fixture(scope="module")
def nebula_library(tmp_path_factory):
    lib = Library.open(tmp_path_factory.mktemp("fitlib") / "lib", create=True)
    lib.add([DEMO / "music" / "nebula.opus"])
    yield lib
    lib.close()


def test_the_demo_cuts_sit_on_nebulas_beats_where_it_was_cut(nebula_library):
    manifest = json.loads((DEMO / "video.json").read_text())
    assert manifest["track"] == "music/nebula.opus" and manifest["offset_s"] == 12.0
    (track,) = nebula_library.tracks()
    beats = nebula_library.scoring_analysis(track.track_id).beat_times_s
    cuts = np.asarray(manifest["cut_times_s"])
    on, total = cuts_on_beat(cuts, beats, offset_s=12.0)
    half_beat = 30.0 / track.tempo_bpm
    off, _ = cuts_on_beat(cuts, beats, offset_s=12.0 + half_beat)
    assert total == len(cuts) == 17 and on >= 12 and off <= 3, (on, off)


def test_measure_fit_says_another_passage_fits_the_cuts_as_well(nebula_library):
    """Item 7 of issue 18: the demo's best offset in Nebula is 4.75 s though the video was cut
    from 12 s; 12 s (12 beats later) fits the cuts as well, and the measure says so."""
    (track,) = nebula_library.tracks()
    query = nebula_library.query(DEMO / "video.mp4")
    (best,) = nebula_library.suggest(query, top=1)
    music = nebula_library.scoring_analysis(track.track_id)
    m = measure_fit(music, query.analysis, offset_s=best.offset_s, score=best.score,
                    energy_r=best.parts["energy"], config=nebula_library.config.retrieval.sync)
    assert m.fit == fit_percent(best.score) and m.cuts_total == 17
    assert (m.cuts_on_beat, m.cuts_total) == cuts_on_beat(query.analysis.cut_times_s, music.beat_times_s,
                                                          offset_s=best.offset_s)
    assert m.energy == energy_match(best.parts["energy"])
    assert abs(best.offset_s - 12.0) > 1.0  # the case the note is for
    assert any(abs(t - 12.0) <= 0.1 for t in m.rival_offsets_s), m.rival_offsets_s
    assert all(abs(t - best.offset_s) >= 1.0 for t in m.rival_offsets_s)
