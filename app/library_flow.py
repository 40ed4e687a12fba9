"""The music library in the window: open or switch it, list its tracks, index a folder (progress, Cancel)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import AddReport, Library

from . import jobs
from .shell import NO_LIBRARY, Shell
from .workers import Job


class LibraryFlow(QObject):
    """Opens the window's (the session's) library and keeps the library view and its indexing job."""

    opened = Signal()  # a library was opened (the window then restores its model)

    def __init__(self, window: Shell) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.add_job: Job | None = None
        window.session.events.beat_grid.connect(lambda _details: self.refresh())  # the view shows corrections
        window.library_panel.add_folder_requested.connect(self.add_folder_dialog)
        window.library_panel.cancel_requested.connect(self.cancel_indexing)
        window.library_task.cancel_requested.connect(self.cancel_indexing)
        window.library_panel.tag_filter_changed.connect(window.session.set_tag_filter)
        window.session.events.tag_filter.connect(window.library_panel.show_tag_filter)

    # -- which library -----------------------------------------------------------------------
    def start(self) -> None:
        """Open the saved library, or show the one the window was given."""
        if self.window.library is None:
            self.open(self.window.settings.library_path)
        else:
            self._opened()

    def _opened(self) -> None:
        self.refresh()
        self.opened.emit()

    def open(self, folder: Path) -> bool:
        """Open (or create) the library in ``folder`` and remember it."""
        w = self.window
        try:
            w.library = Library.open(folder, create=True)
        except BgmatchError as exc:
            w.library = None
            w.show_error(f"{exc} — choose another folder with Library ▸ Use Library Folder…")
            return False
        w.settings.library_path = folder
        self._opened()
        return True

    def choose_dialog(self) -> None:
        """Ask for a library folder and switch to it."""
        folder = QFileDialog.getExistingDirectory(self.window, "Library folder",
                                                  str(self.window.settings.library_path.parent))
        if folder:
            self.use(Path(folder))

    def use(self, folder: Path) -> bool:
        """Close the current library (stopping its jobs) and open ``folder``."""
        w = self.window
        w.runner.cancel_all()
        w.runner.wait(30_000)
        if w.library is not None:
            w.library.close()
            w.library = None
        return self.open(folder)

    # -- the view ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the library view (in a worker)."""
        if self.window.library is None:
            return
        self.window.runner.start("misc", "tracks", jobs.list_tracks_job(self.window.library),
                                 succeeded=self._listed, failed=self.window.show_error)

    def _listed(self, rows: list[jobs.LibraryRow]) -> None:
        w = self.window
        if w.library is None:
            return
        w.library_panel.set_rows(rows, str(w.library.folder))
        if not rows and w.session.video is None:
            w.suggestions.set_empty_text("Your music library is empty.\n\nAdd a folder of music first "
                                         "(Library ▸ Add Folder…), then drop a video on the window.")

    # -- indexing ----------------------------------------------------------------------------
    def add_folder_dialog(self) -> None:
        """Ask for a music folder and index it."""
        folder = QFileDialog.getExistingDirectory(self.window, "Add a music folder",
                                                  str(self.window.settings.last_folder("music")))
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> Job | None:
        """Index ``folder`` in a worker, with progress and Cancel."""
        w = self.window
        if w.library is None:
            w.show_error(NO_LIBRARY)
            return None
        if self.add_job is not None:
            w.show_error("The library is already being indexed; wait for it or cancel it first.")
            return None
        w.settings.set_last_folder("music", folder)
        job = w.runner.prepare("library", "add", jobs.add_folder_job(w.library, [folder]))
        job.signals.progress.connect(w.library_panel.indexing_progress)
        job.signals.progress.connect(w.library_task.progress)
        job.signals.succeeded.connect(self._added)
        job.signals.failed.connect(w.show_error)
        job.signals.done.connect(self._add_done)
        self.add_job = w.runner.submit(job)
        w.tabs.setCurrentWidget(w.library_panel)
        w.library_panel.indexing_started()
        w.library_task.start(f"Indexing {folder.name}…")
        w.set_status(f"Indexing {folder}…")
        return job

    def cancel_indexing(self) -> None:
        """Stop indexing after the current file."""
        if self.add_job is not None:
            self.add_job.cancel()
            self.window.library_panel.indexing_cancelling()

    def _added(self, report: AddReport) -> None:
        summary = f"{len(report.added)} added, {len(report.unchanged)} unchanged, {len(report.failed)} failed"
        if report.cancelled:
            summary = f"Indexing cancelled: {summary} before stopping"
        self.window.set_status(summary, error=bool(report.failed))
        if report.failed:
            names = "\n".join(message for _, message in report.failed[:10])
            more = f"\n… and {len(report.failed) - 10} more" if len(report.failed) > 10 else ""
            self.window.show_message("Some files could not be added", f"{summary}.\n\n{names}{more}",
                                     QMessageBox.Icon.Warning)

    def _add_done(self) -> None:
        self.add_job = None
        self.window.library_panel.indexing_finished()
        self.window.library_task.finish()
        self.refresh()
