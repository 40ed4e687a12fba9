"""The editing session without Qt, on a real library of the demo music and the demo video."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.errors import LibraryError
from bgmatch.engine.library import ExportConfig, FitPlan, Library
from bgmatch.engine.session import Event, Session, step_beats_s

from .helpers import DEMO_VIDEO, ranked_demo_library, session_on_copy

TRACKS = 4


@pytest.fixture(scope="module")
def ranked(tmp_path_factory, demo_music):
    """A library of a few demo tracks, the demo video's analysis and its ranking (made once)."""
    return ranked_demo_library(tmp_path_factory.mktemp("session") / "lib", demo_music[:TRACKS])


@pytest.fixture()
def session(ranked, tmp_path):
    with session_on_copy(ranked, tmp_path) as s:
        yield s


def record(session: Session) -> list[tuple[str, object]]:
    """Every event the session emits, as (name, value)."""
    seen: list[tuple[str, object]] = []
    for name in ("library", "video", "suggestions", "chosen", "offset", "beat_grid", "fit_plan", "export_config"):
        getattr(session.events, name).connect(lambda value, n=name: seen.append((n, value)))
    return seen


def test_a_new_video_chooses_the_best_track_without_playing_it(ranked, tmp_path):
    template, video, suggestions = ranked
    with Library.open(template, create=False) as library:
        session = Session(library)
        seen = record(session)
        session.set_video(video, suggestions)
        assert [name for name, _ in seen] == ["video", "suggestions", "chosen"]
        choice = seen[-1][1]
        assert choice.suggestion == suggestions[0] and not choice.play
        assert session.chosen == suggestions[0] and session.video_path == DEMO_VIDEO
        assert session.offset_s == suggestions[0].offset_s
        assert session.details.track_id == suggestions[0].track_id and len(session.details.beat_times_s) > 10
        assert [s.track_id for s in session.suggestions] == [s.track_id for s in suggestions]


def test_offset_lives_in_one_place_per_track_and_is_clamped(session):
    seen = record(session)
    first, second = session.suggestions[:2]
    session.set_offset(12.34567)
    assert session.offset_s == 12.346 and seen[-1] == ("offset", 12.346)
    session.choose(second)
    assert session.offset_s == second.offset_s and seen[-1][1].play  # a user's choice plays
    session.choose(first)
    assert session.offset_s == 12.346 == session.offset_of(first)  # kept while the video stays
    session.set_offset(-3.0)
    assert session.offset_s == 0.0
    session.set_offset(1e6)
    assert session.offset_s == pytest.approx(session.details.music.duration_s - 0.1, abs=1e-3)
    session.set_video(session.video, session.suggestions)
    assert session.offset_of(first) == first.offset_s  # a new ranking forgets the user's offsets


def test_nudges_and_snap_follow_the_corrected_beats(session):
    start = session.offset_s
    session.halve_tempo()
    beats = session.details.beat_times_s
    session.nudge_beats(1)
    assert session.offset_s == pytest.approx(step_beats_s(start, beats, 1), abs=1e-3)
    session.nudge_seconds(-0.1)
    assert session.offset_s == pytest.approx(step_beats_s(start, beats, 1) - 0.1, abs=1e-3)
    session.snap_to_beat()
    assert np.min(np.abs(beats - session.offset_s)) < 1e-3


def test_beat_grid_corrections_are_kept_in_the_library(session):
    seen = record(session)
    track = session.chosen
    tempo = session.details.music.tempo_bpm
    n_beats = len(session.details.beat_times_s)
    session.halve_tempo()
    session.shift_grid(0.01)
    assert [name for name, _ in seen] == ["beat_grid", "beat_grid"]
    assert seen[-1][1].tempo_bpm == pytest.approx(tempo / 2) and session.tempo_of(track) == pytest.approx(tempo / 2)
    assert abs(len(session.details.beat_times_s) - n_beats / 2) <= 1
    stored = session.library.beat_correction(track.track_id)
    assert (stored.tempo_factor, stored.shift_s) == (0.5, 0.01)
    again = Session(session.library)  # what a restarted app reads
    again.set_video(session.video, session.suggestions)
    again.choose(track)
    assert again.details.correction == stored
    before = session.details.beat_times_s
    session.shift_half_beat()
    half = float(np.median(np.diff(before))) / 2
    assert session.details.correction.shift_s == pytest.approx(0.01 + half, abs=1e-3)
    session.reset_grid()
    assert session.library.beat_correction(track.track_id).is_identity
    session.double_tempo()
    assert session.details.tempo_bpm == pytest.approx(tempo * 2)


def test_choosing_again_changes_nothing_and_clears_the_fit_plan_otherwise(session):
    from bgmatch.engine.output.fit import Segment

    seen = record(session)
    start, length = session.offset_s, session.video.info.duration_s
    plan = FitPlan(session.details.music.duration_s, start, length, (Segment(start, start + length, 0.0),), "none",
                   (), tuple(session.details.beat_times_s))
    session.set_fit_plan(plan)
    session.choose(session.suggestions[0])  # already chosen: the row moved, the choice did not
    assert session.fit_plan is plan and seen == [("fit_plan", plan)]
    session.choose(session.suggestions[1])
    assert session.fit_plan is None
    session.choose(None)
    assert session.chosen is None and session.details is None and seen[-1] == ("chosen", None)
    session.set_offset(5.0)  # no track: nothing to move
    session.halve_tempo()
    assert session.offset_s == 0.0 and seen[-1] == ("chosen", None)


def test_export_request_follows_the_offset_and_settings(session):
    session.nudge_seconds(0.5)
    config = ExportConfig(sr_hz=22050)
    session.set_export_config(config)
    request = session.export_request()
    assert request.video == DEMO_VIDEO and request.track == Path(session.chosen.path)
    assert request.offset_s == session.offset_s and request.config is config
    session.choose(None)
    assert session.export_request() is None


def test_without_a_library_a_choice_fails_with_one_line(ranked):
    _, video, suggestions = ranked
    session = Session()
    with pytest.raises(LibraryError, match="no library is open"):
        session.set_video(video, suggestions)
    assert session.video is None and session.suggestions == []  # nothing half-changed
    session.set_video(video, [])
    assert session.video == video and session.chosen is None


def test_events_call_in_order_and_disconnect():
    event: Event[int] = Event("n")
    calls = []
    first = event.connect(lambda v: calls.append(("a", v)))
    event.connect(lambda v: calls.append(("b", v)))
    event.emit(1)
    event.disconnect(first)
    event.disconnect(first)  # twice is harmless
    event.emit(2)
    assert calls == [("a", 1), ("b", 1), ("b", 2)]
