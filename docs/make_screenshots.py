"""Take the README screenshots of the app on the bundled demo media.

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshots.py [OUT_DIR]

Uses a temporary library and temporary settings (never the user's), indexes the demo music,
opens the demo video, steers the suggestions by words, plays a few seconds of the best one and
saves ``screenshot-main.png``; turns on "Fit to video", waits for the fitted render and saves
``screenshot-fit.png`` (the timeline with the fit's segments and joins). Then it makes a few "past edits" (real footage exported with real
music from the fetched media), starts a real run from Training ▸ Retrain, and saves
``screenshot-training.png`` once the validation-recall plot has points (the run is then cancelled).
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


def wait(app: QApplication, condition, timeout_s: float = 120.0, *, required: bool = True) -> bool:
    """Process events until ``condition()`` holds; returns whether it did before the timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            if required:
                raise TimeoutError("the app did not get there in time")
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


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
    window.library_flow.add_folder(asset_path("demo", "music"))
    wait(app, lambda: window.library_flow.add_job is None and window.library_panel.model.rowCount() > 0,
         timeout_s=900.0)  # indexing the 24 demo tracks (analysis, tags, embeddings) takes minutes under load
    window.suggest_flow.open_video(asset_path("demo", "video.mp4"))
    wait(app, lambda: window.session.video is not None and window.session.chosen is not None)
    # Steered by words, as an editor would ask: the list re-ranks without analysing the video again.
    window.suggestions.steer_bar.text.setText(WORDS)
    window.suggestions.steer_bar.text.returnPressed.emit()
    wait(app, lambda: window.session.steer.active and window.suggest_flow.rerank_job is None, timeout_s=300.0)
    window.player.seek(9.0)
    window.player.play()
    pause(app, 2.5)
    window.player.pause()
    pause(app, 0.5)
    snapshot(window, out / "screenshot-main.png")
    fitted_timeline(app, window, out / "screenshot-fit.png")

    from bgmatch.app import jobs

    run_training = jobs.find_training()
    dialog = window.training_flow.show_dialog(run_training)
    dialog.resize(1000, 720)
    dialog.move(120, 80)
    if run_training is not None:
        dialog.data_folder.setText(str(make_past_edits(tmp / "past edits")))
        dialog.epochs.setValue(12)
        dialog.batch_size.setValue(4)
        dialog.valid_share.setValue(30)
        dialog.start()

        def far_enough() -> bool:
            recall = dialog.recall_plot.points.values()
            return not dialog.running or any(len(xs) >= RECALL_POINTS for xs, _ in recall)

        # A live view of the run: the shot is taken mid-run (or at the end of a fast one).
        wait(app, far_enough, timeout_s=TRAIN_TIMEOUT_S, required=False)
    pause(app, 1.0)
    snapshot(dialog, out / "screenshot-training.png")
    dialog.close()  # cancels the run
    window.close()
    return 0


def fitted_timeline(app: QApplication, window, path: Path) -> None:
    """The preview with "Fit to video" on: the fitted render playing, its joins on the timeline."""
    window.transport.fit_switch.setChecked(True)
    wait(app, lambda: window.session.fit_plan is not None and window.timeline.plot.waveform is not None)
    window.main_splitter.setSizes([520, 380])  # a taller timeline, to see the segments
    joins = window.session.fit_plan.joins_target_s
    window.player.seek(max(0.0, joins[0] - 1.5) if joins else 4.0)
    window.player.play()
    pause(app, 2.0)
    window.player.pause()
    pause(app, 0.5)
    snapshot(window, path)
    window.transport.fit_switch.setChecked(False)


#: The words the main screenshot's suggestions are steered by.
WORDS = "calm piano"
#: The training screenshot is taken once a validation-recall curve has this many points.
RECALL_POINTS = 8
TRAIN_TIMEOUT_S = 600.0
FOOTAGE = ("box.mp4", "cup.mp4", "bikes.mp4", "Megamind.avi", "tree.avi", "vtest.avi", "bigbuckbunny.mp4")


def make_past_edits(folder: Path) -> Path:
    """Real footage, each exported with a different real track: an editor's folder of past edits."""
    import os

    from bgmatch.engine.output.export import ExportConfig, export
    from bgmatch.engine.analysis.media import probe

    media = Path(os.environ.get("BGMATCH_MEDIA", Path.home() / ".cache" / "bgmatch-media"))
    tracks = [p for p in sorted((media / "music").rglob("*.ogg")) if probe(p).duration_s > 60]
    folder.mkdir(parents=True)
    for i, name in enumerate(FOOTAGE):
        export(media / "footage" / name, tracks[(i * 5) % len(tracks)], offset_s=5.0 + 2 * i,
               out_path=folder / f"edit{i:02d}.mp4", config=ExportConfig(sr_hz=22050, bitrate=64_000))
    return folder


if __name__ == "__main__":
    sys.exit(main())
