"""The suggestion list, the hero of the window: each row reads like a stock-music site's result.

A row shows the title and artist with up to three tag chips, the plain fit (0–100 and "N of M
cuts on a beat", the CLI's vocabulary: ``engine.analysis.fitmeasure`` through the session),
tempo, length and a play button; item delegates paint them (one view, no widget per row). The
raw numbers (score parts, offsets to the ms) stay in the model's hidden columns and go to the
details pane (:mod:`.details_pane`). Above the list: the text-steering bar (:mod:`.text_steer`)
and the filters (tempo, length, tag). The user's offset and corrected tempo of each track are
read from the session (where they live) and redrawn on its events. Sorting uses raw numbers
(:data:`SORT_ROLE`), filtering the engine's :class:`TrackFilter` and the session's tag filter.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QStackedWidget,
    QVBoxLayout, QWidget,
)

from bgmatch.engine.library import FitMeasure, Suggestion, TrackDetails, TrackFilter
from bgmatch.engine.session import Session

from . import formatting
from .details_pane import DetailsPane
from .suggestion_filters import SuggestionFilterProxy, range_box
from .suggestion_rows import FitDelegate, PlayDelegate, TrackDelegate, row_height
from .tables import Column, ColumnTableModel, read_only_table
from .tag_chips import TagFilterBox, tags_tooltip
from .text_steer import TextSteerBar


def _part(name: str) -> Callable[["SuggestionModel", Suggestion], float]:
    return lambda model, s: float(s.parts.get(name, math.nan))


def _fit_value(model: "SuggestionModel", s: Suggestion) -> float:
    fit = model.fit(s)
    return float(fit.fit) if fit is not None else math.nan


COLUMNS = (
    Column("#", lambda m, s: s.rank, str, "Rank for this video (1 = best fit)", right=True),
    Column("Track", lambda m, s: s.title, str, "Title and artist (the file's own tags, else its name) and its "
           "top tags: click a tag to list only the tracks carrying it"),
    Column("Fit", _fit_value, lambda v: str(int(v)) if math.isfinite(v) else "–", "How well the track fits the video, 0–100 (50: no better than chance), "
           "and how many of the video's cuts land on a beat (within ±40 ms) at the offset"),
    Column("BPM", lambda m, s: m.tempo_bpm(s), formatting.bpm, "Tempo (after your beat-grid correction)", right=True),
    Column("Length", lambda m, s: s.duration_s, formatting.clock, "Track duration", right=True),
    Column("Play", lambda m, s: "", str, "Play this track with the video"),
    # The raw numbers: hidden in the list, shown in the details pane (and kept for sorting and scripts).
    Column("Score", lambda m, s: s.score, formatting.score,
           "Overall fit: sync plus the weighted onset, energy and bar-line parts (+ the weighted learned "
           "score, with a trained model)", right=True),
    Column("Sync", _part("beat"), formatting.score, "How close the video's cuts and motion peaks fall to the beats",
           right=True),
    Column("Onset", _part("onset"), formatting.score,
           "How strong the music's onsets are at the video's cuts, against its own onsets (0: no stronger than "
           "at random moments)", right=True),
    Column("Energy", _part("energy"), formatting.score, "How the video's motion follows the music's loudness",
           right=True),
    Column("Learned", _part("learned"), formatting.score, "How well the trained model finds the music fits the "
           "video, in standard deviations over the ranked tracks (shown while a model is used)", right=True),
    Column("Offset", lambda m, s: m.offset_s(s), formatting.offset_clock, "Suggested start in the track", right=True),
    Column("Like", lambda m, s: m.similarity(s), lambda v: f"{v:.0%}" if math.isfinite(v) else "",
           "Likeness to the track chosen with “More like this”", right=True),
)
COL = {c.header: i for i, c in enumerate(COLUMNS)}
#: Columns the list shows; the others are the details pane's (``Like`` appears with "More like this").
SHOWN = ("#", "Track", "Fit", "BPM", "Length", "Play")


class SuggestionModel(ColumnTableModel):
    """Ranked suggestions for the current video (offsets, tempi and fits: the session's)."""

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
        self._changed(details.track_id)  # tempo, and the cuts on its beats

    def _offset_moved(self, _offset_s: float) -> None:
        chosen = self.session.chosen
        if chosen is not None:
            self._changed(chosen.track_id)  # offset, and the cuts on a beat from it

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

    def fit(self, s: Suggestion) -> FitMeasure | None:
        """The suggestion's fit measure (the session's; cuts counted at the user's offset)."""
        return self.session.fit_of(s)

    def similarity(self, s: Suggestion) -> float:
        """Likeness to the "more like this" track (NaN when not set)."""
        return self._similarity.get(s.track_id, math.nan)

    def row_tooltip(self, s: Suggestion) -> str:
        """Title, artist, file and the tags with their probabilities (the numbers: the details pane)."""
        who = f" — {s.artist}" if s.artist else ""
        tags = f"\n{tags_tooltip(s.tags)}" if s.tags else ""
        return f"{s.title}{who}\n{s.path}{tags}"


class SuggestionsPanel(QWidget):
    """Text steering, filters, the suggestion list, the details pane and "More like this"; lists the
    session's suggestions."""

    selected = Signal(object)  # Suggestion or None: the user's choice
    play_requested = Signal(object)  # Suggestion: its play button was clicked (it is selected first)
    steer_changed = Signal(object)  # TextSteer: the user changed the words or their weight
    more_like_this = Signal(str)  # track id
    clear_likeness = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._filtering = False  # a filter is being applied: selection changes are not the user's
        self.model = SuggestionModel(session, self)
        self.proxy = SuggestionFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.steer_bar = TextSteerBar()
        self.steer_bar.changed.connect(self.steer_changed)

        self.min_bpm = range_box(" BPM", 400, 5, "Lowest tempo to show (after corrections)")
        self.max_bpm = range_box(" BPM", 400, 5, "Highest tempo to show")
        self.min_len = range_box(" s", 3600, 10, "Shortest track to show, seconds")
        self.max_len = range_box(" s", 3600, 10, "Longest track to show, seconds")
        for box in (self.min_bpm, self.max_bpm, self.min_len, self.max_len):
            box.valueChanged.connect(self._apply_filter)
        self.tag_box = TagFilterBox()
        self.tag_box.chosen.connect(session.set_tag_filter)
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
        filters.addSpacing(12)
        filters.addWidget(self.tag_box)
        filters.addStretch(1)
        filters.addWidget(self.filter_note)

        self.table = read_only_table(self.proxy, sort_column=COL["#"], stretch_column=COL["Track"])
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMouseTracking(True)  # the play button's hover
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(row_height(self.table.fontMetrics().height()))
        self.track_delegate = TrackDelegate(lambda: self.session.tag_filter, self.table)
        self.track_delegate.tag_clicked.connect(self._chip_clicked)
        self.fit_delegate = FitDelegate(self.model.fit, self.table)
        self.play_delegate = PlayDelegate(self.table)
        self.play_delegate.clicked.connect(self._play_clicked)
        self.table.setItemDelegateForColumn(COL["Track"], self.track_delegate)
        self.table.setItemDelegateForColumn(COL["Fit"], self.fit_delegate)
        self.table.setItemDelegateForColumn(COL["Play"], self.play_delegate)
        for c in COLUMNS:
            self.table.setColumnHidden(COL[c.header], c.header not in SHOWN)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.empty = QLabel()
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        self.set_empty_text("Drop a video on the window (or File ▸ Open Video…)\n"
                            "to rank your music library for it.")
        self.details = DetailsPane()

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
        layout.addWidget(self.steer_bar)
        layout.addLayout(filters)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.details)
        layout.addLayout(actions)
        session.events.suggestions.connect(self.set_suggestions)
        session.events.tag_filter.connect(self._tag_filter_changed)
        for event in (session.events.offset, session.events.beat_grid, session.events.chosen):
            event.connect(lambda _value: self._show_details())

    # -- content -----------------------------------------------------------------------------
    def set_empty_text(self, text: str) -> None:
        """The hint shown while there is nothing to list."""
        self.empty.setText(text)

    def set_suggestions(self, suggestions: list[Suggestion], *, empty_text: str | None = None) -> None:
        """Show new suggestions (or the empty state with ``empty_text``) and select the chosen one
        (else the best)."""
        self.reset_likeness()
        self.model.set_suggestions(suggestions)
        if empty_text is not None:
            self.set_empty_text(empty_text)
        self.stack.setCurrentWidget(self.table if suggestions else self.empty)
        self.tag_box.set_tags([s.tags for s in suggestions])
        self.table.sortByColumn(COL["#"], Qt.SortOrder.AscendingOrder)
        self._update_filter_note()
        chosen = self.session.chosen
        row = self.model.row_of(chosen.track_id) if chosen is not None else -1
        view_row = self.proxy.mapFromSource(self.model.index(row, 0)).row() if row >= 0 else -1
        if view_row >= 0:
            self.select_row(view_row)
        elif suggestions:
            self.select_row(0)
        self._show_details()

    def select_row(self, view_row: int) -> None:
        """Select a row of the (sorted, filtered) table."""
        if 0 <= view_row < self.proxy.rowCount():
            self.table.selectRow(view_row)
            self.table.setCurrentIndex(self.proxy.index(view_row, COL["Track"]))

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

    def _show_details(self) -> None:
        s = self.current()
        if s is None:
            self.details.show_suggestion(None)
        else:
            self.details.show_suggestion(s, self.model.fit(s), offset_s=self.model.offset_s(s),
                                         tempo_bpm=self.model.tempo_bpm(s))

    def _play_clicked(self, index: QModelIndex) -> None:
        self.select_row(index.row())  # choosing it is the same path as a click on its row
        s = self.current()
        if s is not None:
            self.play_requested.emit(s)

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
        self._filtered(lambda: self.proxy.set_filter(TrackFilter(lo_bpm, hi_bpm, lo_len, hi_len)))
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

    def _chip_clicked(self, tag: str) -> None:
        """A chip was clicked: filter by its tag, or clear the filter when it is the tag already."""
        self.session.set_tag_filter(None if tag == self.session.tag_filter else tag)

    def _tag_filter_changed(self, tag: str | None) -> None:
        self.tag_box.show_tag(tag)
        self._filtered(lambda: self.proxy.set_tag(tag))
        self.table.viewport().update()  # the active chip is highlighted
        self._update_filter_note()

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

    def _filtered(self, change: Callable[[], None]) -> None:
        """Apply a filter ``change`` without choosing another track: the row moving or going away is
        not the user's pick; the chosen track stays selected while it is shown."""
        self._filtering = True
        try:
            change()
            chosen = self.session.chosen
            row = self.model.row_of(chosen.track_id) if chosen is not None else -1
            view_row = self.proxy.mapFromSource(self.model.index(row, 0)).row() if row >= 0 else -1
            if view_row >= 0:
                self.select_row(view_row)
            else:
                self.table.selectionModel().clear()
        finally:
            self._filtering = False
        self._show_details()

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        s = self.current()
        self.like_button.setEnabled(s is not None)
        self._show_details()
        if not self._filtering:
            self.selected.emit(s)
