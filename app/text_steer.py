"""The text-steering bar above the suggestions: words about the music and a video↔words weight.

It only says what the user asked for (:attr:`TextSteerBar.changed`, a ``TextSteer``); the
suggestion flow re-ranks the kept video in a worker. Typing settles for a moment before it
counts; Enter and letting go of the slider count at once.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSlider, QWidget

from bgmatch.engine.session import DEFAULT_TEXT_WEIGHT, TextSteer

#: Quiet time after a keystroke before the text re-ranks (ms).
TYPING_SETTLE_MS = 600


class TextSteerBar(QWidget):
    """A text box ("calm piano") and a weight slider from the video alone to the words alone."""

    changed = Signal(object)  # TextSteer
    first_focus = Signal()  # the text box got the focus for the first time (the text model may be loaded)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Describe the music: calm piano, epic orchestral, upbeat electronic…")
        self.text.setClearButtonEnabled(True)
        self.text.installEventFilter(self)
        self._focused_once = False
        self.text.setToolTip("Steer the suggestions by words about genre, mood or instruments "
                             "(matched to the tracks' tags); empty: the video alone")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(round(DEFAULT_TEXT_WEIGHT * 100))
        self.slider.setFixedWidth(120)
        self.slider.setToolTip("How much the words count against the video: left, the video alone; "
                               "right, the words alone")
        self.weight_label = QLabel()
        self.weight_label.setObjectName("hint")
        self.weight_label.setMinimumWidth(self.weight_label.fontMetrics().horizontalAdvance("100% words"))
        self._update_label()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(QLabel("Video"))
        layout.addWidget(self.slider)
        layout.addWidget(QLabel("Words"))
        layout.addWidget(self.weight_label)

        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(TYPING_SETTLE_MS)
        self._settle.timeout.connect(self._emit)
        self._last: TextSteer | None = TextSteer()
        self.text.textChanged.connect(lambda _t: self._settle.start())
        self.text.returnPressed.connect(self._emit)
        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderReleased.connect(self._emit)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Say when the text box is first focused."""
        if watched is self.text and event.type() == QEvent.Type.FocusIn and not self._focused_once:
            self._focused_once = True
            self.first_focus.emit()
        return super().eventFilter(watched, event)

    def steer(self) -> TextSteer:
        """What the bar asks for now."""
        return TextSteer(self.text.text(), self.slider.value() / 100)

    def set_steer(self, steer: TextSteer) -> None:
        """Show ``steer`` without announcing it."""
        for widget in (self.text, self.slider):
            widget.blockSignals(True)
        self.text.setText(steer.text)
        self.slider.setValue(round(steer.weight * 100))
        for widget in (self.text, self.slider):
            widget.blockSignals(False)
        self._update_label()
        self._last = self.steer()

    def _update_label(self) -> None:
        self.weight_label.setText(f"{self.slider.value()}% words")

    def _slid(self, _value: int) -> None:
        self._update_label()
        if not self.slider.isSliderDown():  # keys and clicks on the groove: at once; a drag: on release
            self._emit()

    def _emit(self) -> None:
        self._settle.stop()
        steer = self.steer()
        # The same request again (or another empty text) changes nothing.
        if self._last is not None and (steer == self._last or not (steer.active or self._last.active)):
            self._last = steer
            return
        self._last = steer
        self.changed.emit(steer)
