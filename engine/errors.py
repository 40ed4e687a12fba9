"""One exception family for everything the engine reports to users."""
from __future__ import annotations

import os
import sys
from typing import Callable


class BgmatchError(Exception):
    """Base class of every error bgmatch reports with a one-line message."""


class MediaError(BgmatchError):
    """A media file cannot be read or has no usable stream."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(BgmatchError):
    """A configuration file or value is invalid."""


class LibraryError(BgmatchError):
    """The library folder is missing, locked or inconsistent."""


class ModelError(BgmatchError):
    """A model checkpoint is missing, malformed or of an unknown format."""


def exit_status(run: Callable[[], int]) -> int:
    """``run()``'s exit status, or 1 after printing a :class:`BgmatchError` as one line on stderr
    (how a command's ``main`` ends)."""
    try:
        return run()
    except BgmatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
