"""The preview's timeline and transport: the track's waveform at the view's resolution, beats,
bars and sections, the tags in its header, the music volume, and "Fit to video" (the fitted
render played from 0, its segments and joins drawn, never a stale fit)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from bgmatch.engine.library import Library
from bgmatch.engine.session import overlay, track_marks


def _waveform_shown(window, path: Path) -> bool:
    return window.preview_flow._waveform_path == path and window.timeline.plot.waveform is not None


def test_the_track_lane_draws_the_waveform_at_the_views_resolution(qtbot, analysed):
    window = analysed
    plot, chosen = window.timeline.plot, window.session.chosen
    qtbot.waitUntil(lambda: _waveform_shown(window, Path(chosen.path)), timeout=20_000)
    offset = window.session.offset_s
    times, lo, hi = plot.waveform_columns()
    width = plot.getPlotItem().vb.width()
    assert abs(len(times) - width) <= 0.05 * width  # one column per pixel of the video's range
    assert np.all(lo <= hi) and lo.min() >= 0.0 and hi.max() <= 1.0  # inside the track lane
    # the columns are the track's own min/max from the offset (decoded by the engine)
    wave = window.library.waveform(chosen.path)
    t, want_lo, want_hi = wave.envelope(start_s=max(0.0, plot.getPlotItem().vb.viewRange()[0][0]) + offset,
                                        end_s=min(window.session.video.info.duration_s,
                                                  plot.getPlotItem().vb.viewRange()[0][1]) + offset,
                                        bins=len(times))
    np.testing.assert_allclose(times, t - offset)
    np.testing.assert_allclose(hi, 0.5 + want_hi * 0.45 / wave.peak, atol=1e-6)
    xs, ys = plot.wave.getData()
    assert len(xs) == 2 * len(times)  # drawn as one vertical stroke per column
    # zoomed in on 2 s: reduced again, as finely
    plot.getPlotItem().setXRange(3.0, 5.0, padding=0)
    zoomed, zlo, zhi = plot.waveform_columns()
    assert zoomed.min() >= 3.0 - 1e-6 and zoomed.max() <= 5.0 + 1e-6
    assert abs(len(zoomed) - width) <= 0.05 * width
    # the offset moved: the same waveform, shifted
    window.session.nudge_seconds(1.0)
    assert plot.waveform_offset_s == pytest.approx(window.session.offset_s)


def test_bars_and_sections_are_drawn_when_the_analysis_has_them(qtbot, analysed, monkeypatch):
    window = analysed
    plot = window.timeline.plot
    # the library's own bars (analysis version 2) are drawn
    details, offset = window.session.details, window.session.offset_s
    duration = window.session.video.info.duration_s
    assert len(details.downbeat_times_s) > 0
    stored = np.array(details.downbeat_times_s) - offset
    xs, _ys = plot.bars.getData()
    np.testing.assert_allclose(xs[0::2], stored[(stored >= 0) & (stored <= duration)])
    assert "bars" in window.timeline.legend.text()
    real = Library.track_details

    def without_bars(library, track_id, correction=None):  # a track where no downbeats were heard
        return dataclasses.replace(real(library, track_id, correction), downbeat_times_s=(), section_times_s=())

    monkeypatch.setattr(Library, "track_details", without_bars)
    window.suggestions.selected.emit(window.session.suggestions[2])
    assert plot.bars.getData()[0] is None or len(plot.bars.getData()[0]) == 0  # no downbeats: no bars
    assert "bars" not in window.timeline.legend.text()

    def with_bars(library, track_id, correction=None):  # what the rhythm analysis stores
        details = real(library, track_id, correction)
        beats = details.beat_times_s
        return dataclasses.replace(details, downbeat_times_s=tuple(beats[::4]), section_times_s=tuple(beats[::16]))

    monkeypatch.setattr(Library, "track_details", with_bars)
    window.suggestions.selected.emit(window.session.suggestions[1])
    details, offset = window.session.details, window.session.offset_s
    duration = window.session.video.info.duration_s
    bars = np.array(details.downbeat_times_s) - offset
    bars = bars[(bars >= 0) & (bars <= duration)]
    xs, _ys = plot.bars.getData()
    np.testing.assert_allclose(xs[0::2], bars)
    sections = [t - offset for t in details.section_times_s if 0 <= t - offset <= duration]
    assert [label.pos().x() for label in plot.section_labels] == pytest.approx(sections)
    assert "bars" in window.timeline.legend.text() and "sections" in window.timeline.legend.text()


def test_the_header_names_the_track_and_its_top_tags(qtbot, analysed):
    window = analysed
    chosen = window.session.chosen
    assert chosen.title in window.timeline.header.text()
    for name, _p in chosen.tags[:5]:
        assert name in window.timeline.header.text()
    tagged = dataclasses.replace(chosen, title="Nebula <live>", tags=(("calm", 0.8), ("piano", 0.6)))
    window.timeline.set_track_header(tagged.title, tagged.tags)
    text = window.timeline.header.text()
    assert "Nebula &lt;live&gt;" in text and "calm" in text and "piano" in text
    window.session.choose(None)
    assert window.timeline.header.text() == ""


def test_the_volume_slider_sets_the_music_output_and_is_remembered(qtbot, analysed, settings):
    window = analysed
    slider = window.transport.volume_slider
    assert slider.value() == round(settings.volume * 100)
    slider.setValue(35)
    assert window.player.volume == pytest.approx(0.35, abs=0.01)
    assert window.player.audio.volume() == pytest.approx(0.35, abs=0.01)
    from bgmatch.app.settings import AppSettings

    assert AppSettings().volume == pytest.approx(0.35)  # the next run starts there
    qtbot.keyClick(slider, Qt.Key.Key_End)
    assert window.player.volume == pytest.approx(1.0)


def test_fit_to_video_plays_the_fitted_render_and_draws_its_joins(qtbot, analysed, tmp_path, monkeypatch):
    window = analysed
    window.fit_flow.cache_dir = tmp_path / "fits"
    shown: list[str] = []  # what the line beside the switch said
    show = window.transport.set_fit_status
    monkeypatch.setattr(window.transport, "set_fit_status", lambda text: (shown.append(text), show(text)))
    session, player, plot = window.session, window.player, window.timeline.plot
    track = Path(session.chosen.path)
    assert window.transport.fit_switch.isEnabled()
    window.transport.fit_switch.click()
    assert session.fit_enabled
    qtbot.waitUntil(lambda: session.fit_plan is not None, timeout=60_000)
    plan, fitted = session.fit_plan, session.fit_audio_path
    assert "fitting…" in shown and any(t.endswith("%") for t in shown)  # rendered on a worker, with progress
    assert fitted.parent == tmp_path / "fits" and fitted.exists()
    assert plan.offset_s == session.offset_s and plan.target_duration_s == session.video.info.duration_s
    # the player plays the render from 0 under the video
    assert player.track_path == fitted and player.offset_s == 0.0
    player.seek(4.0)
    qtbot.waitUntil(lambda: abs(player.track_position_s - 4.0) < 0.05, timeout=5_000)
    # the timeline shows the plan's segments and joins, and the render's waveform from 0
    assert plot.marks.fitted and len(plot.marks.segments) == len(plan.segments)
    xs, _ = plot.joins.getData()
    np.testing.assert_allclose(xs[0::2], plan.joins_target_s)
    qtbot.waitUntil(lambda: _waveform_shown(window, fitted), timeout=20_000)
    assert plot.waveform_offset_s == 0.0 and "fitted" in window.timeline.header.text()
    assert "fit joins" in window.timeline.legend.text() and window.transport.fit_status.text() == (
        f"{len(plan.joins_target_s)} join" + ("s" if len(plan.joins_target_s) != 1 else ""))
    # a nudge: back to the track at the new offset at once, never the stale fit; then fitted again
    session.nudge_seconds(0.5)
    assert session.fit_plan is None and player.track_path == track
    assert player.offset_s == pytest.approx(session.offset_s) and not plot.marks.fitted
    qtbot.waitUntil(lambda: session.fit_plan is not None, timeout=60_000)
    assert session.fit_plan.offset_s == pytest.approx(session.offset_s) and player.track_path != fitted
    # back to the first offset: the remembered render, at once
    session.nudge_seconds(-0.5)
    window.fit_flow.refit()
    assert session.fit_audio_path == fitted and player.track_path == fitted
    # off: the track as it is
    window.transport.fit_switch.click()
    assert not session.fit_enabled and session.fit_plan is None
    assert player.track_path == track and player.offset_s == pytest.approx(session.offset_s)
    assert not plot.marks.fitted


def test_marks_with_a_plan_drive_the_cut_colours(analysed):
    """On-beat cuts are judged against the beats as the fitted music plays them."""
    window = analysed
    video, details = window.session.video, window.session.details
    over = overlay(video.analysis, details.music, offset_s=0.0, beat_times_s=details.beat_times_s)
    cuts = video.analysis.cut_times_s
    marks = track_marks(duration_s=video.analysis.duration_s, offset_s=0.0, beat_times_s=list(cuts) + [0.01])
    window.timeline.set_overlay(over, marks)
    xs, _ = window.timeline.plot.cuts_on.getData()
    np.testing.assert_allclose(xs[0::2], cuts)  # every cut is on one of these beats
    assert window.timeline.alignment.text() == f"{len(cuts)} of {len(cuts)} cuts on a beat"
