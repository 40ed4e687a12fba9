"""Read-only tables of rows described by columns: the model both lists use, and their view.

A :class:`Column` says how to read a row's raw value (used for sorting, :data:`SORT_ROLE`) and
how to show it; :class:`ColumnTableModel` answers Qt's questions from its columns, so the
suggestions and the library models only declare their columns and keep their rows.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from PySide6.QtCore import (QAbstractItemModel, QAbstractTableModel, QModelIndex, QPersistentModelIndex,
                            QSortFilterProxyModel, Qt, QTimer)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyledItemDelegate, QStyleOptionViewItem, QTableView

from bgmatch.engine.session import carries

#: The role proxies sort by: the raw value (lower-cased text; NaN sorts first).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The role delegates read a whole row by (the row object itself: a suggestion, a library row).
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex
Row = TypeVar("Row")
#: Room beside a header label: the theme's section padding and border, and a little air.
HEADER_PADDING_PX = 20
#: Air beside a cell's widest text, so neighbouring columns' texts never touch.
CELL_PADDING_PX = 12


@dataclass(frozen=True)
class Column:
    """One column: header, how to read its raw value (``value(model, row)``) and how to show it."""

    header: str
    value: Callable[[Any, Any], Any]
    text: Callable[[Any], str] = str
    tooltip: str = ""
    right: bool = False  # right-aligned (numbers)


def sort_key(value: Any) -> Any:
    """What :data:`SORT_ROLE` returns for a raw value."""
    if isinstance(value, str):
        return value.lower()
    return value if math.isfinite(value) else -math.inf


class ColumnTableModel(QAbstractTableModel, Generic[Row]):
    """Rows shown through :attr:`columns`; subclasses set the columns and :meth:`row_tooltip`."""

    columns: tuple[Column, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []

    def _replace_rows(self, rows: list[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_tooltip(self, row: Row) -> str:
        """The tooltip of every cell of ``row``."""
        return ""

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].tooltip or None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(col.value(self, row))
        if role == SORT_ROLE:
            return sort_key(col.value(self, row))
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignRight if col.right else Qt.AlignmentFlag.AlignLeft
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.row_tooltip(row)
        return None


def read_only_table(model: QAbstractItemModel, *, sort_column: int, stretch_column: int,
                    caps_px: dict[int, int] | None = None) -> QTableView:
    """A sortable table of whole-row selection, no editing, no grid, one stretching column; the
    other columns fit their text (see :func:`fit_columns`, at most ``caps_px[column]`` wide)
    whenever the rows change."""
    table = QTableView()
    table.setModel(model)
    table.setSortingEnabled(True)
    table.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    table.setShowGrid(False)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    header.setHighlightSections(False)
    fit = QTimer(table)  # once the view has taken the change in (rows, hidden columns)
    fit.setSingleShot(True)
    fit.timeout.connect(lambda: fit_columns(table, stretch_column, caps_px=caps_px))
    for signal in (model.modelReset, model.layoutChanged, model.rowsInserted):
        signal.connect(fit.start)
    return table


def fit_columns(table: QTableView, stretch_column: int, *, caps_px: dict[int, int] | None = None) -> None:
    """Size each shown column but ``stretch_column`` to its widest cell or its label, whichever is
    wider, and at most ``caps_px[column]`` (a long file path gives way to the stretching titles).

    Qt's ``ResizeToContents`` also reserves a sort arrow's room (a section's height) beside every
    label, which made a row of short numbers squeeze the title column away; the theme draws the
    arrow above the label instead, so that room is not needed.
    """
    header = table.horizontalHeader()
    metrics = header.fontMetrics()
    model = table.model()
    for column in range(model.columnCount()):
        if column == stretch_column or table.isColumnHidden(column):
            continue
        label = str(model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "")
        width = max(table.sizeHintForColumn(column) + CELL_PADDING_PX, metrics.horizontalAdvance(label) + HEADER_PADDING_PX)
        header.resizeSection(column, min(width, (caps_px or {}).get(column, width)))


class ElideMiddleDelegate(QStyledItemDelegate):
    """Draws its column's text elided in the middle (a file path keeps its folder and its name)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class TagFilterProxy(QSortFilterProxyModel):
    """A proxy that sorts by :data:`SORT_ROLE` and can keep only the rows carrying one tag
    (subclasses ask :meth:`carries_tag` in their ``filterAcceptsRow``)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._tag: str | None = None
        self.setSortRole(SORT_ROLE)

    @property
    def tag(self) -> str | None:
        """The tag every shown track carries (None: any)."""
        return self._tag

    def set_tag(self, tag: str | None) -> None:
        """Show only tracks carrying ``tag`` (None: every track)."""
        self.beginFilterChange()
        self._tag = tag
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def carries_tag(self, tags: Sequence[tuple[str, float]]) -> bool:
        """Whether a row with ``tags`` passes the tag filter."""
        return carries(tags, self._tag)

