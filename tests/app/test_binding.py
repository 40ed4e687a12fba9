"""The installed Qt binding is one the app can run on for hours."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    value = Signal(float)


def test_emitting_a_signal_keeps_the_reference_to_true():
    """PySide6 6.12.0's ``Signal.emit`` returns ``True`` without taking a reference to it: on
    Python 3.11 every emission (progress, position, ...) drops one reference, and a long session
    ends in "Fatal Python error: bool_dealloc". pyproject.toml excludes that release."""
    emitter = _Emitter()
    emitter.value.connect(lambda _v: None)
    before = sys.getrefcount(True)
    for _ in range(1000):
        emitter.value.emit(1.0)
    assert sys.getrefcount(True) - before > -10  # other threads may move it a little, never by 1000
