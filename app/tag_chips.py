"""Tag chips: a track's top tags drawn as small rounded labels in a list cell, clickable, and the
tag filter box both lists share.

The chips are painted by an item delegate (one per view, never a widget per row); a click on one
emits :attr:`ChipsDelegate.tag_clicked` with its tag, which the lists use as the tag filter.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter
from PySide6.QtWidgets import QComboBox, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from bgmatch.engine.session import tag_counts

from .tables import ROW_ROLE

Index = QModelIndex | QPersistentModelIndex
Tags = Sequence[tuple[str, float]]
#: Chips shown per track (its best tags).
MAX_CHIPS = 3
CHIP_PAD_X, CHIP_PAD_Y, CHIP_GAP = 6, 1, 4
CHIP_FILL, CHIP_TEXT = QColor("#33414f"), QColor("#cfe3f5")
CHIP_ACTIVE, CHIP_ACTIVE_TEXT = QColor("#4fc3f7"), QColor("#0d2230")  # the tag filter's: lit on any row


def chip_rects(metrics: QFontMetrics, area: QRect, names: Sequence[str]) -> list[tuple[QRect, str]]:
    """Where each chip goes, left to right in ``area`` (vertically centred); chips that do not fit
    whole are left out."""
    out: list[tuple[QRect, str]] = []
    x, h = area.left(), metrics.height() + 2 * CHIP_PAD_Y
    top = area.top() + (area.height() - h) // 2
    for name in names:
        w = metrics.horizontalAdvance(name) + 2 * CHIP_PAD_X
        if x + w > area.right() + 1:
            break
        out.append((QRect(x, top, w, h), name))
        x += w + CHIP_GAP
    return out


def paint_chips(painter: QPainter, metrics: QFontMetrics, area: QRect, names: Sequence[str], *,
                active: str | None = None) -> list[tuple[QRect, str]]:
    """Draw ``names`` as chips in ``area`` (the ``active`` one, the tag filter, highlighted); returns
    their rectangles."""
    rects = chip_rects(metrics, area, names)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    for rect, name in rects:
        painter.setBrush(CHIP_ACTIVE if name == active else CHIP_FILL)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
    for rect, name in rects:
        painter.setPen(CHIP_ACTIVE_TEXT if name == active else CHIP_TEXT)
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), name)
    painter.restore()
    return rects


def top_names(tags: Tags, k: int = MAX_CHIPS) -> list[str]:
    """The names of the first ``k`` tags."""
    return [name for name, _p in tags[:k]]


def tags_tooltip(tags: Tags) -> str:
    """The tags with their probabilities, one line (``piano 61 %, calm 40 %``)."""
    return ", ".join(f"{name} {p:.0%}" for name, p in tags)


class ChipsDelegate(QStyledItemDelegate):
    """Paints the row's tags (``tags_of(row)``) as chips; a click on one emits :attr:`tag_clicked`."""

    tag_clicked = Signal(str)

    def __init__(self, tags_of: Callable[[object], Tags], active: Callable[[], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tags_of, self._active = tags_of, active

    def chip_area(self, option: QStyleOptionViewItem) -> QRect:
        """The part of a cell the chips are drawn in."""
        return option.rect.adjusted(4, 2, -4, -2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        row = index.data(ROW_ROLE)
        if row is not None:
            paint_chips(painter, option.fontMetrics, self.chip_area(option), top_names(self._tags_of(row)),
                        active=self._active())

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        row = index.data(ROW_ROLE)
        names = top_names(self._tags_of(row)) if row is not None else []
        metrics = option.fontMetrics
        width = sum(metrics.horizontalAdvance(n) + 2 * CHIP_PAD_X + CHIP_GAP for n in names) + 8
        return QSize(width, metrics.height() + 2 * CHIP_PAD_Y + 6)

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem, index: Index) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            row = index.data(ROW_ROLE)
            if row is not None:
                for rect, name in chip_rects(option.fontMetrics, self.chip_area(option), top_names(self._tags_of(row))):
                    if rect.contains(event.position().toPoint()):
                        self.tag_clicked.emit(name)
                        return True
        return super().editorEvent(event, model, option, index)


ANY_TAG = "All tags"


class TagFilterBox(QComboBox):
    """Choose the tag every listed track must carry ("All tags": no filter); :attr:`chosen` says
    when the user picks one (None for all)."""

    chosen = Signal(object)  # str | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Show only the tracks tagged with this (genre, mood, instrument); click a chip to choose it")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._tag: str | None = None
        self.set_tags([])
        self.activated.connect(self._picked)

    @property
    def tag(self) -> str | None:
        """The tag shown as chosen."""
        return self._tag

    def set_tags(self, tagged: Sequence[Tags]) -> None:
        """Offer the tags ``tagged`` tracks carry, most carried first, with their counts."""
        self.blockSignals(True)
        self.clear()
        self.addItem(ANY_TAG, None)
        counts = tag_counts(tagged)
        for name, n in counts:
            self.addItem(f"{name} ({n})", name)
        if self._tag is not None and self._tag not in dict(counts):
            self.addItem(f"{self._tag} (0)", self._tag)
        self.setEnabled(bool(counts) or self._tag is not None)
        self._show(self._tag)
        self.blockSignals(False)

    def show_tag(self, tag: str | None) -> None:
        """Show ``tag`` as chosen (the session's filter changed)."""
        self._tag = tag
        if tag is not None and self.findData(tag) < 0:
            self.addItem(f"{tag} (0)", tag)
            self.setEnabled(True)
        self._show(tag)

    def _show(self, tag: str | None) -> None:
        self.blockSignals(True)
        self.setCurrentIndex(max(0, self.findData(tag)) if tag is not None else 0)
        self.blockSignals(False)

    def _picked(self, index: int) -> None:
        self._tag = self.itemData(index)
        self.chosen.emit(self._tag)
