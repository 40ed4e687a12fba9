"""The library view: every indexed track with its analysis and tag chips, a search box and a tag
filter, and indexing with progress/cancel.

Titles take the room (elided at the end, whole in the tooltip); the file path gives way, elided
in the middle.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QStackedWidget, QVBoxLayout, QWidget,
)

from . import formatting
from .jobs import LibraryRow
from .tables import Column, ColumnTableModel, ElideMiddleDelegate, Index, TagFilterProxy, fit_columns, read_only_table
from .tag_chips import ChipsDelegate, TagFilterBox, tags_tooltip
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
    Column("Artist", lambda m, r: r.info.artist or ""),
    Column("Tags", lambda m, r: ", ".join(name for name, _p in r.info.tags[:3]), lambda _v: "",
           "The track's top tags (genre, mood, instruments): click one to list only the tracks carrying it"),
    Column("BPM", lambda m, r: r.tempo_bpm, formatting.bpm, right=True),
    Column("Length", lambda m, r: r.info.duration_s, formatting.clock, right=True),
    Column("Beats", lambda m, r: r.n_beats, right=True),
    Column("Grid", lambda m, r: _grid_text(r)),
    Column("File", lambda m, r: r.info.path),
)
HEADERS = tuple(c.header for c in COLUMNS)
LCOL = {h: i for i, h in enumerate(HEADERS)}
#: The widest a title or an artist is sized to (px): longer ones are elided at the end (the tooltip
#: has them whole); the file column takes what is left, its path elided in the middle.
TITLE_CAP_PX, ARTIST_CAP_PX = 360, 200


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
        """The whole title, the artist, the file and the tags with their probabilities."""
        info = row.info
        who = f" — {info.artist}" if info.artist else ""
        tags = f"\n{tags_tooltip(info.tags)}" if info.tags else ""
        return f"{info.title}{who}\n{info.path}{tags}"


class LibraryFilterProxy(TagFilterProxy):
    """Sorts by raw values; shows the rows matching the search text and carrying the tag filter's tag."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if isinstance(model, LibraryModel) and not self.carries_tag(model.rows()[source_row].info.tags):
            return False
        return super().filterAcceptsRow(source_row, source_parent)


class LibraryPanel(QWidget):
    """Track table, search box, "Add folder…" and the indexing progress row."""

    add_folder_requested = Signal()
    cancel_requested = Signal()
    tag_filter_changed = Signal(object)  # str | None: the user chose a tag (a chip or the box) or cleared it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LibraryModel(self)
        self.proxy = LibraryFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self._folder = ""
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles and files…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.search.textChanged.connect(lambda _t: self._update_summary())
        self.add_button = QPushButton("Add Folder…")
        self.add_button.setToolTip("Index a folder of music (searched recursively; known files are skipped)")
        self.add_button.clicked.connect(self.add_folder_requested)
        self.tag_box = TagFilterBox()
        self.tag_box.chosen.connect(self.tag_filter_changed)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.tag_box)
        top.addWidget(self.add_button)

        # Titles take the room (elided at the end, whole in the tooltip); long paths give way,
        # elided in the middle.
        self._caps = {LCOL["Title"]: TITLE_CAP_PX, LCOL["Artist"]: ARTIST_CAP_PX}
        self.table = read_only_table(self.proxy, sort_column=0, stretch_column=LCOL["File"], caps_px=self._caps)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.file_delegate = ElideMiddleDelegate(self.table)
        self.table.setItemDelegateForColumn(LCOL["File"], self.file_delegate)
        self.chips = ChipsDelegate(lambda row: row.info.tags, lambda: self.proxy.tag, self.table)
        self.chips.tag_clicked.connect(self._chip_clicked)
        self.table.setItemDelegateForColumn(LCOL["Tags"], self.chips)
        self.table.horizontalHeader().setMinimumSectionSize(48)

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
        self.tag_box.set_tags([r.info.tags for r in rows])
        self.table.setColumnHidden(LCOL["Artist"], not any(r.info.artist for r in rows))
        self.table.setColumnHidden(LCOL["Grid"], all(r.correction.is_identity for r in rows))
        self.stack.setCurrentWidget(self.table if rows else self.empty)
        self._folder = folder
        self._update_summary()

    def _update_summary(self) -> None:
        n, shown = self.model.rowCount(), self.proxy.rowCount()
        tracks = f"{n} track{'s' if n != 1 else ''} in {self._folder}"
        self.summary.setText(tracks if shown == n else f"{shown} of {tracks} shown")

    def showEvent(self, event: QShowEvent) -> None:
        """Size the columns again once shown: sized while the tab was hidden, before the theme's font
        reached the table, they were too narrow for the titles."""
        super().showEvent(event)
        fit_columns(self.table, LCOL["File"], caps_px=self._caps)

    def show_tag_filter(self, tag: str | None) -> None:
        """List only the tracks carrying ``tag`` (None: all), as the session says."""
        self.tag_box.show_tag(tag)
        self.proxy.set_tag(tag)
        self.table.viewport().update()  # the active chip is highlighted
        self._update_summary()

    def _chip_clicked(self, tag: str) -> None:
        self.tag_filter_changed.emit(None if tag == self.proxy.tag else tag)

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
