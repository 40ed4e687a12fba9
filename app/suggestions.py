"""The suggestion list: a table model of ranked tracks, a tempo/duration filter proxy, the panel.

The model shows the session's suggestions; the user's offset and corrected tempo of each track
are read from the session (where they live) and redrawn on its events. Sorting uses raw numbers
(:data:`SORT_ROLE`), filtering uses the engine's :class:`TrackFilter`.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget,
)

from bgmatch.engine.library import Suggestion, TrackDetails, TrackFilter
from bgmatch.engine.session import Session

from . import formatting
from .tables import SORT_ROLE, Column, ColumnTableModel, Index, read_only_table


def _part(name: str) -> Callable[["SuggestionModel", Suggestion], float]:
    return lambda model, s: float(s.parts.get(name, math.nan))


COLUMNS = (
    Column("#", lambda m, s: s.rank, str, "Rank for this video (1 = best fit)", right=True),
    Column("Title", lambda m, s: s.title, str, "Track title (tags, else file name)"),
    Column("Score", lambda m, s: s.score, formatting.score,
           "Overall fit: sync + ¼ onset + ½ energy (+ the weighted learned score, with a trained model)", right=True),
    Column("Sync", _part("beat"), formatting.score, "How close the video's cuts and motion peaks fall to the beats",
           right=True),
    Column("Onset", _part("onset"), formatting.score, "How strong the music's onsets are at the video's cuts",
           right=True),
    Column("Energy", _part("energy"), formatting.score, "How the video's motion follows the music's loudness",
           right=True),
    Column("Learned", _part("learned"), formatting.score, "How well the trained model finds the music fits the "
           "video, in standard deviations over the ranked tracks (shown while a model is used)", right=True),
    Column("BPM", lambda m, s: m.tempo_bpm(s), formatting.bpm, "Tempo (after your beat-grid correction)", right=True),
    Column("Length", lambda m, s: s.duration_s, formatting.clock, "Track duration", right=True),
    Column("Offset", lambda m, s: m.offset_s(s), formatting.clock_ms, "Suggested start in the track", right=True),
    Column("Like", lambda m, s: m.similarity(s), lambda v: f"{v:.0%}" if math.isfinite(v) else "",
           "Likeness to the track chosen with “More like this”", right=True),
)
COL = {c.header: i for i, c in enumerate(COLUMNS)}


class SuggestionModel(ColumnTableModel):
    """Ranked suggestions for the current video (offsets and tempi: the session's)."""

    columns = COLUMNS

    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session
        self._similarity: dict[str, float] = {}
        session.events.offset.connect(self._offset_moved)
        session.events.beat_grid.connect(self._grid_corrected)

    # -- content -----------------------------------------------------------------------------
    def set_suggestions(self, suggestions: list[Suggestion]) -> None:
        """Replace the list (likeness is forgotten)."""
        self._similarity = {}
        self._replace_rows(suggestions)

    def suggestion(self, row: int) -> Suggestion:
        """The suggestion in ``row`` (model order)."""
        return self._rows[row]

    def suggestions(self) -> list[Suggestion]:
        """Every suggestion, in rank order."""
        return list(self._rows)

    def row_of(self, track_id: str) -> int:
        """Model row of a track, or -1."""
        return next((i for i, s in enumerate(self._rows) if s.track_id == track_id), -1)

    def _changed(self, track_id: str | None, column: int | None = None) -> None:
        if not self._rows:
            return
        rows = range(len(self._rows)) if track_id is None else [self.row_of(track_id)]
        for r in rows:
            if r >= 0:
                lo, hi = (column, column) if column is not None else (0, len(COLUMNS) - 1)
                self.dataChanged.emit(self.index(r, lo), self.index(r, hi))

    def _grid_corrected(self, details: TrackDetails) -> None:
        self._changed(details.track_id, COL["BPM"])

    def _offset_moved(self, _offset_s: float) -> None:
        chosen = self.session.chosen
        if chosen is not None:
            self._changed(chosen.track_id, COL["Offset"])

    def set_similarity(self, similarity: dict[str, float]) -> None:
        """Fill the "Like" column (empty dict clears it)."""
        self._similarity = dict(similarity)
        self._changed(None, COL["Like"])

    def tempo_bpm(self, s: Suggestion) -> float:
        """Tempo of a suggestion after the user's correction."""
        return self.session.tempo_of(s)

    def offset_s(self, s: Suggestion) -> float:
        """The user's offset for a suggestion, else the suggested one."""
        return self.session.offset_of(s)

    def similarity(self, s: Suggestion) -> float:
        """Likeness to the "more like this" track (NaN when not set)."""
        return self._similarity.get(s.track_id, math.nan)

    def row_tooltip(self, s: Suggestion) -> str:
        """Title, file and every part of the score."""
        parts = ", ".join(f"{k} {v:+.3f}" for k, v in sorted(s.parts.items()))
        return f"{s.title}\n{s.path}\nscore {s.score:+.3f} ({parts})"


class SuggestionFilterProxy(QSortFilterProxyModel):
    """Sorts by raw values and hides rows outside the tempo and duration ranges."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._filter = TrackFilter()
        self.setSortRole(SORT_ROLE)

    @property
    def track_filter(self) -> TrackFilter:
        """The active filter."""
        return self._filter

    def set_filter(self, track_filter: TrackFilter) -> None:
        """Apply a new filter."""
        self.beginFilterChange()
        self._filter = track_filter
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, SuggestionModel):
            return True
        s = model.suggestion(source_row)
        return self._filter.accepts(tempo_bpm=model.tempo_bpm(s), duration_s=s.duration_s)


def _range_box(suffix: str, maximum: float, step: float, tooltip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, maximum)
    box.setDecimals(0)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setSpecialValueText("any")  # 0 means "no bound"
    box.setToolTip(tooltip)
    box.setKeyboardTracking(False)
    return box


class SuggestionsPanel(QWidget):
    """Filters, the sortable suggestion table and "More like this"; lists the session's suggestions."""

    selected = Signal(object)  # Suggestion or None: the user's choice
    more_like_this = Signal(str)  # track id
    clear_likeness = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SuggestionModel(session, self)
        self.proxy = SuggestionFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.min_bpm = _range_box(" BPM", 400, 5, "Lowest tempo to show (after corrections)")
        self.max_bpm = _range_box(" BPM", 400, 5, "Highest tempo to show")
        self.min_len = _range_box(" s", 3600, 10, "Shortest track to show, seconds")
        self.max_len = _range_box(" s", 3600, 10, "Longest track to show, seconds")
        for box in (self.min_bpm, self.max_bpm, self.min_len, self.max_len):
            box.valueChanged.connect(self._apply_filter)
        self.filter_note = QLabel()
        self.filter_note.setObjectName("hint")

        filters = QHBoxLayout()
        filters.setContentsMargins(8, 4, 8, 0)  # "Tempo" off the tab pane's edge
        filters.addWidget(QLabel("Tempo"))
        filters.addWidget(self.min_bpm)
        filters.addWidget(QLabel("–"))
        filters.addWidget(self.max_bpm)
        filters.addSpacing(12)
        filters.addWidget(QLabel("Length"))
        filters.addWidget(self.min_len)
        filters.addWidget(QLabel("–"))
        filters.addWidget(self.max_len)
        filters.addStretch(1)
        filters.addWidget(self.filter_note)

        self.table = read_only_table(self.proxy, sort_column=COL["#"], stretch_column=COL["Title"])
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.setColumnHidden(COL["Like"], True)
        self.table.setColumnHidden(COL["Learned"], True)

        self.empty = QLabel()
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        self.set_empty_text("Drop a video on the window (or File ▸ Open Video…)\n"
                            "to rank your music library for it.")

        self.like_button = QPushButton("More like this")
        self.like_button.setToolTip("Sort the list by likeness to the selected track (tempo, feel, loudness)")
        self.like_button.setEnabled(False)
        self.like_button.clicked.connect(self._more_like_this)
        self.like_note = QLabel()
        self.like_note.setObjectName("hint")
        self.clear_like_button = QPushButton("Back to ranking")
        self.clear_like_button.setVisible(False)
        self.clear_like_button.clicked.connect(self.reset_likeness)
        actions = QHBoxLayout()
        actions.addWidget(self.like_button)
        actions.addWidget(self.clear_like_button)
        actions.addWidget(self.like_note, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.stack, 1)
        layout.addLayout(actions)
        session.events.suggestions.connect(self.set_suggestions)

    # -- content -----------------------------------------------------------------------------
    def set_empty_text(self, text: str) -> None:
        """The hint shown while there is nothing to list."""
        self.empty.setText(text)

    def set_suggestions(self, suggestions: list[Suggestion], *, empty_text: str | None = None) -> None:
        """Show new suggestions (or the empty state with ``empty_text``) and select the best one."""
        self.reset_likeness()
        self.model.set_suggestions(suggestions)
        if empty_text is not None:
            self.set_empty_text(empty_text)
        self.stack.setCurrentWidget(self.table if suggestions else self.empty)
        self.table.setColumnHidden(COL["Learned"], not any("learned" in s.parts for s in suggestions))
        self.table.sortByColumn(COL["#"], Qt.SortOrder.AscendingOrder)
        self._update_filter_note()
        if suggestions:
            self.select_row(0)

    def select_row(self, view_row: int) -> None:
        """Select a row of the (sorted, filtered) table."""
        if 0 <= view_row < self.proxy.rowCount():
            self.table.selectRow(view_row)
            self.table.setCurrentIndex(self.proxy.index(view_row, COL["Title"]))

    def current(self) -> Suggestion | None:
        """The selected suggestion."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.suggestion(self.proxy.mapToSource(index).row())

    def select_next(self, step: int = 1) -> None:
        """Select the next (or previous) visible row: "try the next track"."""
        row = self.table.currentIndex().row()
        self.select_row(max(0, min(self.proxy.rowCount() - 1, row + step)))

    # -- filters and likeness ----------------------------------------------------------------
    def _bound(self, box: QDoubleSpinBox) -> float | None:
        return box.value() or None

    def _apply_filter(self) -> None:
        lo_bpm, hi_bpm = self._bound(self.min_bpm), self._bound(self.max_bpm)
        lo_len, hi_len = self._bound(self.min_len), self._bound(self.max_len)
        # An inverted range is read as the user meaning the other way round.
        if lo_bpm and hi_bpm and lo_bpm > hi_bpm:
            lo_bpm, hi_bpm = hi_bpm, lo_bpm
        if lo_len and hi_len and lo_len > hi_len:
            lo_len, hi_len = hi_len, lo_len
        self.proxy.set_filter(TrackFilter(lo_bpm, hi_bpm, lo_len, hi_len))
        self._update_filter_note()

    def set_filter_values(self, *, min_bpm: float = 0, max_bpm: float = 0,
                          min_len_s: float = 0, max_len_s: float = 0) -> None:
        """Set the filter boxes (0 = no bound)."""
        values = {self.min_bpm: min_bpm, self.max_bpm: max_bpm, self.min_len: min_len_s, self.max_len: max_len_s}
        for box, value in values.items():
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self._apply_filter()

    def _update_filter_note(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.filter_note.setText(f"{shown} of {total} shown" if total and shown != total else
                                 (f"{total} tracks" if total else ""))

    def _more_like_this(self) -> None:
        s = self.current()
        if s is not None:
            self.more_like_this.emit(s.track_id)

    def show_likeness(self, title: str, similarity: dict[str, float]) -> None:
        """Fill the "Like" column and sort by it."""
        self.model.set_similarity(similarity)
        self.table.setColumnHidden(COL["Like"], False)
        self.table.sortByColumn(COL["Like"], Qt.SortOrder.DescendingOrder)
        self.like_note.setText(f"Sorted by likeness to “{title}”")
        self.clear_like_button.setVisible(True)
        self.select_row(0)

    def reset_likeness(self) -> None:
        """Back to the ranking."""
        had = bool(self.like_note.text())
        self.model.set_similarity({})
        self.table.setColumnHidden(COL["Like"], True)
        self.like_note.setText("")
        self.clear_like_button.setVisible(False)
        if had:
            self.table.sortByColumn(COL["#"], Qt.SortOrder.AscendingOrder)
            self.clear_likeness.emit()

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        s = self.current()
        self.like_button.setEnabled(s is not None)
        self.selected.emit(s)
