"""The synced preview: keyboard transport, seeking, offset nudges, snapping, beat-grid corrections."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from bgmatch.engine.analysis.beatgrid import META_KEY, step_beats_s

#: Positions of the two players may differ by this much right after a seek or start (they settle).
SETTLED_S = 0.12


def _key(window, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(window.suggestions.table, key, modifier)


def _in_step(window) -> float:
    p = window.player
    return abs((p.track_position_s - p.offset_s) - p.position_s)


@pytest.fixture()
def focused(qtbot, analysed):
    analysed.activateWindow()
    analysed.suggestions.table.setFocus()
    return analysed


def test_space_jkl_and_arrows_drive_both_players(qtbot, focused):
    window = focused
    player = window.player
    _key(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: player.is_playing, timeout=5_000)
    qtbot.waitUntil(lambda: player.position_s > 1.0, timeout=10_000)
    assert _in_step(window) < SETTLED_S
    _key(window, Qt.Key.Key_K)
    assert not player.is_playing
    paused_at = player.position_s
    _key(window, Qt.Key.Key_Right)  # +1 s
    qtbot.waitUntil(lambda: abs(player.position_s - (paused_at + 1.0)) < 0.1, timeout=5_000)
    assert _in_step(window) < SETTLED_S
    _key(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)  # −5 s, clamped at 0
    qtbot.waitUntil(lambda: player.position_s < max(0.0, paused_at - 3.9) + 0.1, timeout=5_000)
    assert window.transport.time_label.text().startswith("0:0")
    _key(window, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: player.is_playing, timeout=5_000)
    _key(window, Qt.Key.Key_L)  # again: faster
    assert player.rate == 2.0 and window.transport.rate_label.text() == "2×"
    qtbot.wait(800)
    before = player.position_s
    _key(window, Qt.Key.Key_J)  # jump back
    qtbot.waitUntil(lambda: player.position_s < before - 1.0, timeout=5_000)
    _key(window, Qt.Key.Key_K)
    assert not player.is_playing and player.rate == 1.0
    qtbot.waitUntil(lambda: _in_step(window) < SETTLED_S, timeout=5_000)


def test_a_loaded_video_shows_its_first_frame_before_play(qtbot, analysed):
    window = analysed
    sink = window.video_pane.video.videoSink()
    qtbot.waitUntil(lambda: sink.videoFrame().isValid(), timeout=5_000)
    assert not window.player.is_playing and window.player.position_s < 0.1
    assert sink.videoFrame().size().width() > 0


def test_play_button_and_timeline_click_seek(qtbot, analysed):
    window = analysed
    qtbot.mouseClick(window.transport.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.player.is_playing, timeout=5_000)
    window.timeline.plot.seek_requested.emit(12.0)  # what a click at 12 s on the plot sends
    qtbot.waitUntil(lambda: abs(window.player.position_s - 12.0) < 0.5, timeout=5_000)
    qtbot.wait(500)
    assert _in_step(window) < SETTLED_S
    assert abs(window.timeline.plot.playhead.value() - window.player.position_s) < 0.5
    qtbot.mouseClick(window.transport.play_button, Qt.MouseButton.LeftButton)
    assert not window.player.is_playing
    # Clicking the seek slider right of its handle pages forward five seconds.
    before = window.player.position_s
    slider = window.transport.slider
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 3, slider.height() // 2))
    qtbot.waitUntil(lambda: abs(window.player.position_s - (before + 5.0)) < 0.2, timeout=5_000)
    assert _in_step(window) < SETTLED_S


def test_nudge_by_beat_and_tenth_and_snap(qtbot, focused):
    window = focused
    beats = window.session.details.beat_times_s
    start = window.session.offset_s
    _key(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert window.session.offset_s == pytest.approx(step_beats_s(start, beats, 1), abs=1e-3)
    assert window.player.offset_s == window.session.offset_s
    _key(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.session.offset_s == pytest.approx(step_beats_s(start, beats, 1) - 0.1, abs=1e-3)
    assert "suggested" in window.alignment.offset_label.text()
    _key(window, Qt.Key.Key_B)
    assert np.min(np.abs(beats - window.session.offset_s)) < 1e-3  # on a beat
    # The list shows the user's offset; the track in the player starts there.
    assert window.suggestions.model.offset_s(window.session.chosen) == window.session.offset_s
    assert abs(window.player.track_position_s - (window.session.offset_s + window.player.position_s)) < SETTLED_S


def test_beat_grid_correction_is_saved_and_drawn(qtbot, analysed, settings):
    window = analysed
    track_id = window.session.chosen.track_id
    tempo = window.session.details.music.tempo_bpm
    n_beats = len(window.timeline.plot.overlay.beat_times_s)
    qtbot.mouseClick(_button(window, "Half tempo"), Qt.MouseButton.LeftButton)
    assert window.session.details.tempo_bpm == pytest.approx(tempo / 2)
    assert window.alignment.tempo_label.text().startswith(f"{tempo / 2:.1f} BPM")
    assert abs(len(window.timeline.plot.overlay.beat_times_s) - n_beats / 2) <= 1
    qtbot.mouseClick(_button(window, "Grid +10 ms"), Qt.MouseButton.LeftButton)
    meta = window.library.store.get(track_id).meta[META_KEY]
    assert meta == {"tempo_factor": 0.5, "shift_s": 0.01}
    # The snap uses the corrected grid.
    window.session.snap_to_beat()
    assert np.min(np.abs(window.session.details.beat_times_s - window.session.offset_s)) < 1e-3
    # The list, the library view and a restarted app see the correction.
    assert window.suggestions.model.tempo_bpm(window.session.chosen) == pytest.approx(tempo / 2)
    rows = window.library_panel.model.rows
    qtbot.waitUntil(lambda: any(r.correction.tempo_factor == 0.5 for r in rows()), timeout=5_000)
    video = window.session.video_path
    window.close()

    from bgmatch.app.main_window import MainWindow

    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.suggest_flow.open_video(video)
    qtbot.waitUntil(lambda: again.session.video is not None, timeout=60_000)
    row = again.suggestions.model.row_of(track_id)
    assert again.suggestions.model.tempo_bpm(again.suggestions.model.suggestion(row)) == pytest.approx(tempo / 2)
    again.suggestions.select_row(again.suggestions.proxy.mapFromSource(again.suggestions.model.index(row, 0)).row())
    correction = again.session.details.correction
    assert correction.tempo_factor == 0.5 and correction.shift_s == 0.01
    qtbot.mouseClick(_button(again, "Reset"), Qt.MouseButton.LeftButton)
    assert again.library.store.get(track_id).meta.get(META_KEY) is None
    again.close()


def _button(window, text: str):
    return next(b for b in window.alignment.alignment_buttons if b.text() == text)


def test_the_status_bar_says_when_there_is_no_sound_output(qtbot, window):
    from PySide6.QtMultimedia import QMediaDevices

    device = QMediaDevices.defaultAudioOutput()
    window.update_sound_output()
    assert window.no_sound_label.isVisible() == device.isNull()
    assert "silently" in window.no_sound_label.toolTip()
    if not device.isNull():
        assert window.player.audio.device() == device
