"""The terminal stays free of Qt Multimedia's probing messages and FFmpeg's per-file dumps."""
from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
from PySide6.QtCore import Q_ARG, QLoggingCategory, QUrl
from PySide6.QtMultimedia import QMediaPlayer

from bgmatch.app import media_log
from bgmatch.app.player import call_from_event_loop
from bgmatch.assets import asset_path

AV_LOG_INFO = 32
APP = Path(media_log.__file__).resolve().parent


def _load(qtbot, player: QMediaPlayer, path) -> None:
    call_from_event_loop((player, "setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(path)))))
    qtbot.waitUntil(lambda: player.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia, timeout=20_000)


def test_ffmpeg_dumps_are_silenced(qtbot, capfd, monkeypatch):
    monkeypatch.delenv("BGMATCH_MEDIA_LOG", raising=False)
    lib = media_log.qt_avutil()
    if lib is None:
        pytest.skip("this Qt does not bundle its own FFmpeg")
    player = QMediaPlayer()
    avutil = ctypes.CDLL(str(lib))
    avutil.av_log_set_level(AV_LOG_INFO)  # FFmpeg's default: what a user saw before
    try:
        capfd.readouterr()
        _load(qtbot, player, asset_path("demo", "video.mp4"))
        assert "Input #0" in capfd.readouterr().err  # the dump this guards against, seen here

        assert media_log.quiet_ffmpeg()
        assert avutil.av_log_get_level() == media_log.AV_LOG_FATAL
        _load(qtbot, player, asset_path("demo", "music", "nebula.opus"))
        assert "Input #0" not in capfd.readouterr().err
    finally:
        call_from_event_loop((player, "setSource", Q_ARG(QUrl, QUrl())))


def test_qt_categories_are_quiet_unless_asked(monkeypatch):
    monkeypatch.setenv("BGMATCH_MEDIA_LOG", "1")
    assert not media_log.quiet_ffmpeg()
    monkeypatch.delenv("BGMATCH_MEDIA_LOG")
    try:
        media_log.quiet_qt_logging()
        assert not QLoggingCategory("qt.multimedia.ffmpeg").isInfoEnabled()
        assert not QLoggingCategory("qt.multimedia.symbolsresolver").isWarningEnabled()
        assert QLoggingCategory("qt.multimedia.ffmpeg").isWarningEnabled()
        assert not QLoggingCategory("qt.multimedia.playbackengine.codec").isWarningEnabled()
        assert QLoggingCategory("qt.multimedia.playbackengine.codec").isCriticalEnabled()
    finally:
        QLoggingCategory.setFilterRules("")


def test_no_python_message_handler_is_swapped_while_qt_threads_log(request: pytest.FixtureRequest):
    """Qt's FFmpeg threads log warnings at any time; replacing a Python message handler meanwhile
    segfaulted CI (PySide called the NULL handler). The suite keeps pytest-qt's per-test handler
    off (``--no-qt-log``), and the app installs none."""
    assert request.config.getoption("qt_log") is False
    installs = [p.name for p in APP.glob("*.py") if "qInstallMessageHandler" in p.read_text()]
    assert installs == []
