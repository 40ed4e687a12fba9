"""Bars, phrases and sections of real music: downbeats on librosa's beats, section novelty,
storage (old records load, a re-index re-analyses once), the beat-grid corrections and the fit."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.bars import best_meter_phase, phrase_starts, strength_at_beats
from bgmatch.engine.analysis.beatgrid import BeatGridCorrection, beat_period_s, corrected_bars, corrected_beats
from bgmatch.engine.analysis.rhythm import MusicAnalysis, analyze_music
from bgmatch.engine.analysis.sections import checkerboard_kernel, novelty
from bgmatch.engine.library import Library
from bgmatch.engine.library.settings import ANALYSIS_VERSION
from bgmatch.engine.library.store import TrackRecord

SR = 22050


@pytest.fixture(scope="module")
def track(demo_music):
    """The first 30 s of a real demo track and its analysis."""
    y = media.decode_audio(demo_music[0], sr_hz=SR, max_duration_s=30.0)
    return y, analyze_music(y, sr_hz=SR)


def test_onset_envelope_is_librosas_own(track):
    """The shared spectrogram leaves the onset envelope the shipped model was trained on unchanged."""
    import librosa

    y, music = track
    reference = librosa.onset.onset_strength(y=y, sr=SR, hop_length=512)
    assert np.allclose(music.onset_envelope, reference[: len(music.onset_envelope)], atol=1e-5)


def test_downbeats_lie_on_the_beats_a_bar_apart(track):
    _, music = track
    beats, downs = music.beat_times_s, music.downbeat_times_s
    assert music.meter in (3, 4)
    assert len(downs) >= len(beats) // music.meter - 1 > 3
    index = np.searchsorted(beats, downs)
    assert np.allclose(beats[index], downs)
    assert set(np.diff(index)) == {music.meter}
    assert set(music.phrase_times_s) <= set(downs) and music.phrase_times_s[0] == downs[0]
    assert music.section_times_s[0] == downs[0]


def test_best_meter_and_phase_follow_the_strongest_beats():
    rng = np.random.default_rng(0)
    strength = rng.uniform(0.0, 0.3, 48)
    strength[2::3] += 0.6
    assert best_meter_phase(strength, meters=(3, 4)) == (3, 2)
    strength = rng.uniform(0.0, 0.3, 48)
    strength[1::4] += 0.6
    assert best_meter_phase(strength, meters=(3, 4)) == (4, 1)
    assert best_meter_phase(strength[:5], meters=(3, 4)) == (4, 0)  # too few beats to tell


def test_strength_is_the_peak_near_each_beat():
    curve = np.zeros(500)
    curve[101] = 1.0  # 2.02 s at 50 Hz
    s = strength_at_beats(np.array([1.0, 2.0, 3.0]), curve, rate_hz=50.0, window_s=0.05)
    assert s.tolist() == [0.0, 1.0, 0.0]


def test_section_novelty_finds_where_one_real_track_gives_way_to_another(demo_music):
    """Two different real tracks back to back: a section starts at the join."""
    a = media.decode_audio(demo_music[1], sr_hz=SR, max_duration_s=25.0)
    b = media.decode_audio(demo_music[5], sr_hz=SR, offset_s=10.0, max_duration_s=25.0)
    music = analyze_music(np.concatenate([a, b]), sr_hz=SR)
    join_s = len(a) / SR
    assert np.abs(music.section_times_s - join_s).min() < 1.5
    assert len(music.section_times_s) <= 5


def test_checkerboard_novelty_peaks_at_a_block_boundary():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(0, 0.1, (40, 8)) + 1.0 * (np.arange(8) < 4), rng.normal(0, 0.1, (40, 8)) + 1.0 * (np.arange(8) >= 4)])
    assert int(np.argmax(novelty(x, kernel_beats=16))) == 40
    k = checkerboard_kernel(8)
    assert k.shape == (8, 8) and k[0, 0] > 0 and k[0, -1] < 0


def test_phrases_restart_at_each_section():
    downs = np.arange(20) * 2.0
    assert phrase_starts(downs, np.array([]), bars_per_phrase=4).tolist() == [0, 8, 16, 24, 32]
    assert phrase_starts(downs, np.array([10.2]), bars_per_phrase=4).tolist() == [0, 8, 10, 18, 26, 34]


def test_a_record_stored_before_bars_loads_without_them(track):
    _, music = track
    old = {k: v for k, v in music.arrays().items() if k in ("onset_envelope", "rms", "beat_times_s", "scalars")}
    loaded = MusicAnalysis.from_arrays(old)
    assert len(loaded.downbeat_times_s) == len(loaded.section_times_s) == len(loaded.phrase_times_s) == 0
    assert loaded.meter == 4 and np.array_equal(loaded.beat_times_s, music.beat_times_s)
    again = MusicAnalysis.from_arrays(music.arrays())
    assert np.array_equal(again.downbeat_times_s, music.downbeat_times_s) and again.meter == music.meter


def test_corrections_move_the_downbeats_with_the_beats(track):
    _, music = track
    beats, downs = music.beat_times_s, music.downbeat_times_s
    d = music.duration_s

    def bars(c):
        cb = corrected_beats(beats, c, duration_s=d)
        out = corrected_bars(downs, music.phrase_times_s, music.section_times_s, c, corrected_beat_times_s=cb,
                             duration_s=d)
        return cb, out

    cb, (d2, _, _) = bars(BeatGridCorrection(tempo_factor=2.0))
    assert np.allclose(d2, downs) and set(np.round(d2, 6)) <= set(np.round(cb, 6))
    cb, (dh, _, _) = bars(BeatGridCorrection(tempo_factor=0.5))
    assert set(np.round(dh, 6)) <= set(np.round(cb, 6))
    # each downbeat of the halved grid is at most one (local) beat from one of the track's own
    assert np.abs(dh[:, None] - downs[None]).min(axis=1).max() <= np.diff(beats).max() + 1e-6
    cb, (ds, ps, ss) = bars(BeatGridCorrection(shift_s=0.25))
    assert np.allclose(ds, downs[downs + 0.25 <= d] + 0.25)
    assert set(np.round(ps, 6)) <= set(np.round(ds, 6)) and set(np.round(ss, 6)) <= set(np.round(ds, 6))
    half = round(beat_period_s(beats) / 2, 3)
    cb, (dhalf, _, _) = bars(BeatGridCorrection().shifted(half))
    assert np.allclose(dhalf, downs[downs + half <= d] + half)


@pytest.fixture(scope="module")
def template(tmp_path_factory, demo_music):
    """A library of two demo tracks, indexed once."""
    folder = tmp_path_factory.mktemp("bars") / "lib"
    with Library.open(folder) as lib:
        assert len(lib.add(demo_music[:2]).added) == 2
    return folder


@pytest.fixture()
def library(template, tmp_path):
    """A private copy of the template library."""
    shutil.copytree(template, tmp_path / "lib")
    lib = Library.open(tmp_path / "lib", create=False)
    yield lib
    lib.close()


def test_track_details_carry_corrected_bars(library):
    tid = library.tracks()[0].track_id
    plain = library.track_details(tid)
    assert len(plain.downbeat_times_s) > 4 and len(plain.section_times_s) >= 1 and len(plain.phrase_times_s) >= 1
    library.set_beat_correction(tid, BeatGridCorrection(shift_s=0.1))
    moved = library.track_details(tid)
    assert np.allclose(moved.downbeat_times_s[:5], np.asarray(plain.downbeat_times_s[:5]) + 0.1)
    assert np.allclose(library.scoring_analysis(tid).downbeat_times_s, moved.downbeat_times_s)


def test_reindex_of_an_old_library_reanalyses_each_track_once(library, demo_music):
    """Records of analysis version 1 (no bars) load, are analysed again once, keep the user's
    correction, and are then unchanged."""
    first = library.tracks()[0]
    library.set_beat_correction(first.track_id, BeatGridCorrection(tempo_factor=2.0))
    for rec in list(library.store.tracks()):
        keep = {k: v for k, v in rec.arrays.items() if k not in
                ("downbeat_times_s", "phrase_times_s", "section_times_s", "meter")}
        path = rec.meta["path"]
        library.store.put(path, library.store.path_record(path),
                          TrackRecord(rec.track_id, {**rec.meta, "analysis_version": 1}, keep))
    assert len(library.track_details(first.track_id).downbeat_times_s) == 0  # old record: loads, no bars
    report = library.add(demo_music[:2])
    assert len(report.added) == 2 and not report.unchanged and not report.failed
    for rec in library.store.tracks():
        assert rec.meta["analysis_version"] == ANALYSIS_VERSION and len(rec.arrays["downbeat_times_s"]) > 4
    assert library.beat_correction(first.track_id).tempo_factor == 2.0
    again = library.add(demo_music[:2])
    assert len(again.unchanged) == 2 and not again.added


def test_the_fit_plan_joins_on_the_stored_bar_lines(library, demo_music):
    tid = next(t.track_id for t in library.tracks() if t.path == str(demo_music[0].absolute()))
    library.set_beat_correction(tid, BeatGridCorrection(shift_s=0.05))
    details = library.track_details(tid)
    plan = library.fit_plan(demo_music[0], offset_s=0.0, duration_s=40.0)
    assert plan.grid == "downbeats"
    assert set(np.round(plan.bar_times_s, 4)) <= set(np.round(details.downbeat_times_s, 4))
    assert set(np.round(plan.beat_times_s, 4)) <= set(np.round(details.beat_times_s, 4))
