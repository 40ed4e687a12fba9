"""The main window: places the panes, menus and status bar, shows messages, keeps the layout, takes drops.

The state being edited is the engine's Qt-free :class:`~bgmatch.engine.session.Session` (the
video, its suggestions, the chosen track, its offset and beat grid); the widgets subscribe to it.
What the window does is in one flow per job, each a small module typed against
:class:`.shell.Shell` (never this module or another flow): the library (:mod:`.library_flow`), a
video's suggestions (:mod:`.suggest_flow`), the preview of the chosen track (:mod:`.preview_flow`),
export (:mod:`.export_flow`), retraining (:mod:`.training_flow`) and the model choice
(:mod:`.model_flow`); the window connects what one flow announces to another. Long work runs on
the worker lanes (:mod:`.workers`, :mod:`.jobs`).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragLeaveEvent, QDropEvent
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from bgmatch.engine.library import Library
from bgmatch.engine.session import Session

from .export_flow import ExportFlow
from .fit_flow import FitFlow
from .library_flow import LibraryFlow
from .library_view import LibraryPanel
from .menus import AlignmentActions, alignment_actions, build_menus, shortcuts_html
from .model_flow import ModelFlow
from .player import PreviewPlayer
from .preview_flow import PreviewFlow
from .settings import AppSettings
from .suggest_flow import SuggestFlow
from .suggestions import SuggestionsPanel
from .task_indicator import TaskIndicator
from .timeline import TimelinePanel
from .training_flow import TrainingFlow
from .transport import AlignmentBar, TransportBar
from .video_pane import VideoPane
from .workers import JobRunner

#: Layout blobs saved in the settings.
SPLITTERS = ("main", "top")


class MainWindow(QMainWindow):
    """The bgmatch editing window."""

    def __init__(self, settings: AppSettings | None = None, *, library: Library | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.runner = JobRunner(self)
        self.session = Session(library)
        self.last_message: QMessageBox | None = None
        self.closed = False  # set by closeEvent: late job signals then open no message box

        self.setWindowTitle("bgmatch")
        self.setAcceptDrops(True)
        alignment = alignment_actions(self)
        self._build_widgets(alignment)
        self.library_flow = LibraryFlow(self)
        self.suggest_flow = SuggestFlow(self)
        self.preview_flow = PreviewFlow(self)
        self.fit_flow = FitFlow(self)  # the preview's "Fit to video"
        self.export_flow = ExportFlow(self)
        self.model_flow = ModelFlow(self)
        self.training_flow = TrainingFlow(self, models_folder=self.model_flow.models_folder)
        self.library_flow.opened.connect(self.model_flow.restore)
        self.model_flow.ranking_changed.connect(self.suggest_flow.rerank)
        self.training_flow.model_trained.connect(self.model_flow.use)
        build_menus(self, alignment)
        self._restore_layout()
        self.model_flow.update_label()
        self.library_flow.start()

    @property
    def library(self) -> Library | None:
        """The open library (the session's)."""
        return self.session.library

    @library.setter
    def library(self, library: Library | None) -> None:
        self.session.set_library(library)

    def _build_widgets(self, alignment: AlignmentActions) -> None:
        self.video_pane = VideoPane()
        self.player = PreviewPlayer(self.video_pane.video, self, offset_s=lambda: self.session.offset_s)
        self.player.set_volume(self.settings.volume)
        self.transport = TransportBar()
        self.alignment = AlignmentBar(alignment.nudges, alignment.grid)
        self.timeline = TimelinePanel()
        self.suggestions = SuggestionsPanel(self.session)
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
        self.model_task = TaskIndicator()
        for task in (self.analysis_task, self.library_task, self.export_task, self.model_task):
            status.addPermanentWidget(task)
        self.no_sound_label = QLabel("No sound output")
        self.no_sound_label.setObjectName("error")
        self.no_sound_label.setToolTip("The system reports no audio output device: the preview plays the "
                                       "track silently. Connect one; bgmatch picks it up at once.")
        status.addPermanentWidget(self.no_sound_label)
        self.media_devices = QMediaDevices(self)
        self.media_devices.audioOutputsChanged.connect(self.update_sound_output)
        self.update_sound_output()
        self.model_label = QLabel()
        self.model_label.setObjectName("hint")
        status.addPermanentWidget(self.model_label)

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
        self.closed = True
        self.save_layout()
        self.runner.cancel_all()
        self.player.stop()
        self.training_flow.close()
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
        if not self.closed:  # a job's late signal after the close: a box shown now would keep the app from quitting
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

    def update_sound_output(self) -> None:
        """Play the preview on the system's default audio device (it may have changed), and say in
        the status bar when there is none."""
        device = QMediaDevices.defaultAudioOutput()
        if not device.isNull() and device != self.player.audio.device():
            self.player.audio.setDevice(device)
        self.no_sound_label.setVisible(device.isNull())

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
        self.suggest_flow.open_video(path)
