"""`bgmatch app` / `bgmatch-app`: open the desktop app (optionally with a video and a library)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the app."""
    p = argparse.ArgumentParser(prog="bgmatch app", description="Open the bgmatch desktop app: drop a video, "
                                "get music suggestions from your library, preview them in sync, export.")
    p.add_argument("video", nargs="?", type=Path, help="a video to analyse at once")
    p.add_argument("--library", type=Path, metavar="PATH",
                   help="library folder to use for this run only (default: the one last chosen in the app, "
                        "else the CLI's default)")
    return p


def create_window(argv: list[str] | None = None):
    """Parse ``argv``, set up the application and return the shown main window (no event loop)."""
    args = build_parser().parse_args(argv)
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from .media_log import quiet_ffmpeg, quiet_qt_logging

    quiet_qt_logging()
    from .main_window import MainWindow
    from .settings import APPLICATION, ORGANIZATION, AppSettings
    from .theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "bgmatch"])
    if not QCoreApplication.organizationName():
        QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    apply_theme(app)
    settings = AppSettings()
    if args.library is not None:
        settings.use_library_once(args.library.expanduser().absolute())  # a one-off: not saved
    window = MainWindow(settings)
    quiet_ffmpeg()  # the window's players have loaded Qt's FFmpeg
    window.show()
    if args.video is not None:
        video = args.video.expanduser().absolute()
        QTimer.singleShot(0, lambda: window.suggest_flow.open_video(video))
    return window


def main(argv: list[str] | None = None) -> int:
    """Run the app until its window closes; returns the exit code (1, with one line on stderr
    saying what to install, when PySide6 or a system library Qt needs is missing)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    build_parser().parse_args(argv)  # --help and usage errors need no Qt
    from .requirements import missing_requirement

    problem = missing_requirement()
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    window = create_window(argv)
    from PySide6.QtWidgets import QApplication

    code = QApplication.instance().exec()
    del window
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
