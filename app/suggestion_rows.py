"""How a suggestion row is drawn: item delegates for the list's hero columns (no widget per row).

``TrackDelegate``: the title in bold, the artist beside it, the tag chips below (a click on one
is the tag filter). ``FitDelegate``: the 0–100 fit large and "N of M cuts on a beat".
``PlayDelegate``: a round play button; a click chooses and plays the row's track.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QModelIndex, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPainterPath, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from bgmatch.engine.library import FitMeasure, Suggestion

from .tables import ROW_ROLE, Index
from .tag_chips import ChipsDelegate, paint_chips, top_names

DIM = QColor("#9a9ca3")


def _item_background(option: QStyleOptionViewItem, painter: QPainter) -> None:
    """The view's own background for a cell (selection, alternate rows), without its text."""
    option.text = ""
    style = option.widget.style() if option.widget else None
    if style is not None:
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)


def _text_color(option: QStyleOptionViewItem) -> QColor:
    selected = bool(option.state & QStyle.StateFlag.State_Selected)
    return option.palette.highlightedText().color() if selected else option.palette.text().color()


class TrackDelegate(ChipsDelegate):
    """The "Track" cell: the title in bold and the artist on the first line, tag chips below."""

    def __init__(self, active_tag: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(lambda s: s.tags, active_tag, parent)

    def chip_area(self, option: QStyleOptionViewItem) -> QRect:
        r = option.rect.adjusted(6, 0, -6, -3)
        return QRect(r.left(), r.top() + r.height() // 2, r.width(), r.height() - r.height() // 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        _item_background(option, painter)
        s: Suggestion | None = index.data(ROW_ROLE)
        if s is None:
            return
        r = option.rect.adjusted(6, 3, -6, 0)
        line = QRect(r.left(), r.top(), r.width(), option.rect.height() // 2 - 2)
        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(_text_color(option))
        metrics = painter.fontMetrics()
        title = metrics.elidedText(s.title, Qt.TextElideMode.ElideRight, line.width())
        painter.drawText(line, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), title)
        used = metrics.horizontalAdvance(title)
        if s.artist and used + 20 < line.width():
            painter.setFont(option.font)
            painter.setPen(DIM)
            rest = QRect(line.left() + used + 8, line.top(), line.width() - used - 8, line.height())
            artist = painter.fontMetrics().elidedText(s.artist, Qt.TextElideMode.ElideRight, rest.width())
            painter.drawText(rest, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), artist)
        painter.restore()
        paint_chips(painter, option.fontMetrics, self.chip_area(option), top_names(s.tags), active=self._active())

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        s: Suggestion | None = index.data(ROW_ROLE)
        if s is None:
            return super().sizeHint(option, index)
        bold = QFont(option.font)
        bold.setBold(True)
        title = QFontMetrics(bold).horizontalAdvance(s.title)
        artist = option.fontMetrics.horizontalAdvance(s.artist) + 8 if s.artist else 0
        chips = super().sizeHint(option, index).width()
        return QSize(max(title + artist, chips) + 12, row_height(option.fontMetrics.height()))


def row_height(line_px: int) -> int:
    """A list row's height for a font line of ``line_px``: two lines (title, chips) and air."""
    return 2 * line_px + 16


class FitDelegate(QStyledItemDelegate):
    """The "Fit" cell: the 0–100 fit large, "N of M cuts on a beat" beside it."""

    def __init__(self, fit_of: Callable[[Suggestion], FitMeasure | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fit_of = fit_of

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        _item_background(option, painter)
        s: Suggestion | None = index.data(ROW_ROLE)
        fit = self._fit_of(s) if s is not None else None
        if fit is None:
            return
        r = option.rect.adjusted(6, 2, -6, -2)
        painter.save()
        big = QFont(option.font)
        big.setBold(True)
        big.setPointSizeF(option.font.pointSizeF() * 1.35)
        painter.setFont(big)
        painter.setPen(_text_color(option))
        number = str(fit.fit)
        width = painter.fontMetrics().horizontalAdvance("100")
        painter.drawText(QRect(r.left(), r.top(), width, r.height()),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), number)
        painter.setFont(option.font)
        painter.setPen(DIM if not option.state & QStyle.StateFlag.State_Selected else _text_color(option))
        rest = QRect(r.left() + width + 8, r.top(), r.width() - width - 8, r.height())
        words = f"{fit.cuts_on_beat} of {fit.cuts_total}\ncuts on a beat"
        painter.drawText(rest, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), words)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        big = QFont(option.font)
        big.setBold(True)
        big.setPointSizeF(option.font.pointSizeF() * 1.35)
        width = QFontMetrics(big).horizontalAdvance("100") + 8 + option.fontMetrics.horizontalAdvance("cuts on a beat")
        return QSize(width + 14, row_height(option.fontMetrics.height()))


class PlayDelegate(QStyledItemDelegate):
    """The "Play" cell: a round play button; a click emits :attr:`clicked` with the (view) index."""

    clicked = Signal(QModelIndex)
    DIAMETER = 26

    def button_rect(self, option: QStyleOptionViewItem) -> QRect:
        d = self.DIAMETER
        c = option.rect.center()
        return QRect(c.x() - d // 2, c.y() - d // 2, d, d)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        _item_background(option, painter)
        rect = self.button_rect(option)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        lit = bool(option.state & (QStyle.StateFlag.State_MouseOver | QStyle.StateFlag.State_Selected))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#4fc3f7") if lit else QColor("#2f6f9f"))  # on a selected row: lighter than it
        painter.drawEllipse(rect)
        c = QPointF(rect.center()) + QPointF(1.5, 0.5)
        k = self.DIAMETER * 0.2
        triangle = QPolygonF([c + QPointF(-k * 0.8, -k), c + QPointF(-k * 0.8, k), c + QPointF(k * 1.1, 0)])
        path = QPainterPath()
        path.addPolygon(triangle)
        painter.fillPath(path, QColor("#ffffff"))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(self.DIAMETER + 16, self.DIAMETER + 8)

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: Index) -> bool:
        if (event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent)
                and self.button_rect(option).contains(event.position().toPoint())):
            self.clicked.emit(QModelIndex(index))
            return True
        return super().editorEvent(event, model, option, index)
