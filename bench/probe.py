"""Measurements that need a process of their own (peak RSS, start-up); run by the cases.

``python -m bench.probe engine LIBRARY VIDEO``  open a library, build its index, suggest
``python -m bench.probe app LIBRARY [VIDEO]``   the desktop app on that library (offscreen)
``python -m bench.probe qt``                    a bare Qt window (the app's start-up floor)

Each prints one JSON line: peak RSS in bytes and, for windows, the Unix time of first paint.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def peak_rss_bytes() -> int:
    """Peak resident set size of this process image (``VmHWM``).

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that across ``fork`` and ``exec``, so a
    child started by a big parent would report the parent's peak.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_split_bytes() -> dict[str, int]:
    """Resident memory now: private (``RssAnon``) and file-backed (``RssFile``: lmdb's mapped
    pages and libraries, which the kernel can drop and re-read under memory pressure)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("RssAnon", "RssFile"):
                out["anon" if key == "RssAnon" else "file"] = int(line.split()[1]) * 1024
    return out


def current_rss_bytes() -> int:
    """Resident set size now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def engine(library: Path, video: Path) -> dict:
    """Open the library, load or build its index, suggest for ``video``."""
    from bgmatch.engine.library import Library

    with Library.open(library, create=False) as lib:
        lib.index()
        suggestions = lib.suggest(video, top=10)
        return {"peak_rss": peak_rss_bytes(), **rss_split_bytes(), "tracks": len(lib), "suggestions": len(suggestions)}


def _window_probe(make_window, *, settle_s: float, timeout_s: float, after_paint=None) -> dict:
    """Show a window; record its first paint; wait until memory settles; report."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bgmatch-probe"])
    result: dict = {"first_paint_unix": None}
    samples: list[int] = []
    start = time.monotonic()

    class PaintWatch(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint and result["first_paint_unix"] is None:
                result["first_paint_unix"] = time.time()
                if after_paint is not None:
                    QTimer.singleShot(0, after_paint)
            return False

    watch = PaintWatch()
    app.installEventFilter(watch)
    window = make_window()

    def poll() -> None:
        samples.append(current_rss_bytes())
        window_n = int(settle_s / 0.25)
        settled = len(samples) > window_n and max(samples[-window_n:]) <= 1.01 * min(samples[-window_n:])
        if (result["first_paint_unix"] is not None and settled) or time.monotonic() - start > timeout_s:
            result["settled"] = settled
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(250)
    app.exec()
    result["peak_rss"] = peak_rss_bytes()
    result.update(rss_split_bytes())
    del window
    return result


def app(library: Path, video: Path | None, *, settle_s: float = 4.0, timeout_s: float = 300.0) -> dict:
    """The desktop app on ``library``; with ``video``, also a suggestion for it."""
    from bgmatch.app.main import create_window

    holder: dict = {}

    def make():
        holder["window"] = create_window(["--library", str(library)])
        return holder["window"]

    def open_video() -> None:
        if video is not None:
            holder["window"].open_video(video)

    return _window_probe(make, settle_s=settle_s, timeout_s=timeout_s, after_paint=open_video)


def bare_qt() -> dict:
    """A plain QMainWindow with a label: Qt's own start-up and memory floor."""
    def make():
        from PySide6.QtWidgets import QLabel, QMainWindow

        w = QMainWindow()
        w.setCentralWidget(QLabel("bgmatch"))
        w.resize(1200, 800)
        w.show()
        return w

    return _window_probe(make, settle_s=1.0, timeout_s=60.0)


def main(argv: list[str] | None = None) -> int:
    """Run one probe and print its JSON line."""
    p = argparse.ArgumentParser(prog="python -m bench.probe")
    sub = p.add_subparsers(dest="probe", required=True)
    s = sub.add_parser("engine")
    s.add_argument("library", type=Path)
    s.add_argument("video", type=Path)
    s = sub.add_parser("app")
    s.add_argument("library", type=Path)
    s.add_argument("video", type=Path, nargs="?")
    sub.add_parser("qt")
    args = p.parse_args(argv)
    if args.probe == "engine":
        out = engine(args.library, args.video)
    elif args.probe == "app":
        out = app(args.library, args.video)
    else:
        out = bare_qt()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
