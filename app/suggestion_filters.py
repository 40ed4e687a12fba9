"""The suggestion list's filters: the proxy that sorts by raw values and hides rows outside the
tempo and length ranges (the engine's ``TrackFilter``) or without the session's tag, and the
range boxes."""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from PySide6.QtCore import QSortFilterProxyModel
from PySide6.QtWidgets import QDoubleSpinBox

from bgmatch.engine.library import Suggestion, TrackFilter
from bgmatch.engine.session import carries

from .tables import SORT_ROLE, Index


@runtime_checkable
class SuggestionRows(Protocol):
    """What the proxy reads of its model (``suggestions.SuggestionModel``)."""

    def suggestion(self, row: int) -> Suggestion: ...

    def tempo_bpm(self, s: Suggestion) -> float: ...


class SuggestionFilterProxy(QSortFilterProxyModel):
    """Sorts by raw values and hides rows outside the tempo and duration ranges or without the tag."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._filter = TrackFilter()
        self._tag: str | None = None
        self.setSortRole(SORT_ROLE)

    @property
    def track_filter(self) -> TrackFilter:
        """The active filter."""
        return self._filter

    @property
    def tag(self) -> str | None:
        """The tag every shown track carries (None: any)."""
        return self._tag

    def set_filter(self, track_filter: TrackFilter) -> None:
        """Apply a new filter."""
        self.beginFilterChange()
        self._filter = track_filter
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_tag(self, tag: str | None) -> None:
        """Show only tracks carrying ``tag`` (None: every track)."""
        self.beginFilterChange()
        self._tag = tag
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, SuggestionRows):
            return True
        s = model.suggestion(source_row)
        return (self._filter.accepts(tempo_bpm=model.tempo_bpm(s), duration_s=s.duration_s)
                and carries(s.tags, self._tag))


def range_box(suffix: str, maximum: float, step: float, tooltip: str) -> QDoubleSpinBox:
    """A bound box of the tempo or length filter (0 shows "any": no bound)."""
    box = QDoubleSpinBox()
    box.setRange(0.0, maximum)
    box.setDecimals(0)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setSpecialValueText("any")  # 0 means "no bound"
    box.setToolTip(tooltip)
    box.setKeyboardTracking(False)
    return box
