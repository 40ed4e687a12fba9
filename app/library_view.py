"""The library view: every indexed track with its analysis, and indexing with progress/cancel."""
from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QStackedWidget, QVBoxLayout, QWidget,
)

from . import formatting
from .jobs import LibraryRow
from .tables import SORT_ROLE, Column, ColumnTableModel, read_only_table
from .task_indicator import show_progress


def _grid_text(row: LibraryRow) -> str:
    c = row.correction
    if c.is_identity:
        return ""
    parts = []
    if c.tempo_factor != 1.0:
        parts.append(f"×{c.tempo_factor:g}")
    if c.shift_s:
        parts.append(f"{c.shift_s * 1000:+.0f} ms")
    return " ".join(parts)


COLUMNS = (
    Column("Title", lambda m, r: r.info.title),
    Column("BPM", lambda m, r: r.tempo_bpm, formatting.bpm, right=True),
    Column("Length", lambda m, r: r.info.duration_s, formatting.clock, right=True),
    Column("Beats", lambda m, r: r.n_beats, right=True),
    Column("Grid", lambda m, r: _grid_text(r)),
    Column("File", lambda m, r: r.info.path),
)
HEADERS = tuple(c.header for c in COLUMNS)


class LibraryModel(ColumnTableModel):
    """Rows of :class:`LibraryRow`."""

    columns = COLUMNS

    def set_rows(self, rows: list[LibraryRow]) -> None:
        """Replace the rows."""
        self._replace_rows(rows)

    def rows(self) -> list[LibraryRow]:
        """Every row."""
        return list(self._rows)

    def row_tooltip(self, row: LibraryRow) -> str:
        """The track's file."""
        return row.info.path


class LibraryPanel(QWidget):
    """Track table, search box, "Add folder…" and the indexing progress row."""

    add_folder_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LibraryModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)

        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles and files…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.add_button = QPushButton("Add Folder…")
        self.add_button.setToolTip("Index a folder of music (searched recursively; known files are skipped)")
        self.add_button.clicked.connect(self.add_folder_requested)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.add_button)

        # Titles are shown whole; long paths give way, elided in the middle (the tooltip has all).
        self.table = read_only_table(self.proxy, sort_column=0, stretch_column=len(HEADERS) - 1)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)

        self.empty = QLabel("Your library is empty.\n\nAdd a folder of music with “Add Folder…” "
                            "(or Library ▸ Add Folder…).\nEach file is analysed once — tempo, beats, "
                            "onsets, loudness — and remembered between runs.")
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("hint")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress_row = QWidget()
        row = QHBoxLayout(self.progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress_label, 1)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.progress_row.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.progress_row)
        layout.addWidget(self.summary)

    def set_rows(self, rows: list[LibraryRow], folder: str) -> None:
        """Show the library's tracks."""
        self.model.set_rows(rows)
        self.stack.setCurrentWidget(self.table if rows else self.empty)
        n = len(rows)
        self.summary.setText(f"{n} track{'s' if n != 1 else ''} in {folder}")

    def indexing_started(self) -> None:
        """Show the progress row."""
        self.progress.setRange(0, 0)
        self.progress_label.setText("Looking for music files…")
        self.progress_row.setVisible(True)
        self.add_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

    def indexing_progress(self, done: int, total: int, text: str) -> None:
        """Update the progress row: ``done`` of ``total`` files (``total`` 0: busy)."""
        show_progress(self.progress, done, total)
        self.progress_label.setText(text)

    def indexing_cancelling(self) -> None:
        """The user cancelled: say so until the current file is done."""
        self.cancel_button.setEnabled(False)
        self.progress_label.setText("Cancelling after the current file…")

    def indexing_finished(self) -> None:
        """Hide the progress row."""
        self.progress_row.setVisible(False)
        self.add_button.setEnabled(True)
