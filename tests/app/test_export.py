"""File ▸ Export With Track… (the dialog: file, loudness, fit) and File ▸ Export Timeline…: the
engine's export and timeline in a worker, written files decoded and read back."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox

from bgmatch.app.export_flow import filter_suffix, timeline_filters
from bgmatch.engine.analysis.media import decode_audio, probe
from bgmatch.engine.library import TIMELINE_FORMATS
from bgmatch.engine.output.loudness import integrated_lufs

#: Where the fitted test starts in its 60-s track: 15 s of music are left for a 30-s video.
LATE_OFFSET_S = 45.0


def choose(window, path: Path, offset_s: float) -> None:
    """Choose the suggestion of ``path`` and start it at ``offset_s``."""
    suggestion = next(s for s in window.session.suggestions if Path(s.path) == path)
    window.session.choose(suggestion, play=False)
    window.session.set_offset(offset_s)


@pytest.fixture(scope="module")
def late_plan(gallery, video):
    """The engine's fit plan of the library's first track from :data:`LATE_OFFSET_S` to the video's length
    (what the preview's "Fit to video" switch puts in the session)."""
    from bgmatch.engine.output.fit_render import fit_track

    return fit_track(gallery[0], offset_s=LATE_OFFSET_S, duration_s=probe(video).duration_s)


def wait_done(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.export_flow.job is None, timeout=120_000)


def test_export_dialog_opens_in_the_video_folder_and_writes_at_the_chosen_loudness(qtbot, analysed, tmp_path,
                                                                                   monkeypatch):
    window = analysed
    window.session.nudge_seconds(0.5)
    offset = window.session.offset_s
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    window.export_action.trigger()
    dialog = window.export_flow.dialog
    assert dialog is not None and dialog.isVisible()
    video = window.session.video_path
    # Nothing exported before: the dialog offers the video's own folder, not home.
    assert dialog.out_path().parent == video.parent
    assert dialog.normalise.isChecked() and dialog.lufs.value() == -14.0  # the engine's default
    assert not dialog.fit_box.isChecked()  # no fit plan in the session
    out = tmp_path / "exports" / "result"  # no suffix: .mp4 is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    dialog.browse_button.click()
    assert dialog.out_path() == out
    dialog.lufs.setValue(-18.0)
    dialog.ceiling.setValue(-2.0)
    fractions: list[float] = []
    dialog.export_button.click()
    window.export_flow.job.signals.progress.connect(lambda done, total, _t: total and fractions.append(done / total))
    assert window.export_task.isVisible()
    wait_done(qtbot, window)
    written = out.with_suffix(".mp4")
    assert window.export_flow.exported_path == written and written.exists()
    assert fractions == sorted(fractions)
    info, source = probe(written), probe(video)
    assert info.has_video and info.has_audio
    assert info.duration_s == pytest.approx(source.duration_s, abs=0.1)
    # The soundtrack is the chosen track from the chosen offset (compare a second in the middle).
    sr = 16000
    ours = decode_audio(written, sr_hz=sr, offset_s=5.0, max_duration_s=1.0)
    track = decode_audio(window.session.chosen.path, sr_hz=sr, offset_s=offset + 5.0, max_duration_s=1.0)
    assert np.corrcoef(ours[: len(track)], track[: len(ours)])[0, 1] > 0.9
    # At the loudness asked for, measured on the file, and the window says what the engine measured.
    measured = integrated_lufs(decode_audio(written, sr_hz=48000, stereo=True), sr_hz=48000)
    assert measured == pytest.approx(-18.0, abs=0.5)
    report = window.export_flow.exported.loudness
    assert report.target_lufs == -18.0 and report.true_peak_dbtp <= -2.0 + 0.3
    box = window.last_message
    assert f"Wrote {written}" in box.text() and f"{report.output_lufs:.1f} LUFS" in box.text()
    assert "LUFS" in window.status_label.text()
    next(b for b in box.buttons() if b.text() == "Show in Folder").click()
    assert opened == [str(written.parent)]
    # The choice is kept: the next dialog for this video opens where it went, at −18 LUFS.
    window.last_message.done(QMessageBox.StandardButton.Ok)
    window.export_action.trigger()
    again = window.export_flow.dialog
    assert again.out_path().parent == written.parent and again.lufs.value() == -18.0
    assert again.ceiling.value() == -2.0
    again.reject()


def test_keeping_the_track_level_writes_it_unnormalised(qtbot, analysed, tmp_path):
    window = analysed
    window.export_action.trigger()
    dialog = window.export_flow.dialog
    dialog.keep_level.setChecked(True)
    assert not dialog.lufs.isEnabled() and not dialog.ceiling.isEnabled()
    dialog.path_edit.setText(str(tmp_path / "level.mp4"))
    dialog.export_button.click()
    wait_done(qtbot, window)
    result = window.export_flow.exported
    assert result is not None and result.loudness is None and result.plan is None
    offset = window.session.offset_s
    sr = 48000
    ours = decode_audio(result.path, sr_hz=sr, offset_s=5.0, max_duration_s=10.0, stereo=True)
    track = decode_audio(window.session.chosen.path, sr_hz=sr, offset_s=offset + 5.0, max_duration_s=10.0, stereo=True)
    # The track's own level (within the AAC encoding): the RMS ratio is 1, not a normalising gain.
    ratio = np.sqrt(np.mean(ours ** 2)) / np.sqrt(np.mean(track[:, : ours.shape[1]] ** 2))
    assert ratio == pytest.approx(1.0, abs=0.05)
    assert "own level" in window.last_message.text()


def test_export_writes_the_session_fit_plan_and_refuses_a_short_track_without_it(qtbot, analysed, gallery,
                                                                                tmp_path, late_plan):
    window = analysed
    choose(window, gallery[0], LATE_OFFSET_S)
    # Without fit: 15 s of music for a 30-s video is refused in one line, and nothing is written.
    window.export_action.trigger()
    dialog = window.export_flow.dialog
    assert not dialog.fit_box.isChecked()
    short = tmp_path / "short.mp4"
    dialog.path_edit.setText(str(short))
    dialog.export_button.click()
    wait_done(qtbot, window)
    message = window.last_message.text()
    assert "runs out" in message and "30.00 s video" in message and "\n" not in message
    assert "Fit the music to the video" in message and "--fit" not in message  # the app's words, not the CLI's
    assert not short.exists() and not list(tmp_path.glob(".*.part"))
    window.last_message.done(QMessageBox.StandardButton.Ok)
    # With the preview's plan in the session the dialog fits, and the export writes that plan.
    window.session.set_fit_plan(late_plan)
    window.export_action.trigger()
    dialog = window.export_flow.dialog
    assert dialog.fit_box.isChecked() and "fit plan is used" in dialog.fit_note.text()
    fitted = tmp_path / "fitted.mp4"
    dialog.path_edit.setText(str(fitted))
    dialog.export_button.click()
    wait_done(qtbot, window)
    result = window.export_flow.exported
    assert result.path == fitted and result.plan is late_plan
    duration = probe(window.session.video_path).duration_s
    assert probe(fitted).duration_s == pytest.approx(duration, abs=0.1)
    # Music to the end (the track's own ending), not silence: the fitted render, decoded back.
    sr = 16000
    written = decode_audio(fitted, sr_hz=sr)
    assert np.sqrt(np.mean(written[int((duration - 6) * sr): int((duration - 2) * sr)] ** 2)) > 0.01
    from bgmatch.engine.output.fit_render import render_track

    render = render_track(gallery[0], late_plan, sr_hz=sr).mean(axis=0)
    a, b = written[5 * sr: 25 * sr], render[5 * sr: 25 * sr]
    assert np.corrcoef(a, b)[0, 1] > 0.8
    assert "Fitted to the video" in window.last_message.text()


def test_export_timeline_fitted_reads_back_with_the_plan_segments(qtbot, analysed, gallery, tmp_path, late_plan,
                                                                  monkeypatch):
    window = analysed
    choose(window, gallery[0], LATE_OFFSET_S)
    window.session.set_fit_plan(late_plan)
    assert window.export_timeline_action.isEnabled()
    filters = timeline_filters()
    assert len(filters) == len(TIMELINE_FORMATS) and all(f"(*{s})" in " ".join(filters) for s in TIMELINE_FORMATS)
    asked = {}

    def save(_parent, _title, start, filter_text, selected):
        asked.update(start=Path(start), filters=filter_text.split(";;"), selected=selected)
        return str(tmp_path / "cut"), next(f for f in filters if filter_suffix(f) == ".kdenlive")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
    window.export_timeline_action.trigger()
    assert asked["start"].parent == window.session.video_path.parent and asked["start"].suffix == ".otio"
    assert asked["filters"] == filters
    wait_done(qtbot, window)
    written = tmp_path / "cut.kdenlive"  # typed without a type: the chosen filter's
    assert window.export_flow.timeline.path == written and written.exists()
    # Read back by OpenTimelineIO: the video clip and one music clip per segment of the plan.
    timeline = otio.adapters.read_from_file(str(written), adapter_name="kdenlive")
    audio = [c for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio for c in t.find_clips()]
    video = [c for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video for c in t.find_clips()]
    assert len(video) == 1 and len(audio) == len(late_plan.segments)
    first = audio[0].source_range.start_time.to_seconds()
    assert first == pytest.approx(late_plan.segments[0].source_start_s, abs=0.05)
    assert "fitted music" in window.last_message.text()
    assert window.settings.timeline_suffix == ".kdenlive"


def test_export_timeline_trimmed_otio_and_unknown_extension(qtbot, analysed, gallery, tmp_path):
    window = analysed
    window.session.set_offset(2.0)
    out = tmp_path / "edit.otio"
    assert window.export_flow.export_timeline(out) is not None
    wait_done(qtbot, window)
    timeline = otio.adapters.read_from_file(str(out))
    music = [c for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio for c in t.find_clips()]
    assert len(music) == 1 and music[0].source_range.start_time.to_seconds() == pytest.approx(2.0, abs=0.05)
    assert Path(music[0].media_reference.target_url.removeprefix("file://")) == Path(window.session.chosen.path)
    cuts = [m for c in timeline.find_clips() for m in c.markers if m.name == "cut"]
    assert len(cuts) == len(window.session.video.analysis.cut_times_s)
    window.last_message.done(QMessageBox.StandardButton.Ok)
    # An extension no adapter writes: the engine's one line, nothing written.
    bad = tmp_path / "edit.mov"
    window.export_flow.export_timeline(bad)
    wait_done(qtbot, window)
    message = window.last_message.text()
    assert "unknown timeline format" in message and str(bad) in message and "\n" not in message
    assert not bad.exists()
    window.last_message.done(QMessageBox.StandardButton.Ok)
    # A track that ends before the video, without a fit plan: refused in one line, with the app's advice.
    choose(window, gallery[0], LATE_OFFSET_S)
    short = tmp_path / "short.otio"
    window.export_flow.export_timeline(short)
    wait_done(qtbot, window)
    message = window.last_message.text()
    assert "runs out" in message and "Fit to video" in message and "\n" not in message
    assert not short.exists()


def test_cancelled_export_leaves_no_file(qtbot, analysed, tmp_path):
    window = analysed
    out = tmp_path / "cancelled.mp4"
    job = window.export_flow.export(out)
    job.cancel()
    wait_done(qtbot, window)
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    assert "cancelled" in window.status_label.text()


def test_export_needs_a_chosen_track(qtbot, window, tmp_path):
    assert not window.export_action.isEnabled() and not window.export_timeline_action.isEnabled()
    assert window.export_flow.export(tmp_path / "x.mp4") is None
    assert "choose a track" in window.last_message.text()
    window.last_message.done(QMessageBox.StandardButton.Ok)
    assert window.export_flow.export_timeline(tmp_path / "x.otio") is None
    assert "choose a track" in window.last_message.text()
    window.last_message.done(QMessageBox.StandardButton.Ok)  # a box left open would keep the next app from quitting
