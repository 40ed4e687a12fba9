"""Keep Qt Multimedia's start-up chatter and FFmpeg's per-file dumps out of the user's terminal.

Qt's FFmpeg backend prints which optional libraries it could not load (pipewire, VA-API) and,
through FFmpeg's default logger, a multi-line ``Input #0 …`` dump for every file it opens. None
of it is actionable for an editor. Qt's logging rules silence the first before Qt Multimedia
loads (``QT_LOGGING_RULES`` still overrides them). Qt has no API for FFmpeg's log level
(``QT_FFMPEG_DEBUG`` only makes it louder), so the level is set with ``av_log_set_level`` in the
FFmpeg library bundled with Qt.

FFmpeg's own errors go too: stopping a player mid-read logs "partial file" and "packet corrupt"
for sound files, and a file that really cannot play reaches the user through the player's error
signal, shown in the window. ``BGMATCH_MEDIA_LOG=1`` keeps everything, for debugging.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QLoggingCategory

#: Qt logging categories that only report optional back-end libraries and versions.
QUIET_RULES = "\n".join(("qt.multimedia.symbolsresolver=false", "qt.multimedia.ffmpeg.info=false",
                         "qt.multimedia.playbackengine.codec.info=false",
                         "qt.multimedia.playbackengine.codec.warning=false"))

#: FFmpeg's ``AV_LOG_FATAL``: only fatal errors are printed.
AV_LOG_FATAL = 8

#: File names of the FFmpeg utility library Qt ships, per platform.
_AVUTIL_PATTERNS = ("libavutil.so.*", "libavutil.so", "libavutil.*.dylib", "avutil-*.dll")


def qt_avutil() -> Path | None:
    """The FFmpeg utility library bundled with Qt, or ``None`` when Qt uses another FFmpeg."""
    folders = {Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.LibrariesPath)),
               Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.BinariesPath))}
    for folder in folders:
        for pattern in _AVUTIL_PATTERNS:
            found = sorted(folder.glob(pattern))
            if found:
                return found[0]
    return None


def enabled() -> bool:
    """Whether the chatter is kept (``BGMATCH_MEDIA_LOG`` set)."""
    return bool(os.environ.get("BGMATCH_MEDIA_LOG"))


def quiet_qt_logging() -> None:
    """Silence Qt Multimedia's informational categories (and "no hardware decoder").

    Call it before importing ``QtMultimedia``: the back end's libraries are probed when it loads.
    """
    if not enabled():
        QLoggingCategory.setFilterRules(QUIET_RULES)


def quiet_ffmpeg() -> bool:
    """Set the FFmpeg log level of Qt's back end to fatal errors only; returns whether it was set.

    Call it once a ``QMediaPlayer`` exists: before that, Qt's FFmpeg cannot be loaded on its own.
    """
    if enabled():
        return False
    lib = qt_avutil()
    if lib is None:
        return False
    try:
        # Qt's plugin has loaded this library (and the OpenSSL it needs) by now, so dlopen returns
        # the very instance it logs through.
        ctypes.CDLL(str(lib)).av_log_set_level(ctypes.c_int(AV_LOG_FATAL))
    except (OSError, AttributeError):
        return False
    return True
