"""The preview's "Fit to video" in the Qt-free session: the plan follows the track, its offset,
its beat grid and the switch; the render plays the fitted music from 0; the marks follow the plan."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.errors import MediaError
from bgmatch.engine.library import Library
from bgmatch.engine.session import FitRequest, Session, fitted_times_s, render_preview, track_marks
from bgmatch.engine.session.fitpreview import PREVIEW_SR_HZ

from .helpers import ranked_demo_library, session_on_copy

TRACKS = 2


@pytest.fixture(scope="module")
def ranked(tmp_path_factory, demo_music):
    return ranked_demo_library(tmp_path_factory.mktemp("fitpreview") / "lib", demo_music[:TRACKS],
                               tagging=False)  # tags play no part in fitting (and double the indexing)


@pytest.fixture()
def session(ranked, tmp_path):
    with session_on_copy(ranked, tmp_path) as s:
        yield s


@pytest.fixture(scope="module")
def fitted(ranked, tmp_path_factory):
    """The best track fitted to the demo video at its suggested offset, rendered once."""
    template, video, suggestions = ranked
    with Library.open(template, create=False) as library:
        s = Session(library)
        s.set_video(video, suggestions)
        request = s.fit_request()
    progress: list[tuple[int, int]] = []
    preview = render_preview(request, cache_dir=tmp_path_factory.mktemp("fits"),
                             progress=lambda done, total, _m: progress.append((done, total)))
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    return request, preview


def test_the_render_is_the_video_long_and_starts_as_the_track_at_the_offset(fitted):
    request, preview = fitted
    assert preview.audio_path.name == f"fit-{request.key}.wav"
    audio = media.decode_audio(preview.audio_path, sr_hz=PREVIEW_SR_HZ, stereo=True)
    assert abs(audio.shape[1] / PREVIEW_SR_HZ - request.duration_s) < 1 / 25  # within a frame
    plan = preview.plan
    assert plan.offset_s == request.offset_s and plan.target_duration_s == request.duration_s
    # Played from 0 under the video, its first segment is the track from the offset, sample for sample
    source = media.decode_audio(request.track, sr_hz=PREVIEW_SR_HZ, stereo=True)
    first_end = plan.segments[0].source_end_s - plan.segments[0].source_start_s - 0.1
    n = int(min(first_end, 3.0) * PREVIEW_SR_HZ)
    start = int(round(request.offset_s * PREVIEW_SR_HZ))
    assert np.abs(audio[:, :n] - source[:, start:start + n]).max() < 1e-3


def test_fitted_marks_land_on_the_music_they_mark(fitted):
    """A beat the marks put at output time t sounds there: the render around t is the track
    around that beat (checked for a beat after each join)."""
    request, preview = fitted
    plan = preview.plan
    assert len(plan.segments) >= 2, "the demo fit should need a join"
    audio = media.decode_audio(preview.audio_path, sr_hz=PREVIEW_SR_HZ)
    source = media.decode_audio(request.track, sr_hz=PREVIEW_SR_HZ)
    marks = track_marks(duration_s=request.duration_s, offset_s=request.offset_s, beat_times_s=request.beat_times_s,
                        plan=plan)
    assert marks.fitted and len(marks.segments) == len(plan.segments)
    np.testing.assert_allclose(marks.join_times_s, plan.joins_target_s)
    np.testing.assert_allclose(fitted_times_s(plan, [plan.offset_s]), [0.0])  # the offset plays at 0
    half, checked = int(0.05 * PREVIEW_SR_HZ), 0
    beats = np.asarray(request.beat_times_s)
    for seg in plan.segments[1:]:
        inside = beats[(beats > seg.source_start_s + 0.2) & (beats < seg.source_end_s - 0.2)]
        if len(inside) == 0:
            continue
        out_t = seg.target_start_s + (inside[0] - seg.source_start_s) / plan.stretch_rate
        assert np.min(np.abs(marks.beat_times_s - out_t)) < 1e-6
        if out_t + 0.1 > request.duration_s - plan.fade_out_s:
            continue
        at, src = int(round(out_t * PREVIEW_SR_HZ)), int(round(inside[0] * PREVIEW_SR_HZ))
        b = source[src - half:src + half]
        # the render cuts at whole samples: the mark is within two samples of the music it marks
        errors = {lag: np.abs(audio[at + lag - half:at + lag + half] - b).max() for lag in range(-2, 3)}
        assert min(errors.values()) < 1e-3, errors
        checked += 1
    assert checked >= 1


def test_unfitted_marks_are_the_track_from_the_offset():
    marks = track_marks(duration_s=10.0, offset_s=4.0, beat_times_s=[3.0, 4.5, 9.0, 14.0, 15.0],
                        downbeat_times_s=[4.5, 14.0], section_times_s=[0.0, 12.0])
    np.testing.assert_allclose(marks.beat_times_s, [0.5, 5.0, 10.0])
    np.testing.assert_allclose(marks.bar_times_s, [0.5, 10.0])
    np.testing.assert_allclose(marks.section_times_s, [8.0])
    assert not marks.fitted and marks.join_times_s.size == 0


def test_the_plan_follows_the_switch_the_offset_the_grid_and_the_track(session, fitted):
    _request, preview = fitted
    seen: list[object] = []
    session.events.fit_plan.connect(seen.append)
    session.events.fit_enabled.connect(lambda on: seen.append(("enabled", on)))
    session.set_fit_enabled(True)
    assert session.fit_enabled and seen == [("enabled", True)]
    request = session.fit_request()
    assert request.key == preview.request.key  # same track, offset, length, grid: same render
    session.set_fit_plan(preview.plan, audio_path=preview.audio_path)
    assert session.fit_audio_path == preview.audio_path
    session.set_offset(session.offset_s)  # not moved: the plan stays
    assert session.fit_plan is preview.plan
    session.nudge_seconds(0.5)  # planned for another offset: dropped at once
    assert session.fit_plan is None and session.fit_audio_path is None and seen[-1] is None
    assert session.fit_request().key != request.key and session.fit_request().offset_s == request.offset_s + 0.5
    session.set_fit_plan(preview.plan, audio_path=preview.audio_path)
    session.halve_tempo()  # its joins were on the old grid
    assert session.fit_plan is None and session.fit_request().key != request.key
    session.set_fit_plan(preview.plan, audio_path=preview.audio_path)
    session.choose(session.suggestions[1])
    assert session.fit_plan is None
    session.set_fit_plan(preview.plan, audio_path=preview.audio_path)
    session.set_fit_enabled(False)
    assert session.fit_plan is None and seen[-2:] == [None, ("enabled", False)]


def test_bad_fits_and_cancelling(session, tmp_path):
    request = session.fit_request()
    short = FitRequest(request.track, request.offset_s, 0.3, request.beat_times_s)
    with pytest.raises(MediaError, match=request.track.name):  # shorter than one bar
        render_preview(short, cache_dir=tmp_path)
    assert render_preview(request, cache_dir=tmp_path, cancel=lambda: True) is None
    assert list(tmp_path.glob("*.wav")) == []  # nothing written
