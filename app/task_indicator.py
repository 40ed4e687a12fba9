"""A status-bar indicator of one running job: what it does, how far it is, and Cancel."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


def show_progress(bar: QProgressBar, done: int, total: int) -> None:
    """Show ``done`` of ``total`` steps on ``bar`` (``total`` 0: busy, amount unknown)."""
    if total <= 0:
        bar.setRange(0, 0)
    else:
        bar.setRange(0, total)
        bar.setValue(max(0, min(total, done)))


class TaskIndicator(QWidget):
    """Hidden while idle; shows text, a progress bar (busy when the amount is unknown) and Cancel."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def start(self, text: str) -> None:
        """Show a new job as busy."""
        self.label.setText(text)
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def progress(self, done: int, total: int, text: str) -> None:
        """Update the job's progress: ``done`` of ``total`` steps (``total`` 0: busy)."""
        show_progress(self.bar, done, total)
        if text:
            self.label.setText(text)

    def finish(self) -> None:
        """Hide the indicator."""
        self.setVisible(False)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self.cancel_requested.emit()
