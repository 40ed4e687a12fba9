"""Bundled data: demo media, default model weights, icons."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def asset_path(*parts: str) -> Path:
    """Path of a bundled asset, e.g. ``asset_path("demo", "video.mp4")``."""
    return Path(str(resources.files(__name__).joinpath(*parts)))
