"""What the window's flows may use of the window: its widgets, the session, messages (a Protocol).

The flows (``*_flow.py``) are typed against :class:`Shell`, never against ``MainWindow`` or each
other, so the app's modules import one way: main window → menus → flows → shell → widgets. What one
flow starts in another goes through the session's events or a Qt signal the window connects.
"""
from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu, QMessageBox, QTabWidget

from bgmatch.engine.library import Library
from bgmatch.engine.session import Session

from .library_view import LibraryPanel
from .player import PreviewPlayer
from .settings import AppSettings
from .suggestions import SuggestionsPanel
from .task_indicator import TaskIndicator
from .timeline import TimelinePanel
from .transport import AlignmentBar, TransportBar
from .video_pane import VideoPane
from .workers import JobRunner

NO_LIBRARY = "No library is open — choose one with Library ▸ Use Library Folder…"


class Shell(Protocol):
    """The main window as its flows see it."""

    settings: AppSettings
    runner: JobRunner
    session: Session
    library: Library | None  # the session's library
    video_pane: VideoPane
    player: PreviewPlayer
    transport: TransportBar
    alignment: AlignmentBar
    timeline: TimelinePanel
    suggestions: SuggestionsPanel
    library_panel: LibraryPanel
    tabs: QTabWidget
    analysis_task: TaskIndicator
    library_task: TaskIndicator
    export_task: TaskIndicator
    model_task: TaskIndicator
    model_label: QLabel
    export_action: QAction
    model_menu: QMenu
    undo_model_action: QAction

    def show_message(self, title: str, text: str, icon: QMessageBox.Icon = ...) -> QMessageBox: ...

    def show_error(self, message: str) -> None: ...

    def set_status(self, text: str, *, error: bool = False) -> None: ...

    def setWindowTitle(self, title: str) -> None: ...
