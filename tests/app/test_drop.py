"""Dropping files on the window: videos are analysed in a worker; anything else is refused clearly."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from .helpers import drop_files, message_text


def test_drop_video_ranks_library_without_freezing(qtbot, window, video):
    gaps: list[float] = []
    last = [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    drop_files(window.video_pane, video)
    assert window.analysis_task.isVisible() and window.analysis_task.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: window.session.video is not None and window.suggest_flow.job is None, timeout=60_000)
    timer.stop()
    # The GUI thread kept running its timer while the video was analysed and ranked.
    assert max(gaps) < 0.5, f"the GUI froze for {max(gaps):.2f} s"
    assert not window.analysis_task.isVisible()
    assert window.session.video_path == video
    assert len(window.session.suggestions) == len(window.library) == 6
    assert "6 of 6 tracks ranked" in window.status_label.text()
    assert window.suggestions.model.rowCount() == 6
    assert window.suggestions.current() is not None and window.suggestions.current().rank == 1
    assert window.video_pane.currentWidget() is window.video_pane.video
    assert "tracks ranked" in window.status_label.text()
    assert window.timeline.plot.overlay is not None


@pytest.mark.parametrize("kind", ["text", "broken", "audio", "folder", "missing"])
def test_drop_non_video_changes_nothing(qtbot, tmp_path, window, gallery, kind):
    bad = {
        "text": tmp_path / "notes.txt",
        "broken": tmp_path / "clip.mp4",
        "audio": gallery[0],
        "folder": tmp_path,
        "missing": tmp_path / "gone.mp4",
    }[kind]
    if kind == "text":
        bad.write_text("not a video")
    elif kind == "broken":
        bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    title = window.windowTitle()
    drop_files(window, bad)
    text = message_text(window)
    assert text.startswith(str(bad)), text  # names the file …
    assert "\n" not in text and len(text) < 300  # … in one line
    expected = {"audio": "audio file", "folder": "folder", "missing": "no such file"}.get(kind, "")
    assert expected in text
    assert window.session.video is None and window.session.video_path is None and window.suggest_flow.job is None
    assert window.windowTitle() == title and not window.analysis_task.isVisible()
    assert window.status_label.objectName() == "error"


def test_second_drop_replaces_the_running_analysis(qtbot, window, video, short_video):
    drop_files(window, video)
    first = window.suggest_flow.job
    drop_files(window, short_video)
    assert first.token.cancelled and window.suggest_flow.job is not first
    qtbot.waitUntil(lambda: window.session.video is not None and not window.runner.active("suggest"),
                    timeout=60_000)
    assert window.session.video_path == short_video  # the first video's result never replaced it
    assert window.session.video.path == short_video


def test_cancel_keeps_the_current_video(qtbot, analysed, short_video):
    window = analysed
    before = window.session.video
    window.suggest_flow.open_video(short_video)
    qtbot.mouseClick(window.analysis_task.cancel_button, Qt.MouseButton.LeftButton)
    assert not window.analysis_task.isVisible() and "cancelled" in window.status_label.text()
    qtbot.waitUntil(lambda: not window.runner.active("suggest"), timeout=60_000)
    qtbot.wait(50)
    assert window.session.video is before and window.session.video_path == before.path


def test_open_video_from_file_menu(qtbot, window, video, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(video), ""))
    window.open_action.trigger()
    qtbot.waitUntil(lambda: window.session.video is not None, timeout=60_000)
    assert window.session.video_path == Path(video)
    assert window.settings.last_folder("video") == Path(video).parent
