"""A tiny typed event: plain Python callbacks, no Qt (napari's ``EventEmitter``, reduced).

``psygnal`` does this and more; the session needs only connect / disconnect / emit in one
thread, which is these twenty lines, so the engine takes no dependency for it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Event(Generic[T]):
    """Callbacks ``fn(value)`` called in the order they were connected, each time :meth:`emit` runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[[T], object]] = []

    def connect(self, callback: Callable[[T], object]) -> Callable[[T], object]:
        """Call ``callback(value)`` on every emit; returns it (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[T], object]) -> None:
        """Stop calling ``callback`` (nothing happens when it was not connected)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        """Call every connected callback with ``value``."""
        for callback in list(self._callbacks):
            callback(value)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._callbacks)} callbacks)"
