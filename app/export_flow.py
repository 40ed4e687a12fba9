"""File ▸ Export With Track: write the video with the chosen track in a worker (progress, Cancel, reveal)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox

from . import jobs
from .shell import Shell
from .workers import Job

#: Containers the export writes; another suffix is replaced by ``.mp4``.
EXPORT_SUFFIXES = {".mp4", ".m4v", ".mov"}


class ExportFlow(QObject):
    """The export job and the last file written (:attr:`exported_path`)."""

    def __init__(self, window: Shell) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.job: Job | None = None
        self.exported_path: Path | None = None
        window.export_task.cancel_requested.connect(self.cancel)

    def export(self, out_path: Path | None = None) -> Job | None:
        """Export the session's video with the chosen track at its offset (asks where when not given)."""
        w = self.window
        request, chosen = w.session.export_request(), w.session.chosen
        if request is None or chosen is None:
            w.show_error("Open a video and choose a track before exporting.")
            return None
        if self.job is not None:
            w.show_error("An export is already running.")
            return None
        if out_path is None:
            default = w.settings.last_folder("export") / f"{request.video.stem} + {chosen.title}.mp4"
            picked, _ = QFileDialog.getSaveFileName(w, "Export video with track", str(default), "MP4 video (*.mp4)")
            if not picked:
                return None
            out_path = Path(picked)
        if out_path.suffix.lower() not in EXPORT_SUFFIXES:
            out_path = out_path.with_suffix(".mp4")
        w.settings.set_last_folder("export", out_path.parent)
        self.job = w.runner.start(
            "export", "export", jobs.export_job(request.video, request.track, request.offset_s, out_path,
                                                request.config),
            progress=w.export_task.progress, succeeded=self._exported, failed=w.show_error,
            cancelled=self._cancelled, done=self._done)
        w.export_task.start(f"Exporting {out_path.name}…")
        return self.job

    def cancel(self) -> None:
        """Stop the export (the partial file is removed)."""
        if self.job is not None:
            self.job.cancel()

    def _exported(self, path: Path) -> None:
        self.exported_path = Path(path)
        self.window.set_status(f"Exported {path}")
        box = self.window.show_message("Export finished", f"Wrote {path}")
        reveal = box.addButton("Show in Folder", QMessageBox.ButtonRole.ActionRole)
        reveal.clicked.connect(lambda: self.reveal(Path(path)))

    def reveal(self, path: Path) -> None:
        """Open the folder holding ``path`` in the file manager."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))):
            self.window.show_error(f"{path.parent}: no file manager could open this folder")

    def _cancelled(self) -> None:
        self.window.set_status("Export cancelled; no file was written.")

    def _done(self) -> None:
        self.job = None
        self.window.export_task.finish()
