"""The suggestion list's filters: the proxy that sorts by raw values and hides rows outside the
tempo and length ranges (the engine's ``TrackFilter``) or without the session's tag, and the
range boxes."""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from PySide6.QtCore import QSortFilterProxyModel
from PySide6.QtWidgets import QDoubleSpinBox

from bgmatch.engine.library import Suggestion, TrackFilter

from .tables import Index, TagFilterProxy


@runtime_checkable
class SuggestionRows(Protocol):
    """What the proxy reads of its model (``suggestions.SuggestionModel``)."""

    def suggestion(self, row: int) -> Suggestion: ...

    def tempo_bpm(self, s: Suggestion) -> float: ...


class SuggestionFilterProxy(TagFilterProxy):
    """Sorts by raw values and hides rows outside the tempo and duration ranges or without the tag."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._filter = TrackFilter()

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
        if not isinstance(model, SuggestionRows):
            return True
        s = model.suggestion(source_row)
        return (self._filter.accepts(tempo_bpm=model.tempo_bpm(s), duration_s=s.duration_s)
                and self.carries_tag(s.tags))


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
