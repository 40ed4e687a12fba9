"""What every benchmark case gets: its folders, the run's size, the device choice, a logger.

Kept free of media libraries, so the cases that need none (``ann``, ``encoders``) run where
PyAV is not installed (the GPU machine).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


def default_cache_dir() -> Path:
    """Where benchmark inputs are cached (``~/.cache/bgmatch-bench`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("bgmatch-bench"))


def default_media_dir() -> Path:
    """The real media fetched by ``tests/media/fetch.sh`` (``$BGMATCH_MEDIA`` or ``~/.cache/bgmatch-media``)."""
    return Path(os.environ.get("BGMATCH_MEDIA", Path.home() / ".cache" / "bgmatch-media"))


def log(message: str) -> None:
    """Progress of the benchmark, on stderr."""
    print(message, file=sys.stderr, flush=True)


@dataclass
class Context:
    """What every case gets: its folders, the run's size and the device choice."""

    cache: Path = field(default_factory=default_cache_dir)
    media: Path = field(default_factory=default_media_dir)
    quick: bool = False
    device: str | None = None
    log: Callable[[str], None] = log

    def __post_init__(self) -> None:
        self.cache.mkdir(parents=True, exist_ok=True)
