"""`bgmatch app` / `bgmatch-app`: arguments, a video on the command line, the event loop, the CLI."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bgmatch.app.main import build_parser, main
from bgmatch.app.main_window import MainWindow


def test_help_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "drop a video" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["a.mp4", "b.mp4"])
    assert exit_info.value.code == 2
    assert build_parser().parse_args([]).video is None


def test_main_opens_the_video_given_and_returns_when_closed(qtbot, library_dir, video):
    # Windows and message boxes earlier tests left open would keep the app from quitting on the last close.
    for leftover in QApplication.topLevelWidgets():
        if leftover.isVisible():
            leftover.close()
    seen = {}

    def close_when_ranked() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].session.video is not None:
            poll.stop()
            seen["suggestions"] = len(windows[0].session.suggestions)
            seen["library"] = windows[0].library.folder
            seen["title"] = windows[0].windowTitle()
            windows[0].close()

    def watchdog() -> None:  # a failure naming what stayed open, not a hang of the whole run
        poll.stop()
        seen["still open after 180 s"] = [f"{type(w).__name__} {w.windowTitle()!r}"
                                          for w in QApplication.topLevelWidgets() if w.isVisible()]
        QApplication.quit()

    poll, guard = QTimer(), QTimer()
    poll.timeout.connect(close_when_ranked)
    guard.setSingleShot(True)
    guard.timeout.connect(watchdog)
    poll.start(100)
    guard.start(180_000)
    try:
        assert main([str(video), "--library", str(library_dir)]) == 0
    finally:
        poll.stop()
        guard.stop()
    assert seen == {"suggestions": 6, "library": library_dir, "title": f"{video.name} — bgmatch"}
    # A one-off --library is not saved: the next plain start opens the default library.
    from bgmatch.app.settings import AppSettings, default_library_path

    assert AppSettings().library_path == default_library_path() != library_dir


def test_cli_dispatches_app(capsys):
    from bgmatch.cli.main import main as cli_main

    with pytest.raises(SystemExit) as exit_info:
        cli_main(["app", "--help"])
    assert exit_info.value.code == 0 and "bgmatch app" in capsys.readouterr().out


def test_keyboard_help_lists_the_menu_shortcuts(qtbot, window):
    window.show_shortcuts()
    text = window.last_message.text()
    for expected in ("Space", "Play / Pause", "Ctrl+Left", "Track Earlier by a Beat", "Snap Offset to Beat", "F1"):
        assert expected in text


def test_an_error_that_arrives_after_the_close_opens_no_box(qtbot, window):
    # A job's signal delivered after the window closed once opened a message box; a window shown
    # then cancels Qt's quit on the last close, so `bgmatch app` (and test_main in CI) never returned.
    window.show_error("before")
    assert window.last_message.isVisible()
    window.last_message.close()
    window.close()
    window.show_error("late")
    assert window.status_label.text() == "late" and not window.last_message.isVisible()
    assert window.last_message not in [w for w in QApplication.topLevelWidgets() if w.isVisible()]
