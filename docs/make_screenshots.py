"""Take the README screenshots of the app on the bundled demo media.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshots.py [OUT_DIR]

Uses a temporary library and temporary settings (never the user's), indexes the demo music,
opens the demo video, plays a few seconds of the best suggestion and saves
``screenshot-main.png``; then opens Training ▸ Retrain and saves ``screenshot-training.png``.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication, QWidget

from bgmatch.assets import asset_path

DOCS = Path(__file__).resolve().parent


def wait(app: QApplication, condition, timeout_s: float = 120.0) -> None:
    """Process events until ``condition()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def pause(app: QApplication, seconds: float) -> None:
    """Let the app run for a while."""
    end = time.monotonic() + seconds
    wait(app, lambda: time.monotonic() >= end)


def snapshot(widget: QWidget, path: Path) -> None:
    """Grab the widget from the screen (so native video surfaces are included)."""
    screen = widget.screen()
    frame = widget.frameGeometry()
    image = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if image.isNull():
        image = widget.grab()
    image.save(str(path))
    print(f"wrote {path} ({image.width()}x{image.height()})")


def main(argv: list[str] | None = None) -> int:
    """Build a demo session and save the screenshots."""
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else DOCS
    tmp = Path(tempfile.mkdtemp(prefix="bgmatch-shots-"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    QCoreApplication.setOrganizationName("bgmatch-screenshots")
    from bgmatch.app.main import create_window

    window = create_window(["--library", str(tmp / "library")])
    app = QApplication.instance()
    window.resize(1560, 940)
    window.move(20, 20)
    window.add_folder(asset_path("demo", "music"))
    wait(app, lambda: window._add_job is None and window.library_panel.model.rowCount() > 0)
    window.open_video(asset_path("demo", "video.mp4"))
    wait(app, lambda: window.result is not None and window.suggestion is not None)
    window.player.seek(9.0)
    window.player.play()
    pause(app, 2.5)
    window.player.pause()
    pause(app, 0.5)
    snapshot(window, out / "screenshot-main.png")

    from bgmatch.app import jobs

    dialog = window.show_training_dialog(jobs.find_training())
    dialog.data_folder.setText(str(Path.home() / "Videos" / "my-edits"))
    dialog.resize(1000, 720)
    dialog.move(120, 80)
    pause(app, 1.0)
    snapshot(dialog, out / "screenshot-training.png")
    dialog.close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
