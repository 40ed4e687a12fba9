"""The main window: video pane, suggestions, library, timeline, transport, menus, status bar.

It wires widgets to the engine through :mod:`bgmatch.app.jobs` (long work on worker lanes) and
holds the current state: the video, its analysis, the chosen track, its offset and beat grid.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from bgmatch.engine.beatgrid import BeatGridCorrection, beat_period_s, snap_offset_s, step_beats_s
from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import AddReport, Library, Suggestion
from bgmatch.engine.overlay import overlay

from . import jobs
from .library_view import LibraryPanel
from .menus import build_menus, shortcuts_html
from .player import PreviewPlayer
from .settings import ANALYSIS_ONLY, AppSettings
from .suggestions import SuggestionsPanel
from .task_indicator import TaskIndicator
from .timeline import TimelinePanel
from .training_dialog import TrainingDialog
from .transport import AlignmentBar, TransportBar
from .video_pane import VideoPane
from .workers import Job, JobRunner

VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm *.mpg *.mpeg *.wmv *.flv *.mts *.m2ts);;All files (*)"
#: Layout blobs saved in the settings.
SPLITTERS = ("main", "top")
#: File that marks a model bundle folder (``engine.embed.BUNDLE_MANIFEST``; not imported, as that loads torch).
BUNDLE_MANIFEST = "bundle.json"


def model_name(bundle: Path) -> str:
    """How a model bundle is named in menus: its run folder's name for ``<run>/model``."""
    return bundle.parent.name if bundle.name == "model" else bundle.name


class MainWindow(QMainWindow):
    """The bgmatch editing window."""

    def __init__(self, settings: AppSettings | None = None, *, library: Library | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.runner = JobRunner(self)
        self.library: Library | None = library
        self.last_message: QMessageBox | None = None
        self.training_dialog: TrainingDialog | None = None
        # Current state.
        self.video_path: Path | None = None
        self.result: jobs.SuggestResult | None = None
        self.suggestion: Suggestion | None = None
        self.details: jobs.TrackDetails | None = None
        self.offset_s = 0.0
        self.exported_path: Path | None = None
        self._analysis_job: Job | None = None
        self._add_job: Job | None = None
        self._export_job: Job | None = None
        self._analysis_started = 0.0
        self._autoplay = False

        self.setWindowTitle("bgmatch")
        self.setAcceptDrops(True)
        self._build_widgets()
        build_menus(self)
        self._restore_layout()
        if self.library is None:
            self._open_library(self.settings.library_path)
        else:
            self.refresh_library()
        self._update_model_label()

    # == construction =========================================================================
    def _build_widgets(self) -> None:
        self.video_pane = VideoPane()
        self.player = PreviewPlayer(self.video_pane.video, self)
        self.player.set_volume(self.settings.volume)
        self.transport = TransportBar()
        self.alignment = AlignmentBar()
        self.timeline = TimelinePanel()
        self.suggestions = SuggestionsPanel()
        self.library_panel = LibraryPanel()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.video_pane, 1)
        left_layout.addWidget(self.transport)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.suggestions, "Suggestions")
        self.tabs.addTab(self.library_panel, "Library")
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.addWidget(left)
        self.top_splitter.addWidget(self.tabs)
        self.top_splitter.setStretchFactor(0, 5)
        self.top_splitter.setStretchFactor(1, 6)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 4, 0, 0)
        bottom_layout.addWidget(self.alignment)
        bottom_layout.addWidget(self.timeline, 1)
        self.main_splitter = QSplitter(Qt.Orientation.Vertical)
        self.main_splitter.addWidget(self.top_splitter)
        self.main_splitter.addWidget(bottom)
        self.main_splitter.setStretchFactor(0, 3)
        self.main_splitter.setStretchFactor(1, 1)
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(self.main_splitter)
        self.setCentralWidget(container)

        status = self.statusBar()
        self.status_label = QLabel("Ready")
        status.addWidget(self.status_label, 1)
        self.analysis_task = TaskIndicator()
        self.library_task = TaskIndicator()
        self.export_task = TaskIndicator()
        for task in (self.analysis_task, self.library_task, self.export_task):
            status.addPermanentWidget(task)
        self.model_label = QLabel()
        self.model_label.setObjectName("hint")
        status.addPermanentWidget(self.model_label)

        # Wiring.
        self.player.position_changed.connect(self._position_changed)
        self.player.duration_changed.connect(self.transport.set_duration)
        self.player.playing_changed.connect(self.transport.set_playing)
        self.player.error.connect(self.show_error)
        self.transport.play_toggled.connect(self.player.toggle)
        self.transport.seek_requested.connect(self.player.seek)
        self.alignment.nudge_beats.connect(self.nudge_beats)
        self.alignment.nudge_seconds.connect(self.nudge_seconds)
        self.alignment.snap_requested.connect(self.snap_to_beat)
        self.alignment.halve_tempo.connect(lambda: self._correct(lambda c: c.halved()))
        self.alignment.double_tempo.connect(lambda: self._correct(lambda c: c.doubled()))
        self.alignment.shift_grid.connect(lambda d: self._correct(lambda c: c.shifted(d)))
        self.alignment.shift_half_beat.connect(self._shift_half_beat)
        self.alignment.reset_grid.connect(lambda: self._correct(lambda c: BeatGridCorrection()))
        self.timeline.plot.seek_requested.connect(self.player.seek)
        self.suggestions.selected.connect(self._suggestion_selected)
        self.suggestions.more_like_this.connect(self.more_like_this)
        self.suggestions.table.doubleClicked.connect(lambda _index: self.player.play())
        self.library_panel.add_folder_requested.connect(self.add_folder_dialog)
        self.library_panel.cancel_requested.connect(self.cancel_indexing)
        self.analysis_task.cancel_requested.connect(self.cancel_analysis)
        self.library_task.cancel_requested.connect(self.cancel_indexing)
        self.export_task.cancel_requested.connect(self.cancel_export)

    # == layout and settings ==================================================================
    def _restore_layout(self) -> None:
        geometry = self.settings.layout("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1440, 900)
        state = self.settings.layout("state")
        if state is not None:
            self.restoreState(state)
        for name, splitter in zip(SPLITTERS, (self.main_splitter, self.top_splitter)):
            blob = self.settings.layout(f"splitter/{name}")
            if blob is None or not splitter.restoreState(blob):
                splitter.setSizes([600, 300] if name == "main" else [700, 740])

    def save_layout(self) -> None:
        """Remember the window's geometry and splitter positions."""
        self.settings.set_layout("geometry", self.saveGeometry())
        self.settings.set_layout("state", self.saveState())
        for name, splitter in zip(SPLITTERS, (self.main_splitter, self.top_splitter)):
            self.settings.set_layout(f"splitter/{name}", splitter.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the layout, stop every job and release the library."""
        self.save_layout()
        self.runner.cancel_all()
        self.player.stop()
        if self.training_dialog is not None:
            self.training_dialog.close()
        self.runner.wait(30_000)
        if self.library is not None:
            self.library.close()
            self.library = None
        super().closeEvent(event)

    # == messages =============================================================================
    def show_message(self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Information) -> QMessageBox:
        """A non-blocking message box (kept in :attr:`last_message`)."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message = box
        return box

    def show_error(self, message: str) -> None:
        """One clear line in the status bar and a message box."""
        self.set_status(message, error=True)
        self.show_message("bgmatch", message, QMessageBox.Icon.Warning)

    def set_status(self, text: str, *, error: bool = False) -> None:
        """The status bar's message."""
        self.status_label.setText(text)
        self.status_label.setObjectName("error" if error else "")
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)

    # == library ==============================================================================
    def _open_library(self, folder: Path) -> bool:
        try:
            self.library = Library.open(folder, create=True)
        except BgmatchError as exc:
            self.library = None
            self.show_error(f"{exc} — choose another folder with Library ▸ Use Library Folder…")
            return False
        self.settings.library_path = folder
        self.refresh_library()
        return True

    def choose_library_dialog(self) -> None:
        """Ask for a library folder and switch to it."""
        folder = QFileDialog.getExistingDirectory(self, "Library folder", str(self.settings.library_path.parent))
        if folder:
            self.use_library(Path(folder))

    def use_library(self, folder: Path) -> bool:
        """Close the current library (stopping its jobs) and open ``folder``."""
        self.runner.cancel_all()
        self.runner.wait(30_000)
        if self.library is not None:
            self.library.close()
            self.library = None
        return self._open_library(folder)

    def refresh_library(self) -> None:
        """Reload the library view (in a worker)."""
        if self.library is None:
            return
        self.runner.start("misc", "tracks", jobs.list_tracks_job(self.library),
                          succeeded=self._tracks_listed, failed=self.show_error)

    def _tracks_listed(self, rows: list[jobs.LibraryRow]) -> None:
        if self.library is None:
            return
        self.library_panel.set_rows(rows, str(self.library.folder))
        if not rows and self.result is None:
            self.suggestions.set_empty_text("Your music library is empty.\n\nAdd a folder of music first "
                                            "(Library ▸ Add Folder…), then drop a video on the window.")

    def add_folder_dialog(self) -> None:
        """Ask for a music folder and index it."""
        folder = QFileDialog.getExistingDirectory(self, "Add a music folder", str(self.settings.last_folder("music")))
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> Job | None:
        """Index ``folder`` in a worker, with progress and Cancel."""
        if self.library is None:
            self.show_error("No library is open — choose one with Library ▸ Use Library Folder…")
            return None
        if self._add_job is not None:
            self.show_error("The library is already being indexed; wait for it or cancel it first.")
            return None
        self.settings.set_last_folder("music", folder)
        job = self.runner.prepare("library", "add", jobs.add_folder_job(self.library, [folder]))
        job.signals.progress.connect(self.library_panel.indexing_progress)
        job.signals.progress.connect(self.library_task.progress)
        job.signals.succeeded.connect(self._folder_added)
        job.signals.failed.connect(self.show_error)
        job.signals.done.connect(self._add_done)
        self._add_job = self.runner.submit(job)
        self.tabs.setCurrentWidget(self.library_panel)
        self.library_panel.indexing_started()
        self.library_task.start(f"Indexing {folder.name}…")
        self.set_status(f"Indexing {folder}…")
        return job

    def cancel_indexing(self) -> None:
        """Stop indexing after the current file."""
        if self._add_job is not None:
            self._add_job.cancel()
            self.library_panel.indexing_cancelling()

    def _folder_added(self, report: AddReport) -> None:
        summary = f"{len(report.added)} added, {len(report.unchanged)} unchanged, {len(report.failed)} failed"
        if report.cancelled:
            summary = f"Indexing cancelled: {summary} before stopping"
        self.set_status(summary, error=bool(report.failed))
        if report.failed:
            names = "\n".join(message for _, message in report.failed[:10])
            more = f"\n… and {len(report.failed) - 10} more" if len(report.failed) > 10 else ""
            self.show_message("Some files could not be added", f"{summary}.\n\n{names}{more}", QMessageBox.Icon.Warning)

    def _add_done(self) -> None:
        self._add_job = None
        self.library_panel.indexing_finished()
        self.library_task.finish()
        self.refresh_library()

    # == video and suggestions ================================================================
    def open_video_dialog(self) -> None:
        """Ask for a video and analyse it."""
        start = str(self.settings.last_folder("video"))
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", start, VIDEO_FILTER)
        if path:
            self.open_video(Path(path))

    def open_video(self, path: Path) -> bool:
        """Check ``path`` is a video, then analyse it and rank the library in a worker.

        A file that is not a readable video is reported and changes nothing. A video opened
        while another is being analysed replaces it (the older analysis is cancelled).
        """
        path = Path(path)
        try:
            info = jobs.check_video(path)
        except BgmatchError as exc:
            self.show_error(str(exc))
            return False
        if self.library is None:
            self.show_error("No library is open — choose one with Library ▸ Use Library Folder…")
            return False
        if self._analysis_job is not None:
            self._analysis_job.cancel()
        self._analysis_job = self.runner.start(
            "analysis", "suggest", jobs.suggest_job(self.library, path, info), progress=self._analysis_progress,
            succeeded=self._suggestions_ready, failed=self._analysis_failed, done=self._analysis_done)
        self._analysis_started = time.monotonic()
        self.analysis_task.start(f"Analysing {path.name}…")
        self.set_status(f"Analysing {path.name}…")
        return True

    def cancel_analysis(self) -> None:
        """Cancel the running analysis (the current video and suggestions stay)."""
        if self._analysis_job is not None:
            self._analysis_job.cancel()
            self._analysis_job = None
            self.analysis_task.finish()
            self.set_status("Analysis cancelled.")

    def _is_current(self, job: Job | None) -> bool:
        return job is not None and self.sender() is job.signals

    def _analysis_progress(self, fraction: float, text: str) -> None:
        if self._is_current(self._analysis_job):
            self.analysis_task.progress(fraction, text)

    def _analysis_failed(self, message: str) -> None:
        if self._is_current(self._analysis_job):
            self.show_error(message)

    def _analysis_done(self) -> None:
        if self._is_current(self._analysis_job):
            self._analysis_job = None
            self.analysis_task.finish()

    def _suggestions_ready(self, result: jobs.SuggestResult) -> None:
        if not self._is_current(self._analysis_job):
            return
        elapsed = time.monotonic() - self._analysis_started
        self.result = result
        self.video_path = result.video_path
        self.settings.set_last_folder("video", result.video_path.parent)
        self.setWindowTitle(f"{result.video_path.name} — bgmatch")
        self.player.set_video(result.video_path, fps=result.info.fps)
        self.video_pane.show_video(True)
        self.transport.set_video_loaded(True)
        self.transport.set_duration(result.info.duration_s)
        self.transport.set_position(0.0)
        self.suggestion, self.details = None, None
        self.timeline.set_overlay(overlay(result.analysis))
        empty = None
        if not result.suggestions:
            empty = ("Your music library is empty, so there is nothing to rank yet.\n\n"
                     "Add a folder of music (Library ▸ Add Folder…), then open the video again.")
        self._autoplay = False  # the best suggestion is selected, not played
        self.suggestions.set_suggestions(result.suggestions, empty_text=empty)
        self.suggestions.model.set_tempi(result.corrected_tempi)
        self._autoplay = True  # from now on, choosing a track plays it
        self.tabs.setCurrentWidget(self.suggestions)
        n = len(result.suggestions)
        self.set_status(f"{result.video_path.name}: {len(result.analysis.cut_times_s)} cuts; "
                        f"{n} of {result.library_size} tracks ranked in {elapsed:.1f} s")

    # == choosing and aligning a track ========================================================
    def _suggestion_selected(self, suggestion: Suggestion | None) -> None:
        same = (suggestion is not None and self.suggestion is not None and self.details is not None
                and suggestion.track_id == self.suggestion.track_id)
        if same:
            return  # the row moved (sorting, filtering), the choice did not
        self.suggestion = suggestion
        if suggestion is None or self.library is None:
            self.details = None
            self.player.set_track(None)
            self.alignment.set_track_controls_enabled(False)
            self.export_action.setEnabled(False)
            self._redraw()
            return
        try:
            self.details = jobs.track_details(self.library, suggestion.track_id)
        except BgmatchError as exc:
            self.show_error(str(exc))
            return
        self.offset_s = self.suggestions.model.offset_s(suggestion)
        was_playing = self.player.is_playing
        self.player.set_track(Path(suggestion.path), self.offset_s)
        self.alignment.set_track_controls_enabled(True)
        self.export_action.setEnabled(True)
        self._show_track_state()
        if was_playing or self._autoplay:
            self.player.play()

    def _show_track_state(self) -> None:
        if self.suggestion is None or self.details is None:
            return
        self.alignment.set_offset(self.offset_s, self.suggestion.offset_s)
        self.alignment.set_tempo(self.details.tempo_bpm, not self.details.correction.is_identity)
        self._redraw()

    def _redraw(self) -> None:
        if self.result is None:
            self.timeline.set_overlay(None)
            return
        if self.details is None:
            self.timeline.set_overlay(overlay(self.result.analysis))
            return
        self.timeline.set_overlay(overlay(self.result.analysis, self.details.music, offset_s=self.offset_s,
                                          beat_times_s=self.details.beat_times_s))
        self.timeline.plot.set_playhead(self.player.position_s)

    def set_offset(self, offset_s: float) -> None:
        """Start the chosen track at ``offset_s`` (clamped to the track)."""
        if self.suggestion is None or self.details is None:
            return
        limit = max(0.0, self.details.music.duration_s - 0.1)
        self.offset_s = round(min(max(0.0, offset_s), limit), 3)
        self.suggestions.model.set_offset(self.suggestion.track_id, self.offset_s)
        self.player.set_offset(self.offset_s)
        self._show_track_state()

    def nudge_seconds(self, delta_s: float) -> None:
        """Move the track's start by ``delta_s``."""
        self.set_offset(self.offset_s + delta_s)

    def nudge_beats(self, beats: int) -> None:
        """Move the track's start to the ``beats``-th (corrected) beat from here."""
        if self.details is not None:
            self.set_offset(step_beats_s(self.offset_s, self.details.beat_times_s, beats))

    def snap_to_beat(self) -> None:
        """Snap the track's start to the nearest (corrected) beat."""
        if self.details is not None:
            self.set_offset(snap_offset_s(self.offset_s, self.details.beat_times_s))

    def _shift_half_beat(self) -> None:
        if self.details is not None:
            half = beat_period_s(self.details.beat_times_s) / 2
            self._correct(lambda c: c.shifted(half))

    def _correct(self, change) -> None:
        """Apply a beat-grid change to the chosen track and save it in the library."""
        if self.details is None or self.library is None:
            return
        correction = change(self.details.correction)
        try:
            jobs.save_correction(self.library, self.details.track_id, correction)
        except BgmatchError as exc:
            self.show_error(str(exc))
            return
        self.details = jobs.with_correction(self.details.track_id, self.details.music, correction)
        self.suggestions.model.set_tempo(self.details.track_id, self.details.tempo_bpm)
        self._show_track_state()
        self.set_status(f"Beat grid of “{self.suggestion.title if self.suggestion else ''}”: "
                        f"{self.details.tempo_bpm:.1f} BPM, shifted {correction.shift_s * 1000:+.0f} ms (saved)")
        self.refresh_library()

    # == playback =============================================================================
    def _position_changed(self, position_s: float) -> None:
        self.transport.set_position(position_s)
        self.timeline.plot.set_playhead(position_s)

    def play_forward(self) -> None:
        """L: play; pressed while playing, double the speed (up to 4×)."""
        if self.player.is_playing:
            self.player.set_rate(min(4.0, self.player.rate * 2))
        else:
            self.player.set_rate(1.0)
            self.player.play()
        self.transport.set_rate(self.player.rate)

    def pause(self) -> None:
        """K: pause and return to normal speed."""
        self.player.pause()
        self.player.set_rate(1.0)
        self.transport.set_rate(1.0)

    # == more like this =======================================================================
    def more_like_this(self, track_id: str) -> None:
        """Sort the suggestions by likeness to ``track_id`` (computed in a worker)."""
        if self.library is None:
            return
        ids = [s.track_id for s in self.suggestions.model.suggestions()]
        title = next((s.title for s in self.suggestions.model.suggestions() if s.track_id == track_id), track_id)
        def show(similarity: dict[str, float]) -> None:
            self.suggestions.show_likeness(title, similarity)
            self.set_status(f"Sorted by likeness to “{title}”")

        self.runner.start("misc", "similar", jobs.similar_job(self.library, track_id, ids),
                          succeeded=show, failed=self.show_error)
        self.set_status(f"Finding tracks like “{title}”…")

    # == export ===============================================================================
    def export_current(self, out_path: Path | None = None) -> Job | None:
        """Export the video with the chosen track at the current offset (asks where when not given)."""
        if self.video_path is None or self.suggestion is None:
            self.show_error("Open a video and choose a track before exporting.")
            return None
        if self._export_job is not None:
            self.show_error("An export is already running.")
            return None
        if out_path is None:
            default = self.settings.last_folder("export") / f"{self.video_path.stem} + {self.suggestion.title}.mp4"
            chosen, _ = QFileDialog.getSaveFileName(self, "Export video with track", str(default), "MP4 video (*.mp4)")
            if not chosen:
                return None
            out_path = Path(chosen)
        if out_path.suffix.lower() not in {".mp4", ".m4v", ".mov"}:
            out_path = out_path.with_suffix(".mp4")
        self.settings.set_last_folder("export", out_path.parent)
        self._export_job = self.runner.start(
            "export", "export", jobs.export_job(self.video_path, Path(self.suggestion.path), self.offset_s, out_path),
            progress=self.export_task.progress, succeeded=self._exported, failed=self.show_error,
            cancelled=lambda: self.set_status("Export cancelled; no file was written."), done=self._export_done)
        self.export_task.start(f"Exporting {out_path.name}…")
        return self._export_job

    def cancel_export(self) -> None:
        """Stop the export (the partial file is removed)."""
        if self._export_job is not None:
            self._export_job.cancel()

    def _exported(self, path: Path) -> None:
        self.exported_path = Path(path)
        self.set_status(f"Exported {path}")
        box = self.show_message("Export finished", f"Wrote {path}")
        reveal = box.addButton("Show in Folder", QMessageBox.ButtonRole.ActionRole)
        reveal.clicked.connect(lambda: self.reveal(Path(path)))

    def reveal(self, path: Path) -> None:
        """Open the folder holding ``path`` in the file manager."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))):
            self.show_error(f"{path.parent}: no file manager could open this folder")

    def _export_done(self) -> None:
        self._export_job = None
        self.export_task.finish()

    # == training and model ===================================================================
    def open_training(self) -> None:
        """Training ▸ Retrain: the dialog, or a message when training is not installed."""
        run_training = jobs.find_training()
        if run_training is None:
            self.show_message("Training", "Training is not installed in this build: the training package "
                              "(bgmatch.training.cli.run_training) was not found.\n\nSuggestions use the "
                              "analysis score (beats, onsets, energy), which needs no training.")
            return
        self.show_training_dialog(run_training)

    def show_training_dialog(self, run_training: jobs.TrainingFn | None) -> TrainingDialog:
        """Open the Retrain dialog with the given training function."""
        if self.training_dialog is None:
            folder = self.models_folder() / "latest"
            self.training_dialog = TrainingDialog(self.settings, self.runner, run_training,
                                                  default_output=folder, parent=self)
            self.training_dialog.model_trained.connect(lambda _path: self._update_model_label())
        self.training_dialog.run_training = run_training
        self.training_dialog.show()
        self.training_dialog.raise_()
        return self.training_dialog

    def models_folder(self) -> Path:
        """Where trained models of this library live (``<library>/models``)."""
        return (self.library.folder if self.library is not None else self.settings.library_path) / "models"

    def model_bundles(self) -> list[Path]:
        """Trained model bundles in the library's models folder (a run's ``model/`` or a bare bundle)."""
        folder = self.models_folder()
        if not folder.is_dir():
            return []
        manifests = [*folder.glob(f"*/{BUNDLE_MANIFEST}"), *folder.glob(f"*/model/{BUNDLE_MANIFEST}")]
        return sorted(m.parent for m in manifests)

    def fill_model_menu(self) -> None:
        """Training ▸ Model: the analysis score and every trained bundle of this library."""
        self.model_menu.clear()
        group = QActionGroup(self.model_menu)
        choices = [(ANALYSIS_ONLY, "Analysis Score (beats, onsets, energy)")]
        choices += [(str(p), model_name(p)) for p in self.model_bundles()]
        current = self.settings.model_choice
        for value, text in choices:
            action = QAction(text, self.model_menu, checkable=True)
            action.setChecked(value == current)
            action.triggered.connect(lambda _checked=False, v=value: self.choose_model(v))
            group.addAction(action)
            self.model_menu.addAction(action)
        if len(choices) == 1:
            hint = self.model_menu.addAction("No trained models yet (Training ▸ Retrain…)")
            hint.setEnabled(False)

    def choose_model(self, value: str) -> None:
        """Remember the model choice."""
        self.settings.model_choice = value
        self._update_model_label()

    def _update_model_label(self) -> None:
        choice = self.settings.model_choice
        name = "analysis score" if choice == ANALYSIS_ONLY else model_name(Path(choice))
        self.model_label.setText(f"Model: {name}")

    def show_shortcuts(self) -> None:
        """A table of the keyboard shortcuts (from the menus' actions)."""
        self.show_message("Keyboard shortcuts", shortcuts_html(self.menuBar()))

    # == drag and drop ========================================================================
    @staticmethod
    def _local_files(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept local files."""
        if self._local_files(event):
            event.acceptProposedAction()
            self.video_pane.set_drag_active(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        """Stop highlighting the drop zone."""
        self.video_pane.set_drag_active(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped video (the first file, when several are dropped)."""
        self.video_pane.set_drag_active(False)
        files = self._local_files(event)
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        path = files[0]
        if path.is_dir():
            self.show_error(f"{path}: is a folder — drop a video file; to add music, use Library ▸ Add Folder…")
            return
        self.open_video(path)
